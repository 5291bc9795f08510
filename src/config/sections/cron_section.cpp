// `cron`: the scheduler (OpenClaw docs/gateway/config-automation.md, CronConfigSchema; openclaw-semantics.md
// §4 "Config"). Implemented: enabled, skipMissedJobs, failureAlert{enabled, after, cooldownMs,
// includeSkipped, mode, channel, to, accountId}, webhookToken (a SecretInput) and sessionRetention as
// `false` / a zero duration (Talon does not prune cron sessions yet, so a retention period is refused as
// not supported yet rather than ignored). `triggers` and `webhookSsrfPolicy` are reported as not supported
// yet by ConfigReader::readObject. `cron.escalation` is Talon's own (docs/cron.md "Escalation").
#include <fmt/format.h>

#include "base/text.h"
#include "config/config_sections.h"

namespace talon::config {

namespace {

constexpr std::string_view kAlertModes[] = {"announce", "webhook"};

/// True when `s` is a duration of zero ("0", "0h", "0m", "0s", "0ms", "0d").
bool isZeroDuration(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && s[i] == '0') ++i;
  if (i == 0) return false;
  std::string_view unit = s.substr(i);
  return unit.empty() || unit == "ms" || unit == "s" || unit == "m" || unit == "h" || unit == "d";
}

void readFailureAlert(ConfigReader& r, const ConfigNode& node, const json::value& value, CronFailureAlertConfig& out) {
  if (!r.readObject(node, value,
                    {
                        {"enabled",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto b = r.boolean(c, x)) out.enabled = *b;
                         }},
                        {"after",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto n = r.integer(c, x, 1, kMaxSafeInteger, ">= 1")) out.after = *n;
                         }},
                        {"cooldownMs",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto n = r.integer(c, x, 0, kMaxSafeInteger, ">= 0 (ms)")) out.cooldownMs = *n;
                         }},
                        {"includeSkipped",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto b = r.boolean(c, x)) out.includeSkipped = *b;
                         }},
                        {"mode",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto m = r.enumeration(c, x, kAlertModes)) out.mode = *m;
                         }},
                        {"channel",
                         [&](const ConfigNode& c, const json::value& x) {
                           auto s = r.string(c, x, true);
                           if (!s) return;
                           if (trimWhitespace(*s) == "last") {
                             r.error(c, DiagnosticCode::kValue,
                                     "channel \"last\" is not supported by Talon yet: name the channel");
                             return;
                           }
                           out.channel = trimWhitespace(*s);
                         }},
                        {"to",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto s = r.string(c, x, true)) out.to = trimWhitespace(*s);
                         }},
                        {"accountId",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto s = r.string(c, x, true)) out.accountId = trimWhitespace(*s);
                         }},
                    })) {
    return;
  }
  out.configured = true;
  if (out.mode == "webhook" && !out.to.empty() && !isHttpUrl(out.to)) {
    r.error(r.child(node, "to"), DiagnosticCode::kValue, "cron.failureAlert.to must be an http(s) URL in webhook mode");
  }
  if (out.mode == "webhook" && out.to.empty()) {
    r.error(node, DiagnosticCode::kValue, "cron.failureAlert mode \"webhook\" requires cron.failureAlert.to");
  }
}

void readEscalation(ConfigReader& r, const ConfigNode& node, const json::value& value, CronEscalationConfig& out) {
  bool backoffRead = false;
  std::optional<ConfigNode> backoffNode;
  r.readObject(node, value,
               {
                   {"retryBackoff",
                    [&](const ConfigNode& c, const json::value& x) {
                      backoffNode = c;
                      backoffRead =
                          r.readObject(c, x,
                                       {{"initialMs",
                                         [&](const ConfigNode& b, const json::value& y) {
                                           if (auto n = r.integer(b, y, 1000, kMaxSafeInteger, ">= 1000 (ms)")) {
                                             out.retryInitialMs = *n;
                                           }
                                         }},
                                        {"maxMs", [&](const ConfigNode& b, const json::value& y) {
                                           if (auto n = r.integer(b, y, 1000, kMaxSafeInteger, ">= 1000 (ms)"))
                                             out.retryMaxMs = *n;
                                         }}});
                    }},
                   {"disableAfter",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto n = r.integer(c, x, 0, 1'000'000, "0..1000000 (0: never)")) out.disableAfter = *n;
                    }},
               });
  if (backoffRead && out.retryMaxMs < out.retryInitialMs) {
    r.error(*backoffNode, DiagnosticCode::kValue,
            fmt::format("cron.escalation.retryBackoff.maxMs ({}) must be >= initialMs ({})", out.retryMaxMs,
                        out.retryInitialMs));
  }
}

void readCron(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  CronConfig& out = config.cron;
  r.readObject(
      node, value,
      {
          {"enabled",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto b = r.boolean(c, x)) out.enabled = *b;
           }},
          {"skipMissedJobs",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto b = r.boolean(c, x)) out.skipMissedJobs = *b;
           }},
          {"failureAlert",
           [&](const ConfigNode& c, const json::value& x) { readFailureAlert(r, c, x, out.failureAlert); }},
          {"webhookToken",
           [&](const ConfigNode& c, const json::value& x) {
             SecretInput in = r.secret(c, x);
             if (in.ref) {
               out.webhookTokenRef = *in.ref;
               out.webhookTokenRef->path = "cron.webhookToken";
             } else {
               out.webhookToken = trimWhitespace(in.value);
               out.webhookTokenUnavailable = in.unavailable;
             }
           }},
          {"sessionRetention",
           [&](const ConfigNode& c, const json::value& x) {
             if (x.is_bool() && !x.as_bool()) return;  // pruning off: what Talon does
             if (x.is_string() && isZeroDuration(trimWhitespace(x.as_string()))) return;
             if (x.is_string() || x.is_bool()) {
               r.error(c, DiagnosticCode::kValue,
                       "cron.sessionRetention (pruning of cron run sessions) is not supported by Talon yet: "
                       "set it to false or remove it");
               return;
             }
             r.error(c, DiagnosticCode::kType, "expected a duration string or false, got " + ConfigReader::describe(x));
           }},
          {"escalation", [&](const ConfigNode& c, const json::value& x) { readEscalation(r, c, x, out.escalation); }},
      });
}

}  // namespace

extern const ConfigSection kCronSection;
const ConfigSection kCronSection{"cron", readCron};

}  // namespace talon::config
