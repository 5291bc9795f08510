#include "gateway/channels/outbound_dispatcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "base/ids.h"
#include "base/json.h"
#include "gateway/channels/reply_splitter.h"

namespace talon::gateway::channels {

namespace {

constexpr health::MetricSpec kOutboundMetrics[] = {
    {"talon_channel_deliveries_total",
     health::MetricType::kCounter,
     "Outbound channel deliveries (the outbox), by channel and outcome: sent (confirmed), retried (an attempt "
     "failed, a retry is scheduled), failed (given up).",
     {"channel", "outcome"}},
};

std::string component(std::string_view channelId) { return "channel:" + std::string(channelId); }

}  // namespace

std::chrono::milliseconds outboundRetryDelay(const OutboundPolicy& policy, int64_t attempts, double unit) {
  const double n = static_cast<double>(std::max<int64_t>(attempts, 1) - 1);
  double base = static_cast<double>(policy.initialDelay.count()) * std::pow(policy.factor, n);
  base = std::min(base, static_cast<double>(policy.maxDelay.count()));
  const double u = std::clamp(unit, 0.0, 1.0);
  const double delay = base * (1.0 + policy.jitter * (2.0 * u - 1.0));
  return std::chrono::milliseconds(std::max<int64_t>(1, static_cast<int64_t>(std::llround(delay))));
}

struct OutboundDispatcher::Impl : std::enable_shared_from_this<Impl> {
  /// One delivery this process is working on.
  struct Entry {
    store::OutboundDelivery row;
    Callback firstAttempt;
    Callback settled;
    TimerHandlePtr timer;
  };
  using EntryPtr = std::shared_ptr<Entry>;

  Impl(store::Store& store, health::MetricFamily& deliveries, health::HealthRegistry& health, EventBus& bus,
       Executors executors, ClockPtr clock, std::function<Channel*(std::string_view)> findChannel,
       OutboundPolicy policy)
      : store_(store),
        deliveries_(deliveries),
        health_(health),
        bus_(bus),
        ex_(std::move(executors)),
        clock_(std::move(clock)),
        findChannel_(std::move(findChannel)),
        policy_(policy),
        rng_(policy.seed) {}

  store::Store& store_;
  health::MetricFamily& deliveries_;
  health::HealthRegistry& health_;
  EventBus& bus_;
  Executors ex_;
  ClockPtr clock_;
  std::function<Channel*(std::string_view)> findChannel_;
  const OutboundPolicy policy_;

  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  bool stopped_ = false;
  std::map<std::string, EntryPtr> active_;
  std::map<std::string, int64_t, std::less<>> failedByChannel_;  // deliveries failed for good, per channel

  bool stopped() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }

  void count(std::string_view channelId, std::string_view outcome) {
    if (auto c = deliveries_.counter({channelId, outcome})) c->inc();
  }

  /// Runs `task` on io unless stopped.
  void post(std::function<void()> task) {
    auto self = shared_from_this();
    ex_.io([self, task = std::move(task)] {
      if (!self->stopped()) task();
    });
  }

  static void report(Callback& cb, Result<store::OutboundDelivery> r) {
    if (!cb) return;
    auto fn = std::move(cb);
    cb = nullptr;
    fn(std::move(r));
  }

