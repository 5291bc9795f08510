// The sessions family: `sessions.list`, `chat.history`, `sessions.compact` (OpenClaw 2026.9.6 shapes,
// tests/data/wire/res.sessions.list.json; a session's last route as OpenClaw's lastChannel/lastTo/
// lastAccountId/lastThreadId row fields; sessions.compact: dist sessions-compact-*.mjs). Rows also carry
// `compactionCount`, the field of OpenClaw's session store entry (docs/reference/
// session-management-compaction/schema.md) that its `/status` shows; OpenClaw 2026.9.6 keeps it out of
// its sessions.list rows, Talon sends it (clients ignore fields they do not know).
#include <algorithm>
#include <map>
#include <vector>

#include "gateway/methods/builtin_methods.h"
#include "gateway/methods/payloads.h"
#include "store/compaction_repository.h"
#include "store/session_route_repository.h"

namespace talon::gateway::methods {
namespace {

struct SessionDeps {
  const AgentDirectory& agents;
  std::shared_ptr<const ConfigSnapshot> config;
  store::Store& store;
  Executors executors;
  ClockPtr clock;
};

}  // namespace

Status registerSessionMethods(MethodRegistry& registry, const GatewayServices& services) {
  const SessionDeps d{services.agents, services.config, services.store, services.executors, services.clock};
  Status s = registry.add({"sessions.list",
                           protocol::Scope::kRead,
                           {{"limit", ParamType::kInteger},
                            {"offset", ParamType::kInteger},
                            {"agentId", ParamType::kNonEmptyString},
                            {"includeGlobal", ParamType::kBoolean},
                            {"includeUnknown", ParamType::kBoolean},
                            {"activeMinutes", ParamType::kInteger, false, true},
                            {"search", ParamType::kString, false, true},
                            {"label", ParamType::kString, false, true},
                            {"spawnedBy", ParamType::kString, false, true}},
                           [d](const MethodCall& call) {
                             store::SessionQuery q;
                             q.limit = std::clamp<int64_t>(intParam(call.params, "limit", 100), 1, 1000);
                             q.offset = std::max<int64_t>(intParam(call.params, "offset", 0), 0);
                             if (auto a = getString(call.params, "agentId")) q.agentId = std::string(*a);
                             d.executors.blocking([d, call, q] {
                               auto page = d.store.sessions().list(q);
                               if (!page) return call.error(page.error());
                               auto now = d.clock->nowMs();
                               // Each session's last external route (OpenClaw's lastChannel, lastTo,
                               // lastAccountId, lastThreadId), when one was recorded.
                               std::vector<std::string> keys;
                               for (const auto& s : page->sessions) keys.push_back(s.sessionKey);
                               auto routes = store::SessionRouteRepository(d.store).find(keys);
                               if (!routes) return call.error(routes.error());
                               std::map<std::string, const store::SessionRouteRecord*> byKey;
                               for (const auto& r : *routes) byKey[r.sessionKey] = &r;
                               auto compactions = store::CompactionRepository(d.store).counts(keys);
                               if (!compactions) return call.error(compactions.error());
                               json::array sessions;
                               for (const auto& s : page->sessions) {
                                 json::object row = sessionRow(s, now);
                                 auto count = compactions->find(s.sessionKey);
                                 row["compactionCount"] = count == compactions->end() ? 0 : count->second;
                                 if (auto it = byKey.find(s.sessionKey); it != byKey.end()) {
                                   const store::SessionRouteRecord& r = *it->second;
                                   row["lastChannel"] = r.channel;
                                   row["lastTo"] = r.to;
                                   if (!r.accountId.empty()) row["lastAccountId"] = r.accountId;
                                   if (!r.threadId.empty()) row["lastThreadId"] = r.threadId;
                                 }
                                 sessions.push_back(std::move(row));
                               }
                               int64_t next = q.offset + static_cast<int64_t>(page->sessions.size());
                               bool hasMore = next < page->totalCount;
                               json::object payload{{"ts", now},
                                                    {"path", d.store.location()},
                                                    {"count", static_cast<int64_t>(page->sessions.size())},
                                                    {"totalCount", page->totalCount},
                                                    {"limitApplied", q.limit},
                                                    {"nextOffset", hasMore ? json::value(next) : json::value(nullptr)},
                                                    {"hasMore", hasMore},
                                                    {"owners", json::array{}},
                                                    {"defaults", modelDefaults(d.config->config)},
                                                    {"sessions", sessions}};
                               call.ok(json::serialize(payload));
                             });
                           }});
  if (!s) return s;
  // sessions.compact {key, agentId?, maxLines?} → {ok, key, compacted, reason?, result?}: the session's
  // history is compacted now (agent_runner.h AgentRunner::compact; docs/compaction.md). OpenClaw's
  // maxLines (trim the transcript file to its last lines) has no Talon counterpart: refused.
  s = registry.add({"sessions.compact",
                    protocol::Scope::kAdmin,
                    {{"key", ParamType::kNonEmptyString, true},
                     {"agentId", ParamType::kNonEmptyString},
                     {"maxLines", ParamType::kInteger, false, true}},
                    [&runner = services.runner, d](const MethodCall& call) {
                      auto resolved = d.agents.resolveClientSession(*getString(call.params, "key"),
                                                                    getString(call.params, "agentId"));
                      if (!resolved) return call.error(resolved.error());
                      std::string key = resolved->second;
                      runner.compact(resolved->first, key, "", [call, key](Result<CompactResult> r) {
                        if (!r) return call.error(r.error());
                        json::object payload{{"ok", true}, {"key", key}, {"compacted", r->compacted}};
                        if (!r->compacted) {
                          payload["reason"] = r->reason;
                        } else {
                          payload["result"] = json::object{{"tokensBefore", r->tokensBefore},
                                                           {"tokensAfter", r->tokensAfter},
                                                           {"compactionCount", r->compactionCount}};
                        }
                        call.ok(json::serialize(payload));
                      });
                    }});
  if (!s) return s;
  return registry.add({"chat.history",
                       protocol::Scope::kRead,
                       {{"sessionKey", ParamType::kNonEmptyString, true},
                        {"agentId", ParamType::kNonEmptyString},
                        {"limit", ParamType::kInteger},
                        {"maxChars", ParamType::kInteger},
                        {"sessionId", ParamType::kNonEmptyString},
                        {"cursor", ParamType::kString, false, true},
                        {"offset", ParamType::kInteger, false, true},
                        {"maxBytes", ParamType::kInteger},
                        {"pendingBefore", ParamType::kInteger, false, true},
                        {"inputRunIds", ParamType::kArray, false, true},
                        {"messageId", ParamType::kNonEmptyString, false, true}},
                       [d](const MethodCall& call) {
                         auto agentId = getString(call.params, "agentId");
                         auto resolved = d.agents.resolveClientSession(*getString(call.params, "sessionKey"), agentId);
                         if (!resolved) return call.error(resolved.error());
                         int64_t limit = std::clamp<int64_t>(intParam(call.params, "limit", 200), 1, 1000);
                         call.reply->subscribeSession(resolved->second);
                         d.executors.blocking([d, call, key = resolved->second, limit] {
                           auto session = d.store.sessions().get(key);
                           if (!session) return call.error(session.error());
                           auto entries = d.store.transcripts().tail(key, limit);
                           if (!entries) return call.error(entries.error());
                           json::array messages;
                           for (const auto& e : *entries) messages.push_back(transcriptMessage(e));
                           int64_t total = *session ? (*session)->messageCount : 0;
                           json::object payload{
                               {"sessionKey", key},
                               {"sessionId", *session ? json::value((*session)->sessionId) : json::value(nullptr)},
                               {"messages", messages},
                               {"pendingInputs", json::array{}},
                               {"totalMessages", total},
                               {"hasMore", total > static_cast<int64_t>(messages.size())},
                               {"defaults", modelDefaults(d.config->config)}};
                           call.ok(json::serialize(payload));
                         });
                       }});
}

}  // namespace talon::gateway::methods
