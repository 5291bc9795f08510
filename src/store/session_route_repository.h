#pragma once
// The last external route of each session (OpenClaw's session delivery context: lastChannel, lastTo,
// lastAccountId, lastThreadId; docs/gateway/heartbeat.md "target: last"): the channel conversation a
// session was last reached on, recorded when an inbound channel message is routed to it, so that a
// heartbeat can answer there and the route survives a restart.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// One session's last route.
struct SessionRouteRecord {
  std::string sessionKey;  // "agent:main:main"
  std::string agentId;
  std::string channel;    // "telegram", "loopback", ... (never empty)
  std::string accountId;  // the channel account; empty = the default account
  /// The conversation as a delivery target: "user:<id>", "group:<id>" or "channel:<id>" (never empty).
  std::string to;
  std::string chatType;  // "direct" | "group" | "channel" (the kind of `to`)
  std::string threadId;  // empty: none
  int64_t updatedAtMs = 0;
};

/// Reads and writes of session routes. A view over a Store (cheap to copy; the store must outlive it).
/// Reads: any thread; each sees every write whose commit was reported before it began.
class SessionRouteRepository {
 public:
  explicit SessionRouteRepository(Store& store) : store_(&store) {}

  /// Adds to `batch`: insert or replace the route of record.sessionKey. Errors when applied:
  /// kInvalidArgument for an empty sessionKey, agentId, channel or `to`, or a chatType other than
  /// "direct", "group", "channel".
  static void record(WriteBatch& batch, SessionRouteRecord record);

  /// The route of `sessionKey`, or nullopt. Errors: kFailedPrecondition after Store::close(), kIo for
  /// database failures.
  Result<std::optional<SessionRouteRecord>> get(const std::string& sessionKey) const;
  /// The routes of `sessionKeys` that have one, in the order asked (for sessions.list). Errors: as get().
  Result<std::vector<SessionRouteRecord>> find(const std::vector<std::string>& sessionKeys) const;

 private:
  Store* store_;
};

}  // namespace talon::store