  void deliver(std::string channelId, OutboundMessage message, std::string idempotencyKey, Callback first,
               Callback settled) {
    if (message.text.empty() || message.peer.id.empty() || channelId.empty()) {
      report(first, fail(ErrorCode::kInvalidArgument, "an outbound message needs a channel, a peer and text",
                         "text, channel and target are required"));
      return;
    }
    Channel* channel = findChannel_(channelId);
    const std::size_t limit =
        std::max<std::size_t>(1, channel ? channel->capabilities().maxTextChars : kDefaultTextChunkLimit);
    store::OutboundDelivery row;
    row.id = newUuid();
    row.channelId = std::move(channelId);
    row.accountId = message.accountId;
    row.peerKind = std::string(routing::peerKindName(message.peer.kind));
    row.peerId = message.peer.id;
    row.threadId = message.threadId.value_or("");
    row.runId = message.runId;
    row.idempotencyKey = std::move(idempotencyKey);
    row.chunkLimit = static_cast<int64_t>(limit);
    row.partsTotal = std::max<int64_t>(1, static_cast<int64_t>(splitReply(message.text, limit).size()));
    row.text = std::move(message.text);
    row.createdAtMs = clock_->nowMs();
    row.nextAttemptAtMs = row.createdAtMs;
    auto entry = std::make_shared<Entry>(Entry{row, std::move(first), std::move(settled), nullptr});
    auto out = std::make_shared<store::OutboundDelivery>();
    store::WriteBatch batch;
    store::OutboundRepository::enqueue(batch, std::move(row), out);
    auto self = shared_from_this();
    store_.submit(std::move(batch), [self, entry, out](Status committed) {
      // The writer thread: hop to io (callbacks there must not hold up later commits).
      self->ex_.io([self, entry, out, committed = std::move(committed)]() mutable {
        self->stored(entry, *out, std::move(committed));
      });
    });
  }

