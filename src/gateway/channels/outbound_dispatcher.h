#pragma once
// Durable outbound delivery (ARCHITECTURE.md "The path of a message", step 5): every message the gateway
// sends on a channel — a run's reply, a `send` request, a pairing code is not one (it is sent once, at
// once) — is stored in the outbox (store/outbound_repository.h) BEFORE it is handed to the channel, and
// retried with jittered exponential backoff until the channel confirms it or a bound is reached. A
// message longer than the channel takes (ChannelCapabilities::maxTextChars) is split (reply_splitter.h)
// and its parts are sent in order, each confirmed part recorded, so a retry or a restart never sends a
// confirmed part again.
//
// A delivery that fails for good is never a silent drop: it is an error log line, a count in
// talon_channel_deliveries_total{channel,outcome="failed"}, the health record
// (component "channel:<channelId>", dimension "delivery") turned degraded with the reason (back to ok
// when a later delivery on the channel is confirmed), and a `channel.delivery.failed` event on the bus.
// Pending deliveries left by a crash are resumed by resumePending() at start.
//
// Thread rules: every public member may be called from any thread. The work runs on `executors.io`
// (never blocking: store writes are submitted, their commits and the channels' confirmations hop back to
// io), timers on `executors.after`. Callbacks run on an io thread and must not block. The channels found
// through `findChannel` and the store, registries and bus outlive the dispatcher; callbacks that arrive
// after stop() do nothing.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/error.h"
#include "gateway/channels/channel.h"
#include "gateway/event_bus.h"
#include "gateway/executors.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"
#include "store/outbound_repository.h"
#include "store/store.h"

namespace talon::gateway::channels {

/// How the outbox retries. Talon's policy (OpenClaw's delivery queue has no equivalent setting): the
/// delay before retry n (n = failed attempts so far, from 1) is initialDelay·factor^(n-1), capped at
/// maxDelay, drawn uniformly from ±jitter around it; a delivery fails for good after maxAttempts failed
/// attempts or, at a failed attempt, when it is older than maxAge. With the defaults: about 1, 2, 4, …
/// 64 s, eight attempts within about two minutes.
struct OutboundPolicy {
  int maxAttempts = 8;
  std::chrono::milliseconds maxAge{3'600'000};
  std::chrono::milliseconds initialDelay{1000};
  std::chrono::milliseconds maxDelay{300'000};
  double factor = 2.0;
  double jitter = 0.2;
  /// Seeds the jitter (tests fix it).
  uint64_t seed = std::random_device{}();
};

/// The delay before the retry that follows `attempts` failed attempts (≥ 1), with `unit` in [0, 1]
/// picking the point in the jitter band (0.5 = no jitter). Pure.
std::chrono::milliseconds outboundRetryDelay(const OutboundPolicy& policy, int64_t attempts, double unit);

/// The default part size for a channel that is not running when a message is stored, in code points.
inline constexpr std::size_t kDefaultTextChunkLimit = 4000;

class OutboundDispatcher {
 public:
  /// Called with the stored row (its state says what happened), or the error that kept it from being
  /// stored (kInvalidArgument for an empty text or peer, the store's errors).
  using Callback = std::function<void(Result<store::OutboundDelivery>)>;

  /// Registers talon_channel_deliveries_total{channel,outcome} (outcome "sent" | "retried" | "failed")
  /// in `metrics` (a dispatcher created again over the same registry counts on in the registered family). `findChannel`
  /// maps a channel id ("<provider>" or "<provider>:<accountId>") to the running channel, or nullptr (an attempt then
  /// fails with kUnavailable and is retried). Errors: as MetricsRegistry::add; kInvalidArgument for a policy out of
  /// range (maxAttempts < 1, factor < 1, jitter outside [0, 1), a non-positive delay).
  static Result<std::unique_ptr<OutboundDispatcher>> create(store::Store& store, health::MetricsRegistry& metrics,
                                                            health::HealthRegistry& health, EventBus& bus,
                                                            Executors executors, ClockPtr clock,
                                                            std::function<Channel*(std::string_view)> findChannel,
                                                            OutboundPolicy policy = {});
  ~OutboundDispatcher();
  OutboundDispatcher(const OutboundDispatcher&) = delete;
  OutboundDispatcher& operator=(const OutboundDispatcher&) = delete;

  /// Stores `message` for `channelId`, then sends it. `idempotencyKey` (may be empty): a key already
  /// stored for the channel stores and sends nothing; both callbacks then see the stored row at once
  /// (`settled` only when that row is no longer pending). `firstAttempt` (optional) runs once: when
  /// the first attempt ended (state sent, pending with lastError and a retry scheduled, or failed) or
  /// the row could not be stored. `settled` (optional) runs once when the delivery is sent or failed
  /// for good (not when it could not be stored: firstAttempt has the error).
  void deliver(std::string channelId, OutboundMessage message, std::string idempotencyKey, Callback firstAttempt,
               Callback settled);

  /// Schedules every pending delivery of the store (those a previous process left), each at its
  /// nextAttemptAt (at once when that has passed). Call once at start, after the channels are known.
  /// Returns how many were resumed. Errors: the store's (reading the outbox).
  Result<std::size_t> resumePending();

  /// Cancels the retry timers; nothing is sent after it returns (pending rows stay pending in the
  /// store and are resumed at the next start). Idempotent.
  void stop();

  /// Deliveries in flight or waiting for a retry in this process.
  std::size_t activeCount() const;

 private:
  struct Impl;
  explicit OutboundDispatcher(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace talon::gateway::channels
