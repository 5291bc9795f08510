#include "fleet/gateway_live.h"

#include <algorithm>

#include "base/clock.h"
#include "base/text.h"

namespace talon::fleet {

namespace {

/// `text` with every secret of 4 bytes or more replaced by "***", control bytes as spaces, cut to the limit.
std::string liveErrorText(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.size() < 4) continue;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
      text.replace(at, secret.size(), "***");
  }
  std::string out = printablePrefix(text, kRecentErrorMaxBytes);
  // printablePrefix cuts by bytes; never leave half a UTF-8 sequence before its "...".
  if (out.size() > kRecentErrorMaxBytes && out.ends_with("..."))
    out = truncateUtf8(out.substr(0, out.size() - 3), kRecentErrorMaxBytes) + "...";
  return out;
}

/// The channel conditions of one account snapshot (OpenClaw's ChannelAccountSnapshot: lastError, probe).
void liveAccountErrors(const std::string& provider, const std::string& accountId, const json::object& account,
                       const std::vector<std::string>& secrets, std::vector<RecentError>& out) {
  std::string source = "channel " + provider + "/" + accountId;
  if (auto lastError = getString(account, "lastError"); lastError && !trimWhitespace(*lastError).empty()) {
    // Talon times it (lastErrorAt, ms); OpenClaw does not.
    std::string time;
    if (auto at = getInt(account, "lastErrorAt"); at && *at > 0) time = formatRfc3339Ms(*at);
    out.push_back(RecentError{time, source, liveErrorText(std::string(*lastError), secrets)});
  }
  const json::object* probe = getObject(account, "probe");
  if (probe != nullptr && getBool(*probe, "ok") == false) {
    std::string time;
    if (auto at = getInt(account, "lastProbeAt"); at && *at > 0) time = formatRfc3339Ms(*at);
    std::string error(getString(*probe, "error").value_or("the probe failed"));
    out.push_back(RecentError{time, source + " probe", liveErrorText(error, secrets)});
  }
}

/// One logs.tail line as an error, when it is one: Talon's {"level"} or OpenClaw's {"_meta": {"logLevelName"}}.
std::optional<RecentError> liveLogLineError(std::string_view line, const std::vector<std::string>& secrets) {
  auto parsed = parseJson(line);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  const json::object& o = parsed->as_object();
  std::string level(getString(o, "level").value_or(""));
  if (const json::object* meta = getObject(o, "_meta"); meta != nullptr && level.empty())
    level = std::string(getString(*meta, "logLevelName").value_or(""));
  std::transform(level.begin(), level.end(), level.begin(), [](unsigned char c) { return std::tolower(c); });
  if (level != "error" && level != "critical" && level != "fatal") return std::nullopt;
  std::string message(getString(o, "message").value_or(""));
  if (message.empty()) message = std::string(getString(o, "0").value_or(""));
  return RecentError{std::string(getString(o, "time").value_or("")), "log", liveErrorText(message, secrets)};
}

}  // namespace

Result<std::set<std::string>> agentIdsFromAgentsList(const json::value& payload) {
  const json::value* agents = payload.is_object() ? payload.as_object().if_contains("agents") : nullptr;
  if (agents == nullptr || !agents->is_array())
    return fail(ErrorCode::kUpstream, "the agents.list answer has no agents array");
  std::set<std::string> out;
  for (const auto& a : agents->as_array()) {
    if (!a.is_object()) continue;
    if (auto id = getString(a.as_object(), "id")) out.emplace(*id);
  }
  return out;
}

std::vector<LiveAgent> compareLiveAgents(const std::vector<std::string>& inventoryAgents,
                                         const std::set<std::string>& running) {
  std::vector<LiveAgent> out;
  std::set<std::string> known(inventoryAgents.begin(), inventoryAgents.end());
  for (const auto& id : inventoryAgents) out.push_back(LiveAgent{id, running.contains(id) ? "running" : "absent"});
  for (const auto& id : running) {
    if (!known.contains(id)) out.push_back(LiveAgent{id, "unmanaged"});
  }
  return out;
}

std::vector<LiveAgent> unknownLiveAgents(const std::vector<std::string>& inventoryAgents) {
  std::vector<LiveAgent> out;
  for (const auto& id : inventoryAgents) out.push_back(LiveAgent{id, "unknown"});
  return out;
}

json::object RecentError::toJson() const {
  return json::object{
      {"time", time.empty() ? json::value(nullptr) : json::value(time)}, {"source", source}, {"message", message}};
}

std::vector<RecentError> recentErrorsFrom(const json::value& health, const json::value& logsTail,
                                          const std::vector<std::string>& secrets, std::size_t limit) {
  std::vector<RecentError> out;
  const json::object* channels = health.is_object() ? getObject(health.as_object(), "channels") : nullptr;
  if (channels != nullptr) {
    for (const auto& kv : *channels) {
      const std::string provider(kv.key());
      const json::value& entry = kv.value();
      if (!entry.is_object()) continue;
      const json::object* accounts = getObject(entry.as_object(), "accounts");
      if (accounts == nullptr) {
        // A channel without per-account entries: the object is its default account's snapshot.
        liveAccountErrors(provider, std::string(getString(entry.as_object(), "accountId").value_or("default")),
                          entry.as_object(), secrets, out);
        continue;
      }
      for (const auto& account : *accounts) {
        if (account.value().is_object())
          liveAccountErrors(provider, std::string(account.key()), account.value().as_object(), secrets, out);
      }
    }
  }
  const json::value* lines =
      logsTail.is_object() ? logsTail.as_object().if_contains("lines") : static_cast<const json::value*>(nullptr);
  if (lines != nullptr && lines->is_array()) {
    const auto& a = lines->as_array();
    for (auto it = a.rbegin(); it != a.rend() && out.size() < limit; ++it) {
      if (!it->is_string()) continue;
      if (auto e = liveLogLineError(it->as_string(), secrets)) out.push_back(std::move(*e));
    }
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace talon::fleet
