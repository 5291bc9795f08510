#include "store/outbound_repository.h"

#include <fmt/format.h>

#include <utility>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

#define TALON_OUTBOUND_COLUMNS                                                                              \
  "id, channel_id, account_id, peer_kind, peer_id, thread_id, text, run_id, idempotency_key, chunk_limit, " \
  "parts_total, parts_sent, state, attempts, next_attempt_at_ms, last_error, created_at_ms, sent_at_ms"

constexpr const char kInsert[] = "INSERT INTO outbound_deliveries (" TALON_OUTBOUND_COLUMNS
                                 ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                                 "?17, ?18)";
constexpr const char kFindKey[] =
    "SELECT " TALON_OUTBOUND_COLUMNS " FROM outbound_deliveries WHERE channel_id = ?1 AND idempotency_key = ?2";
constexpr const char kUpdate[] =
    "UPDATE outbound_deliveries SET state = ?2, attempts = ?3, parts_sent = ?4, next_attempt_at_ms = ?5, "
    "last_error = ?6, sent_at_ms = ?7 WHERE id = ?1";
constexpr const char kGet[] = "SELECT " TALON_OUTBOUND_COLUMNS " FROM outbound_deliveries WHERE id = ?1";
constexpr const char kList[] = "SELECT " TALON_OUTBOUND_COLUMNS
                               " FROM outbound_deliveries WHERE (?1 IS NULL OR state = ?1) "
                               "ORDER BY created_at_ms DESC, id DESC LIMIT ?2";
constexpr const char kPending[] =
    "SELECT " TALON_OUTBOUND_COLUMNS " FROM outbound_deliveries WHERE state = 'pending' ORDER BY created_at_ms, id";

#undef TALON_OUTBOUND_COLUMNS

OutboundDelivery readDelivery(const SQLite::Statement& q) {
  OutboundDelivery d;
  d.id = q.getColumn(0).getString();
  d.channelId = q.getColumn(1).getString();
  d.accountId = q.getColumn(2).getString();
  d.peerKind = q.getColumn(3).getString();
  d.peerId = q.getColumn(4).getString();
  d.threadId = q.getColumn(5).getString();
  d.text = q.getColumn(6).getString();
  d.runId = q.getColumn(7).getString();
  d.idempotencyKey = q.getColumn(8).getString();
  d.chunkLimit = q.getColumn(9).getInt64();
  d.partsTotal = q.getColumn(10).getInt64();
  d.partsSent = q.getColumn(11).getInt64();
  d.state = parseDeliveryState(q.getColumn(12).getString()).value_or(DeliveryState::kFailed);
  d.attempts = q.getColumn(13).getInt64();
  d.nextAttemptAtMs = q.getColumn(14).getInt64();
  d.lastError = q.getColumn(15).getString();
  d.createdAtMs = q.getColumn(16).getInt64();
  d.sentAtMs = q.getColumn(17).getInt64();
  return d;
}

class Enqueue final : public WriteOp {
 public:
  Enqueue(OutboundDelivery delivery, std::shared_ptr<OutboundDelivery> out)
      : delivery_(std::move(delivery)), out_(std::move(out)) {}

  Status validate() const override {
    if (delivery_.id.empty() || delivery_.channelId.empty() || delivery_.peerId.empty() || !out_) {
      return fail(ErrorCode::kInvalidArgument, "outbound delivery without id, channel, peer or outcome",
                  "invalid record");
    }
    if (delivery_.chunkLimit < 1 || delivery_.partsTotal < 1 || delivery_.partsSent < 0 ||
        delivery_.partsSent > delivery_.partsTotal) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("outbound delivery {}: chunk limit {}, parts {}/{}", delivery_.id, delivery_.chunkLimit,
                              delivery_.partsSent, delivery_.partsTotal),
                  "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    if (!delivery_.idempotencyKey.empty()) {
      SQLite::Statement& find = tx.statement(kFindKey);
      StatementReset reset(find);
      find.bind(1, delivery_.channelId);
      find.bind(2, delivery_.idempotencyKey);
      if (find.executeStep()) {
        *out_ = readDelivery(find);
        return {};
      }
    }
    SQLite::Statement& q = tx.statement(kInsert);
    const auto& d = delivery_;
    q.bind(1, d.id);
    q.bind(2, d.channelId);
    q.bind(3, d.accountId);
    q.bind(4, d.peerKind);
    q.bind(5, d.peerId);
    q.bind(6, d.threadId);
    q.bind(7, d.text);
    q.bind(8, d.runId);
    q.bind(9, d.idempotencyKey);
    q.bind(10, d.chunkLimit);
    q.bind(11, d.partsTotal);
    q.bind(12, d.partsSent);
    q.bind(13, std::string(deliveryStateName(d.state)));
    q.bind(14, d.attempts);
    q.bind(15, d.nextAttemptAtMs);
    q.bind(16, d.lastError);
    q.bind(17, d.createdAtMs);
    q.bind(18, d.sentAtMs);
    if (auto s = tx.run(q, [&] { return "outbound delivery " + d.id; }); !s) return s;
    *out_ = d;
    return {};
  }

 private:
  OutboundDelivery delivery_;
  std::shared_ptr<OutboundDelivery> out_;
};

