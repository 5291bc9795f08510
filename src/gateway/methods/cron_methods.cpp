// The cron family (OpenClaw 2026.9.6 dist `server-methods/cron` and protocol schemas CronListParamsSchema,
// CronAddParamsSchema, CronUpdateParamsSchema, CronRunParamsSchema, CronRunsParamsSchema,
// CronRunLogEntrySchema), over automation/cron_service.h:
//   cron.status {} → {enabled, triggersEnabled:false, storage:"sqlite", storePath, sqlitePath, jobs, nextWakeAtMs}
//   cron.list {includeDisabled?, limit? (1–200, default 50), offset?, enabled?, agentId?}
//     → {jobs[CronJob + effectiveAgentId], total, offset, limit, hasMore, nextOffset, snapshotRevision}
//   cron.get {id|jobId} → CronJob
//   cron.add {name, schedule, sessionTarget, wakeMode, payload, …} → CronJob
//   cron.update {id|jobId, patch} → CronJob
//   cron.remove {id|jobId} → {ok:true, removed:true}
//   cron.run {id|jobId, mode?: "force" (default) | "due" | "if-enabled", expectedProcessInstanceId?}
//     → {ok:true, enqueued:true, runId, processInstanceId} | {ok:true, ran:false, reason, processInstanceId}
//   cron.runs {id|jobId?, scope?, runId?, limit? (1–200, default 50), offset?} → {entries[CronRunLogEntry],
//     total, offset, limit, hasMore, nextOffset}; with runId (what cron.run answered) only that run, or no
//     entry yet (`openclaw cron run --wait` polls it)
// An unknown job is INVALID_REQUEST with details {code:"CRON_JOB_NOT_FOUND", jobId} (OpenClaw's
// respondCronJobNotFound). Filters, sorting and options Talon does not implement yet (query, sortBy,
// scheduleKind, statuses, …) are refused as not supported yet. Handlers run the service on
// Executors::blocking (it reads and writes the store).
#include <fmt/format.h>

#include "base/hash.h"
#include "gateway/automation/cron_service.h"
#include "gateway/methods/builtin_methods.h"

