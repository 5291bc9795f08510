// The config writes: `config.patch`, `config.apply`, `config.set` (OpenClaw 2026.9.6 dist
// server-methods/config.ts; docs/gateway/configuration/config-rpc.md; params and scopes from
// core-method-specs.json). Each write: the per-client budget (30 a minute per method), the baseHash
// check against the file as it is now, the edit (a merge patch on the file as authored, or a whole
// config), validation of the result as `gateway run` would load it, the guarded atomic write
// (config/config_writer.h), the reload decision (live_config.h), an audit record with the changed paths
// and their redacted values, and OpenClaw's response payload.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/file_io.h"
#include "config/config_patch.h"
#include "config/config_redaction.h"
#include "config/config_writer.h"
#include "config/json5.h"
#include "gateway/live_config.h"
#include "gateway/methods/builtin_methods.h"
#include "security/audit_sink.h"

namespace talon::gateway::methods {

namespace {

namespace fs = std::filesystem;

enum class WriteMode { kPatch, kApply, kSet };

std::string_view methodName(WriteMode mode) {
  switch (mode) {
    case WriteMode::kPatch:
      return "config.patch";
    case WriteMode::kApply:
      return "config.apply";
    case WriteMode::kSet:
      return "config.set";
  }
  return "config.set";
}

struct WriteDeps {
  LiveConfig& live;
  security::AuditSink& audit;
  Executors executors;
  ClockPtr clock;
};

Unexpected<Error> invalid(const std::string& message) { return fail(ErrorCode::kInvalidArgument, message, message); }

// The value at a dot path of `root`, or nullptr (keys holding '.' are not addressable; fine for display).
const json::value* at(const json::value& root, std::string_view path) {
  const json::value* v = &root;
  while (!path.empty()) {
    auto dot = path.find('.');
    auto key = path.substr(0, dot);
    const auto* o = v->if_object();
    if (o == nullptr) return nullptr;
    v = o->if_contains(key);
    if (v == nullptr) return nullptr;
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  return v;
}

// A redacted value for the audit record, cut to a readable size.
json::value auditValue(const json::value* v) {
  constexpr std::size_t kMax = 256;
  if (v == nullptr) return nullptr;
  if (v->is_object() || v->is_array()) {
    auto text = json::serialize(*v);
    if (text.size() > kMax) return json::value(text.substr(0, kMax) + "…");
  } else if (const auto* s = v->if_string(); s != nullptr && s->size() > kMax) {
    return json::value(std::string(s->subview().substr(0, kMax)) + "…");
  }
  return *v;
}

// "invalid config: <path>: <message>; … (+N more issues)" from the first 3 errors, with details.issues
// (without file names), as OpenClaw answers an invalid submission (summarizeConfigValidationIssues).
Error invalidConfig(const Error& loadError) {
  constexpr std::size_t kShown = 3;
  std::vector<std::string> lines;
  json::array issues;
  std::size_t total = 0;
  if (const auto* all = loadError.details.if_contains("issues"); all != nullptr && all->is_array()) {
    for (const auto& issue : all->as_array()) {
      const auto* o = issue.if_object();
      if (o == nullptr || getString(*o, "severity") != "error") continue;
      ++total;
      json::object copy = *o;
      copy.erase("file");
      issues.push_back(copy);
      if (lines.size() < kShown) {
        lines.push_back(
            fmt::format("{}: {}", getString(*o, "path").value_or("<root>"), getString(*o, "message").value_or("")));
      }
    }
  }
  std::string message =
      lines.empty() ? std::string("invalid config") : fmt::format("invalid config: {}", fmt::join(lines, "; "));
  if (total > lines.size()) {
    message += fmt::format(" (+{} more issue{})", total - lines.size(), total - lines.size() == 1 ? "" : "s");
  }
  Error e(ErrorCode::kInvalidArgument, loadError.message, message);
  e.details["issues"] = std::move(issues);
  return e;
}

struct WriteResult {
  json::object payload;
  std::vector<std::string> changedPaths;
  json::array diff;
  std::string hashBefore;
  std::string hashAfter;
};

// The whole write, under the LiveConfig write lock. Errors are OpenClaw's INVALID_REQUEST texts.
Result<WriteResult> performWrite(const WriteDeps& d, WriteMode mode, const json::object& params) {
  std::lock_guard lock(d.live.writeMutex());
  const auto& loadOptions = d.live.options().load;
  auto current = config::loadConfig(loadOptions);
  if (!current) {
    if (current.error().code != ErrorCode::kConfigInvalid) return fail(current.error());
    Error e = invalidConfig(current.error());
    e.externalMessage += "; fix (talon config validate) before writing";
    return fail(std::move(e));
  }
  // baseHash (OpenClaw requireConfigBaseHash): required once the file exists; must be the hash config.get
  // reported for the file as it is now.
  if (current->exists) {
    auto baseHash = getString(params, "baseHash");
    if (!baseHash || baseHash->empty()) return invalid("config base hash required; re-run config.get and retry");
    if (*baseHash != current->hash) return invalid("config changed since last load; re-run config.get and retry");
  }
  auto rawText = getString(params, "raw");
  auto parsed = config::parseJson5(rawText.value_or(""), "raw");
  if (!parsed) return invalid(parsed.error().publicMessage());
  json::value source = json::object{};
  if (current->exists) {
    auto authored = config::parseJson5(current->raw, current->path.string());
    if (!authored) return fail(authored.error());
    source = std::move(authored->value);
  }

  WriteResult result;
  result.hashBefore = current->hash;
  json::value next;
  if (mode == WriteMode::kPatch) {
    if (!parsed->value.is_object()) return invalid("config.patch raw must be an object");
    const json::value& patch = parsed->value;
    config::ReplacePaths replacePaths;
    if (const auto* rp = getArray(params, "replacePaths")) {
      for (const auto& p : *rp) {
        if (!p.is_string() || p.as_string().empty()) {
          return invalid("invalid config.patch params: replacePaths must hold non-empty strings");
        }
        replacePaths.emplace(p.as_string());
      }
    }
    if (auto s = config::checkPatchIds(source, patch, replacePaths); !s) return fail(s.error());
    if (auto s = config::checkPatchKeepsIncludes(source, patch); !s) return fail(s.error());
    auto merged = config::restoreRedactedValues(config::applyConfigMergePatch(source, patch, replacePaths), source);
    if (!merged) return fail(merged.error());
    auto destructive = config::destructiveArrayPatchPaths(source, patch, *merged, replacePaths);
    if (!destructive.empty()) {
      return invalid(fmt::format(
          "config.patch would remove entries from array path(s): {}. Pass replacePaths with the exact path(s) when "
          "this is intentional, or use config.apply for full-config replacement.",
          fmt::join(destructive, ", ")));
    }
    if (config::diffConfigPaths(source, *merged).empty()) {
      // OpenClaw respondConfigPatchNoop.
      auto snapshot = d.live.file();
      result.payload = json::object{{"ok", true},
                                    {"noop", true},
                                    {"changedPaths", json::array{}},
                                    {"path", current->path.string()},
                                    {"config", snapshot->redacted}};
      result.hashAfter = current->hash;
      return result;
    }
    next = std::move(*merged);
  } else {
    if (!parsed->value.is_object()) return invalid(fmt::format("{} raw must be an object", methodName(mode)));
    if (config::containsInclude(source)) {
      return fail(
          ErrorCode::kFailedPrecondition,
          fmt::format("{} would flatten the $include files of {} into it", methodName(mode), current->path.string()),
          fmt::format("{} cannot replace a config that uses $include (Talon never flattens included files "
                      "into the root config); use config.patch, or edit the files",
                      methodName(mode)));
    }
    auto restored = config::restoreRedactedValues(parsed->value, source);
    if (!restored) return fail(restored.error());
    next = config::restoreEnvReferences(*restored, source, current->effective);
  }

  std::string text = toPrettyJson(next);
  auto loaded = config::loadConfigText(text, current->path, loadOptions);
  if (!loaded) {
    if (loaded.error().code == ErrorCode::kConfigInvalid) return fail(invalidConfig(loaded.error()));
    return fail(loaded.error());
  }
  config::ConfigWriteRequest request;
  request.path = current->path;
  request.text = text;
  request.previousEffective = current->exists ? current->effective : json::value(nullptr);
  request.nextEffective = loaded->effective;
  request.nowMs = d.clock->nowMs();
  if (auto written = config::writeConfigFile(request); !written) return fail(written.error());
  loaded->exists = true;
  loaded->raw = text;

  result.changedPaths = config::diffConfigPaths(current->effective, loaded->effective);
  auto before = config::redactConfigSecrets(current->effective);
  auto after = config::redactConfigSecrets(loaded->effective);
  constexpr std::size_t kMaxDiff = 100;
  for (std::size_t i = 0; i < result.changedPaths.size() && i < kMaxDiff; ++i) {
    const auto& p = result.changedPaths[i];
    result.diff.push_back(
        json::object{{"path", p}, {"before", auditValue(at(before, p))}, {"after", auditValue(at(after, p))}});
  }
  result.hashAfter = loaded->hash;
  auto outcome = d.live.offer(*loaded);
  const auto& plan = outcome.plan;

  json::object payload{{"ok", true}, {"path", loaded->path.string()}, {"hash", loaded->hash}, {"config", after}};
  if (mode == WriteMode::kPatch) {
    json::array changed;
    for (const auto& p : result.changedPaths) changed.emplace_back(p);
    payload["changedPaths"] = std::move(changed);
  }
  if (mode != WriteMode::kSet) {
    // Talon does not restart itself: it says whether the running gateway took the change.
    json::array reasons;
    for (const auto& p : plan.restartReasons) reasons.emplace_back(p);
    payload["applied"] = outcome.applied;
    payload["restartRequired"] = !outcome.applied;
    payload["restartReasons"] = std::move(reasons);
  }
  result.payload = std::move(payload);
  return result;
}

void handleWrite(const WriteDeps& d, WriteMode mode, const MethodCall& call) {
  std::string method(methodName(mode));
  std::string clientKey = call.caller->clientId + "@" + call.caller->remoteAddress;
  std::string actor = call.caller->auditActor();
  auto record = [d, method, actor, call](security::AuditOutcome outcome, json::object details) {
    details["method"] = method;
    details["clientAddress"] = call.caller->remoteAddress;
    if (auto note = getString(call.params, "note")) details["note"] = std::string(*note);
    d.audit.record(security::AuditEvent{"config.write", actor, d.live.file()->path, outcome, std::move(details)});
  };
  if (auto admitted = d.live.admitWrite(method, clientKey); !admitted) {
    record(security::AuditOutcome::kDenied, json::object{{"reason", "rate-limited"}});
    return call.error(admitted.error());
  }
  d.executors.blocking([d, mode, call, record, method] {
    auto result = performWrite(d, mode, call.params);
    if (!result) {
      const auto& e = result.error();
      bool denied = e.externalMessage.starts_with("config base hash") ||
                    e.externalMessage.starts_with("config changed since") || e.code == ErrorCode::kFailedPrecondition;
      record(denied ? security::AuditOutcome::kDenied : security::AuditOutcome::kFailed,
             json::object{{"reason", e.publicMessage()}});
      if (e.code == ErrorCode::kIo || e.code == ErrorCode::kInternal) {
        spdlog::error("{} failed: {}", method, e.toString());
      }
      return call.error(e);
    }
    json::array changed;
    for (const auto& p : result->changedPaths) changed.emplace_back(p);
    spdlog::info("{} write changedPaths={}", method, result->changedPaths.size());
    record(security::AuditOutcome::kAllowed, json::object{{"changedPaths", std::move(changed)},
                                                          {"diff", std::move(result->diff)},
                                                          {"hashBefore", result->hashBefore},
                                                          {"hashAfter", result->hashAfter}});
    call.ok(json::serialize(result->payload));
  });
}

// OpenClaw's ConfigApplyLikeParamProperties (+ replacePaths for config.patch). sessionKey,
// deliveryContext and restartDelayMs address OpenClaw's restart sentinel; Talon does not restart itself.
ParamsSchema applyLikeParams(bool patch) {
  ParamsSchema schema{{"raw", ParamType::kNonEmptyString, true},
                      {"baseHash", ParamType::kNonEmptyString},
                      {"note", ParamType::kString},
                      {"sessionKey", ParamType::kString, false, true},
                      {"deliveryContext", ParamType::kAny, false, true},
                      {"restartDelayMs", ParamType::kInteger, false, true}};
  if (patch) schema.push_back({"replacePaths", ParamType::kArray});
  return schema;
}

}  // namespace

Status registerConfigWriteMethods(MethodRegistry& registry, const GatewayServices& services) {
  const WriteDeps d{services.liveConfig, services.audit, services.executors, services.clock};
  for (auto mode : {WriteMode::kPatch, WriteMode::kApply, WriteMode::kSet}) {
    ParamsSchema schema = mode == WriteMode::kSet ? ParamsSchema{{"raw", ParamType::kNonEmptyString, true},
                                                                 {"baseHash", ParamType::kNonEmptyString}}
                                                  : applyLikeParams(mode == WriteMode::kPatch);
    Status s = registry.add({methodName(mode), protocol::Scope::kAdmin, std::move(schema),
                             [d, mode](const MethodCall& call) { handleWrite(d, mode, call); }});
    if (!s) return s;
  }
  return {};
}

}  // namespace talon::gateway::methods