class Update final : public WriteOp {
 public:
  explicit Update(OutboundDelivery delivery) : delivery_(std::move(delivery)) {}

  Status validate() const override {
    if (delivery_.id.empty()) return fail(ErrorCode::kInvalidArgument, "outbound delivery update without an id");
    if (delivery_.partsSent < 0 || delivery_.partsSent > delivery_.partsTotal) {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("outbound delivery {}: parts {}/{}", delivery_.id, delivery_.partsSent, delivery_.partsTotal),
          "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kUpdate);
    const auto& d = delivery_;
    q.bind(1, d.id);
    q.bind(2, std::string(deliveryStateName(d.state)));
    q.bind(3, d.attempts);
    q.bind(4, d.partsSent);
    q.bind(5, d.nextAttemptAtMs);
    q.bind(6, d.lastError);
    q.bind(7, d.sentAtMs);
    if (auto s = tx.run(q, [&] { return "outbound delivery " + d.id; }); !s) return s;
    if (tx.changes() == 0) {
      return fail(ErrorCode::kNotFound, "no outbound delivery " + d.id, "the delivery does not exist");
    }
    return {};
  }

 private:
  OutboundDelivery delivery_;
};

}  // namespace

std::string_view deliveryStateName(DeliveryState state) {
  switch (state) {
    case DeliveryState::kPending:
      return "pending";
    case DeliveryState::kSent:
      return "sent";
    case DeliveryState::kFailed:
      return "failed";
  }
  return "failed";
}

std::optional<DeliveryState> parseDeliveryState(std::string_view name) {
  if (name == "pending") return DeliveryState::kPending;
  if (name == "sent") return DeliveryState::kSent;
  if (name == "failed") return DeliveryState::kFailed;
  return std::nullopt;
}

void OutboundRepository::enqueue(WriteBatch& batch, OutboundDelivery delivery, std::shared_ptr<OutboundDelivery> out) {
  batch.emplace<Enqueue>(std::move(delivery), std::move(out));
}

void OutboundRepository::update(WriteBatch& batch, const OutboundDelivery& delivery) {
  batch.emplace<Update>(delivery);
}

Result<std::optional<OutboundDelivery>> OutboundRepository::get(const std::string& id) const {
  std::optional<OutboundDelivery> out;
  auto st = store_->read("reading an outbound delivery", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kGet);
    StatementReset reset(q);
    q.bind(1, id);
    if (q.executeStep()) out = readDelivery(q);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::vector<OutboundDelivery>> OutboundRepository::list(std::optional<DeliveryState> state,
                                                               int64_t limit) const {
  std::vector<OutboundDelivery> out;
  auto st = store_->read("listing outbound deliveries", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kList);
    StatementReset reset(q);
    if (state) {
      q.bind(1, std::string(deliveryStateName(*state)));
    } else {
      q.bind(1);  // NULL
    }
    q.bind(2, limit < 1 ? int64_t{1} : limit);
    while (q.executeStep()) out.push_back(readDelivery(q));
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::vector<OutboundDelivery>> OutboundRepository::pending() const {
  std::vector<OutboundDelivery> out;
  auto st = store_->read("listing pending outbound deliveries", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kPending);
    StatementReset reset(q);
    while (q.executeStep()) out.push_back(readDelivery(q));
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