  void stored(const EntryPtr& e, const store::OutboundDelivery& row, Status committed) {
    if (!committed) {
      spdlog::error("channel {}: a message to {} could not be stored in the outbox, so it is not sent: {}",
                    e->row.channelId, e->row.peerId, committed.error().toString());
      report(e->firstAttempt, fail(committed.error()));
      return;
    }
    if (row.id != e->row.id) {  // the idempotencyKey was used before: that delivery stands
      report(e->firstAttempt, row);
      if (row.state != store::DeliveryState::kPending) report(e->settled, row);
      return;
    }
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;  // stays pending in the store; the next start resumes it
      active_[e->row.id] = e;
    }
    attempt(e);
  }

  /// Sends the next unconfirmed part of `e` (io).
  void attempt(const EntryPtr& e) {
    if (stopped()) return;
    Channel* channel = findChannel_(e->row.channelId);
    if (!channel) {
      failed(e, Error(ErrorCode::kUnavailable, "channel " + e->row.channelId + " is not running",
                      "the channel is not running"));
      return;
    }
    auto parts = splitReply(e->row.text, static_cast<std::size_t>(e->row.chunkLimit));
    if (static_cast<int64_t>(parts.size()) <= e->row.partsSent) {  // nothing left (cannot happen for a stored row)
      confirmed(e, static_cast<int64_t>(parts.size()));
      return;
    }
    OutboundMessage m;
    m.accountId = e->row.accountId;
    m.peer = routing::Peer{routing::parsePeerKind(e->row.peerKind).value_or(routing::PeerKind::kDirect), e->row.peerId};
    if (!e->row.threadId.empty()) m.threadId = e->row.threadId;
    m.text = std::move(parts[static_cast<std::size_t>(e->row.partsSent)]);
    m.runId = e->row.runId;
    auto self = shared_from_this();
    channel->send(std::move(m), [self, e](Status sent) {
      self->post([self, e, sent = std::move(sent)] {
        if (sent) {
          self->confirmed(e, e->row.partsSent + 1);
        } else {
          self->failed(e, sent.error());
        }
      });
    });
  }

  /// The channel confirmed the parts up to `partsSent` (io).
  void confirmed(const EntryPtr& e, int64_t partsSent) {
    e->row.partsSent = std::min(partsSent, e->row.partsTotal);
    const bool done = e->row.partsSent >= e->row.partsTotal;
    if (done) {
      e->row.state = store::DeliveryState::kSent;
      e->row.sentAtMs = clock_->nowMs();
      e->row.nextAttemptAtMs = 0;
    }
    auto self = shared_from_this();
    write(e, [self, e, done] {
      if (!done) return self->attempt(e);  // the next part, after this one's progress is durable
      self->count(e->row.channelId, "sent");
      self->channelRecovered(e->row.channelId);
      self->finish(e);
    });
  }

  /// An attempt failed (io): retry later, or give up when a bound is reached.
  void failed(const EntryPtr& e, const Error& error) {
    auto& row = e->row;
    row.attempts++;
    row.lastError = fmt::format("{}: {}", errorCodeName(error.code), error.message);
    const int64_t now = clock_->nowMs();
    const bool tooOld = now - row.createdAtMs >= policy_.maxAge.count();
    if (row.attempts >= policy_.maxAttempts || tooOld) {
      row.state = store::DeliveryState::kFailed;
      row.nextAttemptAtMs = 0;
      auto self = shared_from_this();
      write(e, [self, e, tooOld] { self->gaveUp(e, tooOld); });
      return;
    }
    double unit;
    {
      std::lock_guard lock(mu_);
      unit = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    }
    const auto delay = outboundRetryDelay(policy_, row.attempts, unit);
    row.nextAttemptAtMs = now + delay.count();
    spdlog::warn("channel {}: delivery {} to {} failed (attempt {} of {}), retrying in {} ms: {}", row.channelId,
                 row.id, row.peerId, row.attempts, policy_.maxAttempts, delay.count(), row.lastError);
    auto self = shared_from_this();
    write(e, [self, e, delay] {
      self->count(e->row.channelId, "retried");
      report(e->firstAttempt, e->row);
      schedule(self, e, delay);
    });
  }

  static void schedule(const std::shared_ptr<Impl>& self, const EntryPtr& e, std::chrono::milliseconds delay) {
    std::weak_ptr<Impl> weak = self;
    auto timer = self->ex_.after(delay, [weak, e] {
      if (auto s = weak.lock()) s->post([s, e] { s->attempt(e); });
    });
    std::lock_guard lock(self->mu_);
    e->timer = std::move(timer);
  }

  /// The final failure: visible everywhere (see the header).
  void gaveUp(const EntryPtr& e, bool tooOld) {
    const auto& row = e->row;
    const std::string reason =
        tooOld ? fmt::format("older than {} ms", policy_.maxAge.count()) : fmt::format("{} attempts", row.attempts);
    spdlog::error("channel {}: delivery {} to {} {} failed for good after {}: {}", row.channelId, row.id, row.peerKind,
                  row.peerId, reason, row.lastError);
    count(row.channelId, "failed");
    int64_t failedCount;
    {
      std::lock_guard lock(mu_);
      failedCount = ++failedByChannel_[row.channelId];
    }
    health_.set({component(row.channelId), "delivery", health::HealthState::kDegraded,
                 fmt::format("{} deliveries failed; last: {}", failedCount, row.lastError), false});
    json::object payload{
        {"deliveryId", row.id},         {"channel", row.channelId},
        {"accountId", row.accountId},   {"peer", json::object{{"kind", row.peerKind}, {"id", row.peerId}}},
        {"runId", row.runId},           {"state", "failed"},
        {"attempts", row.attempts},     {"error", row.lastError},
        {"createdAt", row.createdAtMs}, {"ts", clock_->nowMs()}};
    bus_.publish(GatewayEvent{
        "channel.delivery.failed", {}, row.runId, std::make_shared<const std::string>(json::serialize(payload))});
    finish(e);
  }

  void channelRecovered(const std::string& channelId) {
    {
      std::lock_guard lock(mu_);
      if (!failedByChannel_.count(channelId)) return;
    }
    health_.set({component(channelId), "delivery", health::HealthState::kOk, "", false});
  }

  void finish(const EntryPtr& e) {
    {
      std::lock_guard lock(mu_);
      active_.erase(e->row.id);
    }
    report(e->firstAttempt, e->row);
    report(e->settled, e->row);
  }

  /// Stores the row's progress, then runs `next` on io. A failed write is logged and the delivery goes on
  /// (its row stays as it was; at worst a restart sends a confirmed part again).
  void write(const EntryPtr& e, std::function<void()> next) {
    store::WriteBatch batch;
    store::OutboundRepository::update(batch, e->row);
    auto self = shared_from_this();
    store_.submit(std::move(batch), [self, e, next = std::move(next)](Status committed) mutable {
      if (!committed) {
        spdlog::error("channel {}: the outbox row of delivery {} could not be updated: {}", e->row.channelId, e->row.id,
                      committed.error().toString());
      }
      self->post(std::move(next));
    });
  }

  Result<std::size_t> resume() {
    auto rows = store_.outbound().pending();
    if (!rows) return fail(rows.error());
    std::size_t resumed = 0;
    const int64_t now = clock_->nowMs();
    auto self = shared_from_this();
    for (auto& row : *rows) {
      auto e = std::make_shared<Entry>(Entry{std::move(row), nullptr, nullptr, nullptr});
      {
        std::lock_guard lock(mu_);
        if (stopped_ || active_.count(e->row.id)) continue;
        active_[e->row.id] = e;
      }
      ++resumed;
      const int64_t wait = std::max<int64_t>(0, e->row.nextAttemptAtMs - now);
      spdlog::info("channel {}: resuming delivery {} to {} (part {} of {}, {} failed attempts)", e->row.channelId,
                   e->row.id, e->row.peerId, e->row.partsSent + 1, e->row.partsTotal, e->row.attempts);
      if (wait == 0) {
        post([self, e] { self->attempt(e); });
      } else {
        schedule(self, e, std::chrono::milliseconds(wait));
      }
    }
    return resumed;
  }

  void stop() {
    std::map<std::string, EntryPtr> active;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      active.swap(active_);
    }
    for (auto& [id, e] : active) {
      TimerHandlePtr timer;
      {
        std::lock_guard lock(mu_);
        timer = e->timer;
      }
      if (timer) timer->cancel();
    }
  }
};

