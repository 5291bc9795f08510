#include "protocol/handshake.h"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>

#include "protocol/errors.h"

namespace talon::protocol {

namespace {

constexpr std::string_view kRequiredCapability = "published-model-catalog";

constexpr std::array<std::string_view, 9> kSnapshotOptionalKeys = {
    "suspension",           "appliedConfigHash", "configPath",      "stateDir",      "sessionDefaults",
    "controlUiIdentityUrl", "authMode",          "updateAvailable", "updateSchedule"};

// A small validator for the closed-object schemas of the handshake, producing OpenClaw's
// formatValidationErrors texts ("at /client/id: must be equal to one of the allowed values").
class SchemaCheck {
 public:
  bool failed() const { return !detail_.empty(); }
  const std::string& detail() const { return detail_; }

  void fail(std::string_view path, std::string_view what) {
    if (failed()) return;
    detail_ = path.empty() ? std::string(what) : fmt::format("at {}: {}", path, what);
  }

  // Object at `path` with `required` keys present and no key outside `allowed`. Returns nullptr on failure.
  const json::object* object(const json::value& v, std::string_view path,
                             std::initializer_list<std::string_view> required,
                             std::initializer_list<std::string_view> allowed) {
    if (failed()) return nullptr;
    if (!v.is_object()) {
      fail(path, "must be object");
      return nullptr;
    }
    const auto& o = v.get_object();
    for (auto key : required) {
      if (!o.contains(key)) {
        fail(path, fmt::format("must have required property '{}'", key));
        return nullptr;
      }
    }
    for (const auto& kv : o) {
      const std::string_view key(kv.key().data(), kv.key().size());
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        // OpenClaw: "at root: unexpected property 'x'" / "at /client: unexpected property 'x'".
        if (!failed()) detail_ = fmt::format("at {}: unexpected property '{}'", path.empty() ? "root" : path, key);
        return nullptr;
      }
    }
    return &o;
  }

  // A string member; nullopt when absent or invalid (check failed() to tell apart).
  std::optional<std::string> string(const json::object& o, std::string_view parent, std::string_view key,
                                    std::size_t minChars = 0, std::size_t maxChars = SIZE_MAX) {
    auto it = o.find(key);
    if (failed() || it == o.end()) return std::nullopt;
    return stringValue(it->value(), childPath(parent, key), minChars, maxChars);
  }

  std::optional<std::string> stringValue(const json::value& v, const std::string& path, std::size_t minChars,
                                         std::size_t maxChars) {
    if (!v.is_string()) {
      fail(path, "must be string");
      return std::nullopt;
    }
    std::string s(v.get_string().data(), v.get_string().size());
    const std::size_t n = std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
    if (n < minChars) {
      fail(path, fmt::format("must NOT have fewer than {} characters", minChars));
      return std::nullopt;
    }
    if (n > maxChars) {
      fail(path, fmt::format("must NOT have more than {} characters", maxChars));
      return std::nullopt;
    }
    return s;
  }

  // An integer member ≥ minimum (JSON numbers with an integral value, as JSON Schema "integer").
  std::optional<int64_t> integer(const json::object& o, std::string_view parent, std::string_view key,
                                 int64_t minimum) {
    auto it = o.find(key);
    if (failed() || it == o.end()) return std::nullopt;
    const std::string path = childPath(parent, key);
    auto n = getInt(o, key);
    if (!n) {
      fail(path, "must be integer");
      return std::nullopt;
    }
    if (*n < minimum) {
      fail(path, fmt::format("must be >= {}", minimum));
      return std::nullopt;
    }
    return n;
  }

