#pragma once
// The channel outbox: one row per outbound message (a reply of a run, a `send` request), written before
// the message is handed to its channel and updated as the channel confirms each part or the attempt
// fails (ARCHITECTURE.md "The path of a message", step 5: "deliver (channel outbound, durable until the
// channel confirms)"). gateway/channels/outbound_dispatcher.h sends the rows; rows left `pending` by a
// crash are resumed at the next start. Table: outbound_deliveries (migration step 8).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// Where a delivery stands.
enum class DeliveryState {
  kPending,  // stored; not yet confirmed by the channel (first attempt due, or a retry scheduled)
  kSent,     // the channel confirmed every part
  kFailed,   // given up: the attempt or age bound was reached (lastError says why)
};

/// "pending" | "sent" | "failed".
std::string_view deliveryStateName(DeliveryState state);
/// The inverse of deliveryStateName; nullopt for anything else.
std::optional<DeliveryState> parseDeliveryState(std::string_view name);

/// One outbound message.
struct OutboundDelivery {
  std::string id;              // uuid, assigned by the caller
  std::string channelId;       // the running channel: "<provider>" or "<provider>:<accountId>"
  std::string accountId;       // the account to send from; empty = the channel's default
  std::string peerKind;        // "direct" | "group" | "channel" (routing::peerKindName)
  std::string peerId;          // the channel's id of the peer
  std::string threadId;        // empty: none
  std::string text;            // the whole message
  std::string runId;           // the run that produced it; empty for `send`
  std::string idempotencyKey;  // the client's key (`send`); empty for replies. Unique per channelId.
  /// The longest part the channel takes, in code points: the text is sent as
  /// reply_splitter's split(text, chunkLimit), a deterministic function, so a resumed delivery sends
  /// exactly the parts not yet confirmed.
  int64_t chunkLimit = 0;
  int64_t partsTotal = 1;  // parts of the split text
  int64_t partsSent = 0;   // parts the channel confirmed, in order
  DeliveryState state = DeliveryState::kPending;
  int64_t attempts = 0;         // failed attempts so far (a confirmed part does not count)
  int64_t nextAttemptAtMs = 0;  // when the next attempt is due, ms since epoch (pending only)
  std::string lastError;        // the last failure, one line (never a credential)
  int64_t createdAtMs = 0;
  int64_t sentAtMs = 0;  // when the last part was confirmed; 0 until sent

  bool operator==(const OutboundDelivery&) const = default;
};

/// Reads and writes of the outbox. A view over a Store (cheap to copy; the store must outlive it).
/// Reads: any thread; each sees every write whose commit was reported before it began.
class OutboundRepository {
 public:
  explicit OutboundRepository(Store& store) : store_(&store) {}

  /// Adds to `batch`: insert `delivery` (state pending). When it carries an idempotencyKey already stored
  /// for its channelId, nothing is inserted and `out` receives the stored row; otherwise `out` receives
  /// `delivery` as inserted. `out` (not null) is filled when the batch is applied. Required: id,
  /// channelId, peerId, chunkLimit ≥ 1, partsTotal ≥ 1 (kInvalidArgument); an id already used:
  /// kAlreadyExists.
  static void enqueue(WriteBatch& batch, OutboundDelivery delivery, std::shared_ptr<OutboundDelivery> out);
  /// Adds to `batch`: store the progress of delivery `id` (state, attempts, partsSent, nextAttemptAtMs,
  /// lastError, sentAtMs as in `delivery`; the other fields are immutable). Errors: kNotFound when no
  /// such row exists.
  static void update(WriteBatch& batch, const OutboundDelivery& delivery);

  /// The delivery `id`, or nullopt. Errors: kFailedPrecondition after Store::close(), kIo.
  Result<std::optional<OutboundDelivery>> get(const std::string& id) const;
  /// Deliveries, newest first, optionally of one state; at most `limit` (≥ 1). Errors: as get().
  Result<std::vector<OutboundDelivery>> list(std::optional<DeliveryState> state, int64_t limit) const;
  /// Every pending delivery, oldest first (what a start resumes). Errors: as get().
  Result<std::vector<OutboundDelivery>> pending() const;

 private:
  Store* store_;
};

}  // namespace talon::store