namespace talon::gateway::methods {
namespace {

using automation::CronService;

Error cronInvalidParams(std::string_view method, std::string_view reason) {
  std::string m = fmt::format("invalid {} params: {}", method, reason);
  return Error(ErrorCode::kInvalidArgument, m, m);
}

/// kInvalidArgument errors of the job reader carry "at /x: …"; the method names itself in front, as
/// OpenClaw's validator does. Other errors (unsupported, not found) pass unchanged.
Error withMethod(std::string_view method, Error e) {
  if (e.code != ErrorCode::kInvalidArgument) return e;
  std::string m = fmt::format("invalid {} params: {}", method, e.publicMessage());
  Error out(ErrorCode::kInvalidArgument, fmt::format("invalid {} params: {}", method, e.message), m);
  out.details = std::move(e.details);
  return out;
}

/// An unknown job answers INVALID_REQUEST as OpenClaw's respondCronJobNotFound does.
Error jobError(std::string_view method, Error e) {
  if (e.code == ErrorCode::kNotFound && e.details.contains("jobId")) {
    Error out(ErrorCode::kInvalidArgument, e.message, e.publicMessage());
    out.details = std::move(e.details);
    return out;
  }
  return withMethod(method, std::move(e));
}

/// The job id of `{id}` or `{jobId}` (exactly one, non-empty). Errors as OpenClaw's cronIdOrJobIdParams.
Result<std::string> jobIdOf(std::string_view method, const json::object& params) {
  auto id = getString(params, "id");
  auto jobId = getString(params, "jobId");
  if (id && jobId) return fail(cronInvalidParams(method, "must match exactly one schema in oneOf"));
  std::string_view v = id ? *id : jobId ? *jobId : std::string_view();
  if (v.empty()) return fail(cronInvalidParams(method, "missing id"));
  return std::string(v);
}

ParamSpec idParam() { return {"id", ParamType::kNonEmptyString}; }
ParamSpec jobIdParam() { return {"jobId", ParamType::kNonEmptyString}; }

/// The common guard: the service exists.
bool haveService(const MethodCall& call, CronService* cron) {
  if (cron) return true;
  call.error(Error(ErrorCode::kUnavailable, "no cron service is wired", "cron is unavailable"));
  return false;
}

}  // namespace

Status registerCronMethods(MethodRegistry& registry, const GatewayServices& services) {
  CronService* cron = services.cron;
  Executors executors = services.executors;
  const std::string instanceId = services.info.instanceId;

  if (auto s = registry.add({"cron.status",
                             protocol::Scope::kRead,
                             {},
                             [cron, executors](const MethodCall& call) {
                               if (!haveService(call, cron)) return;
                               executors.blocking([cron, call] {
                                 auto st = cron->status();
                                 json::object o{{"enabled", st.enabled},      {"triggersEnabled", false},
                                                {"storage", "sqlite"},        {"storePath", st.storePath},
                                                {"sqlitePath", st.storePath}, {"jobs", st.jobs}};
                                 if (st.nextWakeAtMs > 0) {
                                   o["nextWakeAtMs"] = st.nextWakeAtMs;
                                 } else {
                                   o["nextWakeAtMs"] = nullptr;
                                 }
                                 call.ok(json::serialize(o));
                               });
                             }});
      !s) {
    return s;
  }

  if (auto s = registry.add(
          {"cron.list",
           protocol::Scope::kRead,
           {{"sessionKey", ParamType::kString, false, true},
            {"sessionAgentId", ParamType::kString, false, true},
            {"includeDisabled", ParamType::kBoolean},
            {"limit", ParamType::kInteger},
            {"offset", ParamType::kInteger},
            {"query", ParamType::kString, false, true},
            {"enabled", ParamType::kString},
            {"scheduleKind", ParamType::kString},
            {"lastRunStatus", ParamType::kString},
            {"trigger", ParamType::kString},
            {"sortBy", ParamType::kString, false, true},
            {"sortDir", ParamType::kString, false, true},
            {"agentId", ParamType::kNonEmptyString},
            {"compact", ParamType::kBoolean, false, true},
            {"includeDeliveryPreviews", ParamType::kBoolean, false, true}},
           [cron, executors](const MethodCall& call) {
             if (!haveService(call, cron)) return;
             const auto& p = call.params;
             int64_t limit = intParam(p, "limit", 50);
             int64_t offset = intParam(p, "offset", 0);
             if (limit < 1 || limit > 200) {
               return call.error(cronInvalidParams("cron.list", "at /limit: must be >= 1 and <= 200"));
             }
             if (offset < 0) return call.error(cronInvalidParams("cron.list", "at /offset: must be >= 0"));
             for (std::string_view key : {"scheduleKind", "lastRunStatus", "trigger"}) {
               if (auto v = getString(p, key); v && *v != "all") {
                 return call.error(notSupportedYet(fmt::format("cron.list {} filter", key)));
               }
             }
             std::string enabled(getString(p, "enabled").value_or(""));
             if (!enabled.empty() && enabled != "all" && enabled != "enabled" && enabled != "disabled") {
               return call.error(
                   cronInvalidParams("cron.list", "at /enabled: must be equal to one of the allowed values"));
             }
             if (enabled.empty()) enabled = getBool(p, "includeDisabled").value_or(false) ? "all" : "enabled";
             std::string agentId(getString(p, "agentId").value_or(""));
             executors.blocking([cron, call, limit, offset, enabled, agentId] {
               std::vector<json::object> all = cron->list();
               json::array jobs;
               std::string revisionMaterial;
               int64_t total = 0;
               for (auto& job : all) {
                 bool on = job.at("enabled").as_bool();
                 if ((enabled == "enabled" && !on) || (enabled == "disabled" && on)) continue;
                 if (!agentId.empty()) {
                   auto a = getString(job, "agentId");
                   if (!a || *a != agentId) continue;
                 }
                 revisionMaterial += toCanonicalJson(job);
                 if (total >= offset && total < offset + limit) jobs.push_back(job);
                 ++total;
               }
               int64_t next = offset + static_cast<int64_t>(jobs.size());
               json::object o{{"jobs", std::move(jobs)}, {"snapshotRevision", "sha256:" + sha256Hex(revisionMaterial)},
                              {"total", total},          {"offset", offset},
                              {"limit", limit},          {"hasMore", next < total}};
               if (next < total) {
                 o["nextOffset"] = next;
               } else {
                 o["nextOffset"] = nullptr;
               }
               call.ok(json::serialize(o));
             });
           }});
      !s) {
    return s;
  }

  if (auto s = registry.add({"cron.get",
                             protocol::Scope::kRead,
                             {idParam(), jobIdParam()},
                             [cron, executors](const MethodCall& call) {
                               if (!haveService(call, cron)) return;
                               auto id = jobIdOf("cron.get", call.params);
                               if (!id) return call.error(id.error());
                               executors.blocking([cron, call, id = *id] {
                                 auto job = cron->get(id);
                                 if (!job) {
                                   std::string m = fmt::format(
                                       "cron job not found: {}. List automations and retry with a current job id.", id);
                                   Error e(ErrorCode::kInvalidArgument, m, m);
                                   e.details = json::object{{"code", "CRON_JOB_NOT_FOUND"}, {"jobId", id}};
                                   return call.error(e);
                                 }
                                 call.ok(json::serialize(*job));
                               });
                             }});
      !s) {
    return s;
  }

  if (auto s = registry.add({"cron.add",
                             protocol::Scope::kAdmin,
                             {{"name", ParamType::kNonEmptyString, true},
                              {"declarationKey", ParamType::kString, false, true},
                              {"displayName", ParamType::kString},
                              {"owner", ParamType::kObject, false, true},
                              {"agentId", ParamType::kAny},
                              {"sessionKey", ParamType::kAny},
                              {"description", ParamType::kString},
                              {"enabled", ParamType::kBoolean},
                              {"deleteAfterRun", ParamType::kBoolean},
                              {"schedule", ParamType::kObject, true},
                              {"pacing", ParamType::kObject, false, true},
                              {"trigger", ParamType::kObject, false, true},
                              {"sessionTarget", ParamType::kNonEmptyString, true},
                              {"wakeMode", ParamType::kNonEmptyString, true},
                              {"payload", ParamType::kObject, true},
                              {"delivery", ParamType::kObject},
                              {"failureAlert", ParamType::kAny}},
                             [cron, executors](const MethodCall& call) {
                               if (!haveService(call, cron)) return;
                               executors.blocking([cron, call] {
                                 auto job = cron->add(call.params, automation::CronActor{call.caller->auditActor()});
                                 if (!job) return call.error(withMethod("cron.add", job.error()));
                                 call.ok(json::serialize(*job));
                               });
                             }});
      !s) {
    return s;
  }

  if (auto s = registry.add({"cron.update",
                             protocol::Scope::kAdmin,
                             {idParam(),
                              jobIdParam(),
                              {"patch", ParamType::kObject, true},
                              {"expectedConfigRevision", ParamType::kString, false, true}},
                             [cron, executors](const MethodCall& call) {
                               if (!haveService(call, cron)) return;
                               auto id = jobIdOf("cron.update", call.params);
                               if (!id) return call.error(id.error());
                               executors.blocking([cron, call, id = *id] {
                                 auto job = cron->update(id, call.params.at("patch").as_object(),
                                                         automation::CronActor{call.caller->auditActor()});
                                 if (!job) return call.error(jobError("cron.update", job.error()));
                                 call.ok(json::serialize(*job));
                               });
                             }});
      !s) {
    return s;
  }

  if (auto s = registry.add({"cron.remove",
                             protocol::Scope::kAdmin,
                             {idParam(), jobIdParam()},
                             [cron, executors](const MethodCall& call) {
                               if (!haveService(call, cron)) return;
                               auto id = jobIdOf("cron.remove", call.params);
                               if (!id) return call.error(id.error());
                               executors.blocking([cron, call, id = *id] {
                                 auto r = cron->remove(id, automation::CronActor{call.caller->auditActor()});
                                 if (!r) return call.error(jobError("cron.remove", r.error()));
                                 call.ok(R"({"ok":true,"removed":true})");
                               });
                             }});
      !s) {
    return s;
  }

  if (auto s = registry.add(
          {"cron.run",
           protocol::Scope::kAdmin,
           {idParam(),
            jobIdParam(),
            {"mode", ParamType::kString},
            {"expectedProcessInstanceId", ParamType::kNonEmptyString}},
           [cron, executors, instanceId](const MethodCall& call) {
             if (!haveService(call, cron)) return;
             auto id = jobIdOf("cron.run", call.params);
             if (!id) return call.error(id.error());
             std::string mode(getString(call.params, "mode").value_or("force"));
             if (mode != "force" && mode != "due" && mode != "if-enabled") {
               return call.error(cronInvalidParams("cron.run", "at /mode: must be equal to one of the allowed values"));
             }
             if (auto expected = getString(call.params, "expectedProcessInstanceId");
                 expected && *expected != instanceId) {
               return call.error(cronInvalidParams("cron.run", "Gateway process changed after preflight"));
             }
             executors.blocking([cron, call, id = *id, mode, instanceId] {
               auto r = cron->run(id, mode, automation::CronActor{call.caller->auditActor()});
               if (!r) return call.error(jobError("cron.run", r.error()));
               json::object o{{"ok", true}};
               if (r->enqueued) {
                 o["enqueued"] = true;
                 o["runId"] = r->runId;
               } else {
                 o["ran"] = false;
                 o["reason"] = r->reason;
               }
               o["processInstanceId"] = instanceId;
               call.ok(json::serialize(o));
             });
           }});
      !s) {
    return s;
  }

  return registry.add({"cron.runs",
                       protocol::Scope::kRead,
                       {{"agentId", ParamType::kNonEmptyString, false, true},
                        {"scope", ParamType::kString},
                        idParam(),
                        jobIdParam(),
                        {"runId", ParamType::kNonEmptyString},
                        {"limit", ParamType::kInteger},
                        {"offset", ParamType::kInteger},
                        {"statuses", ParamType::kArray, false, true},
                        {"status", ParamType::kString},
                        {"deliveryStatuses", ParamType::kArray, false, true},
                        {"deliveryStatus", ParamType::kString, false, true},
                        {"query", ParamType::kString, false, true},
                        {"sortDir", ParamType::kString}},
                       [cron, executors](const MethodCall& call) {
                         if (!haveService(call, cron)) return;
                         const auto& p = call.params;
                         int64_t limit = intParam(p, "limit", 50);
                         int64_t offset = intParam(p, "offset", 0);
                         if (limit < 1 || limit > 200)
                           return call.error(cronInvalidParams("cron.runs", "at /limit: must be >= 1 and <= 200"));
                         if (offset < 0) return call.error(cronInvalidParams("cron.runs", "at /offset: must be >= 0"));
                         if (auto st = getString(p, "status"); st && *st != "all") {
                           return call.error(notSupportedYet("cron.runs status filter"));
                         }
                         if (auto dir = getString(p, "sortDir"); dir && *dir != "desc") {
                           return call.error(notSupportedYet("cron.runs sortDir \"asc\""));
                         }
                         const bool selector = p.contains("id") || p.contains("jobId");
                         std::string scope(getString(p, "scope").value_or(selector ? "job" : "all"));
                         if (scope != "job" && scope != "all") {
                           return call.error(
                               cronInvalidParams("cron.runs", "at /scope: must be equal to one of the allowed values"));
                         }
                         std::string jobId;
                         if (scope == "job") {
                           auto id = jobIdOf("cron.runs", p);
                           if (!id) return call.error(id.error());
                           jobId = *id;
                         }
                         if (auto runId = getString(p, "runId")) {
                           // One run, as `openclaw cron run --wait` polls it: the entry, or none yet.
                           executors.blocking([cron, call, jobId, limit, runId = std::string(*runId)] {
                             auto run = cron->findRun(runId);
                             if (!run) return call.error(run.error());
                             json::array entries;
                             if (*run && (*run)->status != "running" && (jobId.empty() || (*run)->jobId == jobId)) {
                               entries.push_back(automation::cronRunToJson(**run, cron->jobName((*run)->jobId)));
                             }
                             const int64_t total = static_cast<int64_t>(entries.size());
                             call.ok(json::serialize(json::object{{"entries", std::move(entries)},
                                                                  {"total", total},
                                                                  {"offset", 0},
                                                                  {"limit", limit},
                                                                  {"hasMore", false},
                                                                  {"nextOffset", nullptr}}));
                           });
                           return;
                         }
                         executors.blocking([cron, call, jobId, limit, offset] {
                           auto page = cron->runs(jobId, limit, offset);
                           if (!page) return call.error(page.error());
                           json::array entries;
                           for (const auto& run : page->runs)
                             entries.push_back(automation::cronRunToJson(run, cron->jobName(run.jobId)));
                           int64_t next = offset + static_cast<int64_t>(page->runs.size());
                           json::object o{{"entries", std::move(entries)},
                                          {"total", page->total},
                                          {"offset", offset},
                                          {"limit", limit},
                                          {"hasMore", next < page->total}};
                           if (next < page->total) {
                             o["nextOffset"] = next;
                           } else {
                             o["nextOffset"] = nullptr;
                           }
                           call.ok(json::serialize(o));
                         });
                       }});
}

}  // namespace talon::gateway::methods