  // An array of non-empty strings.
  std::vector<std::string> nonEmptyStrings(const json::object& o, std::string_view parent, std::string_view key) {
    std::vector<std::string> out;
    auto it = o.find(key);
    if (failed() || it == o.end()) return out;
    const std::string path = childPath(parent, key);
    if (!it->value().is_array()) {
      fail(path, "must be array");
      return out;
    }
    const auto& a = it->value().get_array();
    out.reserve(a.size());
    for (std::size_t i = 0; i < a.size() && !failed(); ++i) {
      if (auto s = stringValue(a[i], fmt::format("{}/{}", path, i), 1, SIZE_MAX)) out.push_back(std::move(*s));
    }
    return out;
  }

  static std::string childPath(std::string_view parent, std::string_view key) {
    return fmt::format("{}/{}", parent, key);
  }

 private:
  std::string detail_;
};

Unexpected<HandshakeFailure> handshakeFailure(Error error, uint16_t closeCode, std::string_view closeReason) {
  return Unexpected(HandshakeFailure{std::move(error), closeCode, truncateCloseReason(closeReason)});
}

void appendStringArray(std::string& out, std::span<const std::string_view> items) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    appendJsonString(out, items[i]);
  }
  out += ']';
}

}  // namespace

std::string encodeConnectChallenge(std::string_view nonce, int64_t tsMs) {
  std::string payload = R"({"nonce":)";
  appendJsonString(payload, nonce);
  payload += fmt::format(R"(,"ts":{},"capabilities":["model-catalog-snapshot"]}})", tsMs);
  return encodeEvent("connect.challenge", payload);
}

Result<ConnectParams> parseConnectParams(const json::value& params) {
  SchemaCheck check;
  ConnectParams out;
  const json::object* o = check.object(
      params, "", {"minProtocol", "maxProtocol", "client"},
      {"minProtocol", "maxProtocol", "client", "caps", "commands", "computerUse", "workerRuns", "permissions",
       "pathEnv", "role", "scopes", "modelCatalog", "device", "auth", "locale", "userAgent"});
  if (o) {
    out.minProtocol = check.integer(*o, "", "minProtocol", 1).value_or(0);
    out.maxProtocol = check.integer(*o, "", "maxProtocol", 1).value_or(0);
  }
  if (o && !check.failed()) {
    const json::object* c = check.object(o->at("client"), "/client", {"id", "version", "platform", "mode"},
                                         {"id", "displayName", "version", "buildId", "platform", "deviceFamily",
                                          "modelIdentifier", "timeZone", "mode", "instanceId"});
    if (c) {
      auto& cl = out.client;
      if (auto id = check.string(*c, "/client", "id")) {
        if (isKnownClientId(*id)) {
          cl.id = std::move(*id);
        } else {
          check.fail("/client/id", "must be equal to one of the allowed values");
        }
      }
      cl.displayName = check.string(*c, "/client", "displayName", 1);
      cl.version = check.string(*c, "/client", "version", 1).value_or("");
      cl.buildId = check.string(*c, "/client", "buildId", 1, 96);
      cl.platform = check.string(*c, "/client", "platform", 1).value_or("");
      cl.deviceFamily = check.string(*c, "/client", "deviceFamily", 1);
      cl.modelIdentifier = check.string(*c, "/client", "modelIdentifier", 1);
      cl.timeZone = check.string(*c, "/client", "timeZone", 1, 64);
      if (auto mode = check.string(*c, "/client", "mode")) {
        if (auto m = parseClientMode(*mode)) {
          cl.mode = *m;
        } else {
          check.fail("/client/mode", "must be equal to one of the allowed values");
        }
      }
      cl.instanceId = check.string(*c, "/client", "instanceId", 1);
    }
  }
  if (o && !check.failed()) {
    out.caps = check.nonEmptyStrings(*o, "", "caps");
    check.nonEmptyStrings(*o, "", "commands");
    if (auto it = o->find("permissions"); it != o->end() && !check.failed()) {
      if (!it->value().is_object()) {
        check.fail("/permissions", "must be object");
      } else {
        for (const auto& kv : it->value().get_object()) {
          const std::string path =
              SchemaCheck::childPath("/permissions", std::string_view(kv.key().data(), kv.key().size()));
          if (kv.key().empty()) check.fail("/permissions", "property name must be valid");
          if (!kv.value().is_bool()) check.fail(path, "must be boolean");
        }
      }
    }
    check.string(*o, "", "pathEnv");
    if (auto role = check.string(*o, "", "role", 1)) out.role = std::move(*role);
    out.scopes = check.nonEmptyStrings(*o, "", "scopes");
    if (auto it = o->find("modelCatalog"); it != o->end() && !it->value().is_object()) {
      check.fail("/modelCatalog", "must be object");
    }
    if (auto it = o->find("device"); it != o->end()) {
      const json::object* d =
          check.object(it->value(), "/device", {"id", "publicKey", "signature", "signedAt", "nonce"},
                       {"id", "publicKey", "signature", "signedAt", "nonce"});
      if (d) {
        ConnectDevice dev;
        dev.id = check.string(*d, "/device", "id", 1).value_or("");
        dev.publicKey = check.string(*d, "/device", "publicKey", 1).value_or("");
        dev.signature = check.string(*d, "/device", "signature", 1).value_or("");
        dev.signedAt = check.integer(*d, "/device", "signedAt", 0).value_or(0);
        dev.nonce = check.string(*d, "/device", "nonce", 1).value_or("");
        if (!check.failed()) out.device = std::move(dev);
      }
    }
    if (auto it = o->find("auth"); it != o->end()) {
      const json::object* a = check.object(
          it->value(), "/auth", {},
          {"token", "bootstrapToken", "deviceToken", "password", "approvalRuntimeToken", "agentRuntimeIdentityToken"});
      if (a) {
        out.auth.token = check.string(*a, "/auth", "token");
        out.auth.bootstrapToken = check.string(*a, "/auth", "bootstrapToken");
        out.auth.deviceToken = check.string(*a, "/auth", "deviceToken");
        out.auth.password = check.string(*a, "/auth", "password");
        check.string(*a, "/auth", "approvalRuntimeToken");
        check.string(*a, "/auth", "agentRuntimeIdentityToken");
      }
    }
    check.string(*o, "", "locale");
    check.string(*o, "", "userAgent");
  }
  if (check.failed()) return fail(invalidConnectParamsError(check.detail()));
  return out;
}