Result<std::unique_ptr<OutboundDispatcher>> OutboundDispatcher::create(
    store::Store& store, health::MetricsRegistry& metrics, health::HealthRegistry& health, EventBus& bus,
    Executors executors, ClockPtr clock, std::function<Channel*(std::string_view)> findChannel, OutboundPolicy policy) {
  if (policy.maxAttempts < 1 || policy.factor < 1.0 || policy.jitter < 0.0 || policy.jitter >= 1.0 ||
      policy.initialDelay.count() <= 0 || policy.maxDelay.count() <= 0 || policy.maxAge.count() <= 0) {
    return fail(ErrorCode::kInvalidArgument, "outbound policy out of range");
  }
  if (!executors.io || !executors.after) {
    return fail(ErrorCode::kInvalidArgument, "the outbound dispatcher needs the io and after executors");
  }
  // A dispatcher created again over the same registry (a restart in process) counts on in the same family.
  health::MetricFamily* family = metrics.find(kOutboundMetrics[0].name);
  if (!family) {
    auto families = metrics.add(kOutboundMetrics);
    if (!families) return fail(families.error());
    family = (*families)[0];
  }
  auto impl = std::make_shared<Impl>(store, *family, health, bus, std::move(executors), std::move(clock),
                                     std::move(findChannel), policy);
  return std::unique_ptr<OutboundDispatcher>(new OutboundDispatcher(std::move(impl)));
}

OutboundDispatcher::OutboundDispatcher(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

OutboundDispatcher::~OutboundDispatcher() { impl_->stop(); }

void OutboundDispatcher::deliver(std::string channelId, OutboundMessage message, std::string idempotencyKey,
                                 Callback firstAttempt, Callback settled) {
  impl_->deliver(std::move(channelId), std::move(message), std::move(idempotencyKey), std::move(firstAttempt),
                 std::move(settled));
}

Result<std::size_t> OutboundDispatcher::resumePending() { return impl_->resume(); }

void OutboundDispatcher::stop() { impl_->stop(); }

std::size_t OutboundDispatcher::activeCount() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->active_.size();
}

}  // namespace talon::gateway::channels
