// Device pairing commands, over the gateway protocol (OpenClaw's method names):
// talon devices list | approve <requestId> | reject <requestId> | remove <deviceId> |
//               rotate <deviceId> [--role R] [--scope S]... | revoke <deviceId> [--role R]   (all with --json)
#include <iostream>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/output.h"

namespace talon::cli {
namespace {

std::string field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return "-";
  if (it->value().is_string()) return std::string(it->value().get_string());
  return json::serialize(it->value());
}

std::string joined(const json::object& o, std::string_view key) {
  const auto* a = getArray(o, key);
  if (!a || a->empty()) return "-";
  std::string out;
  for (const auto& v : *a) {
    if (!out.empty()) out += ",";
    out += v.is_string() ? std::string(v.get_string()) : json::serialize(v);
  }
  return out;
}

/// Calls `method` with operator.pairing (the scope every device method needs) and prints the payload as
/// JSON or through `human`.
int callPairing(const CommonOptions& o, const std::string& method, const json::object& params,
                const std::function<void(const json::object&)>& human) {
  auto client = connectClient(o, {"operator.read", "operator.pairing"});
  if (!client) return reportError(client.error());
  auto res = (*client)->call(method, params);
  (*client)->close();
  if (!res) return reportError(res.error());
  if (o.json) {
    printJson(*res);
  } else if (res->is_object()) {
    human(res->as_object());
  }
  return 0;
}

void printList(const json::object& p) {
  std::vector<std::vector<std::string>> pending;
  if (const auto* a = getArray(p, "pending")) {
    for (const auto& item : *a) {
      const auto& r = item.as_object();
      pending.push_back({field(r, "requestId"), field(r, "deviceId").substr(0, 16), field(r, "role"),
                         joined(r, "scopes"), field(r, "remoteIp")});
    }
  }
  std::cout << "Pending (" << pending.size() << ")\n";
  if (!pending.empty()) printTable({"REQUEST", "DEVICE", "ROLE", "SCOPES", "IP"}, pending);
  std::vector<std::vector<std::string>> paired;
  if (const auto* a = getArray(p, "paired")) {
    for (const auto& item : *a) {
      const auto& d = item.as_object();
      std::string tokens = "-";
      if (const auto* t = getArray(d, "tokens")) {
        tokens.clear();
        for (const auto& tv : *t) {
          const auto& to = tv.as_object();
          if (!tokens.empty()) tokens += ",";
          tokens += field(to, "role") + (to.contains("revokedAtMs") ? " (revoked)" : "");
        }
      }
      std::string name = d.contains("displayName") ? field(d, "displayName") : field(d, "clientId");
      paired.push_back(
          {name, field(d, "deviceId"), field(d, "role"), joined(d, "scopes"), tokens, field(d, "remoteIp")});
    }
  }
  std::cout << "Paired (" << paired.size() << ")\n";
  if (!paired.empty()) printTable({"DEVICE", "DEVICE ID", "ROLE", "SCOPES", "TOKENS", "IP"}, paired);
}

}  // namespace

void registerDeviceCommands(CLI::App& app, int& exitCode) {
  auto* devices = app.add_subcommand("devices", "Paired devices and pairing requests");
  devices->require_subcommand(1);
  {
    auto o = std::make_shared<CommonOptions>();
    auto* cmd = devices->add_subcommand("list", "List pending pairing requests and paired devices");
    addClientOptions(cmd, *o);
    cmd->callback([o, &exitCode] { exitCode = callPairing(*o, "device.pair.list", {}, printList); });
  }
  // approve | reject <requestId>
  for (const auto& [name, method, verb] : {std::tuple{"approve", "device.pair.approve", "approved"},
                                           std::tuple{"reject", "device.pair.reject", "rejected"}}) {
    auto o = std::make_shared<CommonOptions>();
    auto requestId = std::make_shared<std::string>();
    auto* cmd = devices->add_subcommand(name, std::string(name) == "approve" ? "Approve a pending pairing request"
                                                                             : "Reject a pending pairing request");
    addClientOptions(cmd, *o);
    cmd->add_option("requestId", *requestId, "The request id (devices list)")->required();
    cmd->callback([o, requestId, method = std::string(method), verb = std::string(verb), &exitCode] {
      exitCode = callPairing(*o, method, {{"requestId", *requestId}}, [&](const json::object& p) {
        std::string deviceId = field(p, "deviceId");
        if (const auto* d = getObject(p, "device")) deviceId = field(*d, "deviceId");
        std::cout << verb << " " << *requestId << " (device " << deviceId << ")\n";
      });
    });
  }
  {
    auto o = std::make_shared<CommonOptions>();
    auto deviceId = std::make_shared<std::string>();
    auto* cmd = devices->add_subcommand("remove", "Remove a paired device and its tokens");
    addClientOptions(cmd, *o);
    cmd->add_option("deviceId", *deviceId, "The device id")->required();
    cmd->callback([o, deviceId, &exitCode] {
      exitCode = callPairing(*o, "device.pair.remove", {{"deviceId", *deviceId}},
                             [&](const json::object&) { std::cout << "removed " << *deviceId << "\n"; });
    });
  }
  {
    auto o = std::make_shared<CommonOptions>();
    auto deviceId = std::make_shared<std::string>();
    auto role = std::make_shared<std::string>("operator");
    auto scopes = std::make_shared<std::vector<std::string>>();
    auto* cmd = devices->add_subcommand(
        "rotate", "Rotate a device's token (the new token is delivered to the device at its next connect)");
    addClientOptions(cmd, *o);
    cmd->add_option("deviceId", *deviceId, "The device id")->required();
    cmd->add_option("--role", *role, "The token's role")->capture_default_str();
    cmd->add_option("--scope", *scopes, "Narrow the token to these scopes (repeatable)");
    cmd->callback([o, deviceId, role, scopes, &exitCode] {
      json::object params{{"deviceId", *deviceId}, {"role", *role}};
      if (!scopes->empty()) {
        json::array a;
        for (const auto& s : *scopes) a.emplace_back(s);
        params["scopes"] = std::move(a);
      }
      exitCode = callPairing(*o, "device.token.rotate", params, [&](const json::object& p) {
        std::cout << "rotated the " << field(p, "role") << " token of " << *deviceId << " (scopes "
                  << joined(p, "scopes") << "; delivered at the device's next connect)\n";
      });
    });
  }
  {
    auto o = std::make_shared<CommonOptions>();
    auto deviceId = std::make_shared<std::string>();
    auto role = std::make_shared<std::string>("operator");
    auto* cmd = devices->add_subcommand("revoke", "Revoke a device's token; the device must pair again");
    addClientOptions(cmd, *o);
    cmd->add_option("deviceId", *deviceId, "The device id")->required();
    cmd->add_option("--role", *role, "The token's role")->capture_default_str();
    cmd->callback([o, deviceId, role, &exitCode] {
      exitCode = callPairing(*o, "device.token.revoke", {{"deviceId", *deviceId}, {"role", *role}},
                             [&](const json::object& p) {
                               std::cout << "revoked the " << field(p, "role") << " token of " << *deviceId << "\n";
                             });
    });
  }
}

}  // namespace talon::cli