Expected<ConnectParams, HandshakeFailure> parseConnectRequest(const RequestFrame& first) {
  if (first.method != "connect") {
    Error e = firstRequestNotConnectError();
    std::string reason = e.publicMessage();
    return handshakeFailure(std::move(e), kClosePolicyViolation, reason);
  }
  auto params = parseConnectParams(first.params);
  if (!params) {
    std::string reason = params.error().publicMessage();
    return handshakeFailure(std::move(params).error(), kClosePolicyViolation, reason);
  }
  return std::move(params).value();
}

Expected<Role, HandshakeFailure> validateConnect(const ConnectParams& p) {
  const bool supportsCurrent = p.maxProtocol >= kProtocolVersion && p.minProtocol <= kProtocolVersion;
  const bool supportsProbe =
      p.client.mode == ClientMode::kProbe && p.maxProtocol >= kMinProbeProtocol && p.minProtocol <= kProtocolVersion;
  const bool isNodeClient = p.role == "node" && p.client.mode == ClientMode::kNode;
  const bool supportsNode = isNodeClient && p.maxProtocol >= kMinNodeProtocol && p.minProtocol <= kMinNodeProtocol;
  if (!supportsCurrent && !supportsProbe && !supportsNode) {
    return handshakeFailure(protocolMismatchError(p.minProtocol, p.maxProtocol), kCloseProtocolError,
                            "protocol mismatch");
  }
  const auto role = parseRole(p.role);
  if (!role) return handshakeFailure(invalidRoleError(), kClosePolicyViolation, "invalid role");
  return *role;
}

