#pragma once
// DM pairing of channel senders (OpenClaw docs/channels/pairing.md; dist `pairing-store`): under
// `dmPolicy: "pairing"` an unknown sender gets a pending request with an 8-character code; an operator
// approves the code, which moves the sender into the account's allow store. Tables (as OpenClaw names
// them in its state database): channel_pairing_requests (pending, expire after 1 h, at most 3 per
// channel account) and channel_pairing_allow_entries (approved senders, per channel and account).
// Account ids are stored as given: callers pass them normalised (gateway/routing/id_normalization.h).
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

/// A pending request expires this long after it was created, ms (OpenClaw CHANNEL_PAIRING_PENDING_TTL_MS).
inline constexpr int64_t kChannelPairingTtlMs = 3600000;
/// At most this many pending requests per channel account; further senders get no code until one
/// expires or is approved (OpenClaw: "additional requests are ignored").
inline constexpr int64_t kChannelPairingMaxPendingPerAccount = 3;
/// Code length and alphabet: upper-case, without the ambiguous 0, O, 1, I (OpenClaw PAIRING_CODE_ALPHABET).
inline constexpr std::size_t kChannelPairingCodeLength = 8;
inline constexpr std::string_view kChannelPairingCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// One pending request.
struct ChannelPairingRequest {
  std::string channel;    // "telegram", "loopback", ...
  std::string accountId;  // normalised
  std::string senderId;   // the sender's id on the channel
  std::string code;       // kChannelPairingCodeLength characters of kChannelPairingCodeAlphabet
  int64_t createdAtMs = 0;
  int64_t lastSeenAtMs = 0;  // the last message from the sender while pending
  int64_t expiresAtMs() const { return createdAtMs + kChannelPairingTtlMs; }
};

/// What requestPairing() did, filled when its batch commits.
struct ChannelPairingOutcome {
  /// The sender's code (new or already pending); empty when the account already has the maximum of
  /// pending requests.
  std::string code;
  /// True when a new request was created: only then is the sender sent the code (OpenClaw sends the
  /// pairing message once per request, not on every message).
  bool created = false;
};

/// An approved sender.
struct ChannelAllowEntry {
  std::string channel;
  std::string accountId;
  std::string senderId;
  int64_t approvedAtMs = 0;
};

/// Reads and writes of channel pairing state. A view over a Store (cheap to copy; the store must
/// outlive it). Reads: any thread; each sees every write whose commit was reported before it began.
class ChannelPairingRepository {
 public:
  explicit ChannelPairingRepository(Store& store) : store_(&store) {}

  /// Adds to `batch`: drop expired requests; if `senderId` has a pending request on the account, keep
  /// its code and update lastSeenAtMs; else, unless the account has kChannelPairingMaxPendingPerAccount
  /// pending, create one with a fresh code unique among pending codes. `out` (not null) is filled when
  /// the batch is applied. Required: channel, accountId, senderId (kInvalidArgument).
  static void requestPairing(WriteBatch& batch, std::string channel, std::string accountId, std::string senderId,
                             int64_t nowMs, std::shared_ptr<ChannelPairingOutcome> out);
  /// Adds to `batch`: find the unexpired pending request with `code` (case-insensitive; restricted to
  /// `channel` / `accountId` when given), delete it and add its sender to the account's allow entries.
  /// `out` (not null) receives the approved request, or stays empty when no pending request has the code
  /// (that is not an error: the batch still commits the pruning of expired requests).
  static void approveCode(WriteBatch& batch, std::string code, std::optional<std::string> channel,
                          std::optional<std::string> accountId, int64_t nowMs,
                          std::shared_ptr<std::optional<ChannelPairingRequest>> out);

  /// Unexpired pending requests at `nowMs`, oldest first, optionally of one channel and/or account.
  /// Errors: kFailedPrecondition after Store::close(), kIo for database failures.
  Result<std::vector<ChannelPairingRequest>> listPending(const std::optional<std::string>& channel,
                                                         const std::optional<std::string>& accountId,
                                                         int64_t nowMs) const;
  /// True when `senderId` is an approved sender of the channel account. Errors: as listPending().
  Result<bool> isAllowed(const std::string& channel, const std::string& accountId, const std::string& senderId) const;
  /// The approved senders, by channel, account and approval time; optionally of one channel.
  /// Errors: as listPending().
  Result<std::vector<ChannelAllowEntry>> listAllowed(const std::optional<std::string>& channel) const;

 private:
  Store* store_;
};

}  // namespace talon::store