std::string truncateCloseReason(std::string_view reason) {
  if (reason.empty()) return "invalid handshake";
  if (reason.size() <= kCloseReasonMaxBytes) return std::string(reason);
  std::size_t end = kCloseReasonMaxBytes;
  // Back up over continuation bytes so the cut falls on a sequence boundary.
  while (end > 0 && (static_cast<unsigned char>(reason[end]) & 0xC0) == 0x80) --end;
  return std::string(reason.substr(0, end));
}

Result<std::string> encodeHelloOk(const HelloOkInput& in) {
  const auto invalid = [](std::string what) {
    return fail(ErrorCode::kInvalidArgument, "hello-ok: " + what, "internal error");
  };
  if (in.serverVersion.empty()) return invalid("server.version is empty");
  if (in.connId.empty()) return invalid("server.connId is empty");
  if (in.auth.role.empty()) return invalid("auth.role is empty");
  if (in.snapshot == nullptr) return invalid("snapshot is missing");
  const auto hasEmpty = [](auto items) {
    return std::any_of(items.begin(), items.end(), [](const auto& s) { return std::string_view(s).empty(); });
  };
  if (hasEmpty(in.methods) || hasEmpty(in.events) || hasEmpty(in.capabilities) || hasEmpty(in.auth.scopes)) {
    return invalid("an empty name in methods, events, capabilities or scopes");
  }
  for (const auto& kv : in.snapshot->extra) {
    const std::string_view key(kv.key().data(), kv.key().size());
    if (std::find(kSnapshotOptionalKeys.begin(), kSnapshotOptionalKeys.end(), key) == kSnapshotOptionalKeys.end()) {
      return invalid(fmt::format("snapshot.{} is not a SnapshotSchema field", key));
    }
  }

  std::string out;
  out.reserve(1024 + 32 * in.methods.size());
  out += fmt::format(R"({{"type":"hello-ok","protocol":{},"server":{{"version":)", kProtocolVersion);
  appendJsonString(out, in.serverVersion);
  out += R"(,"connId":)";
  appendJsonString(out, in.connId);
  out += R"(},"features":{"methods":)";
  appendStringArray(out, in.methods);
  out += R"(,"events":)";
  appendStringArray(out, in.events);
  out += R"(,"capabilities":)";
  std::vector<std::string_view> caps(in.capabilities.begin(), in.capabilities.end());
  if (std::find(caps.begin(), caps.end(), kRequiredCapability) == caps.end()) caps.push_back(kRequiredCapability);
  appendStringArray(out, caps);

  const HelloSnapshot& s = *in.snapshot;
  out += R"(},"snapshot":{"presence":)";
  out += json::serialize(s.presence);
  out += R"(,"health":)";
  out += json::serialize(s.health);
  out += fmt::format(R"(,"stateVersion":{{"presence":{},"health":{}}},"uptimeMs":{})", s.stateVersion.presence,
                     s.stateVersion.health, s.uptimeMs);
  for (const auto& kv : s.extra) {
    out += ',';
    appendJsonString(out, std::string_view(kv.key().data(), kv.key().size()));
    out += ':';
    out += json::serialize(kv.value());
  }

  out += R"(},"auth":{)";
  if (!in.auth.method.empty()) {
    out += R"("method":)";
    appendJsonString(out, in.auth.method);
    out += ',';
  }
  if (!in.auth.deviceToken.empty()) {
    out += R"("deviceToken":)";
    appendJsonString(out, in.auth.deviceToken);
    out += ',';
  }
  out += R"("role":)";
  appendJsonString(out, in.auth.role);
  out += R"(,"scopes":[)";
  for (std::size_t i = 0; i < in.auth.scopes.size(); ++i) {
    if (i) out += ',';
    appendJsonString(out, in.auth.scopes[i]);
  }
  out += fmt::format(R"(]}},"policy":{{"maxPayload":{},"maxBufferedBytes":{},"tickIntervalMs":{}}}}})",
                     in.policy.maxPayload, in.policy.maxBufferedBytes, in.policy.tickIntervalMs);
  return out;
}

}  // namespace talon::protocol
