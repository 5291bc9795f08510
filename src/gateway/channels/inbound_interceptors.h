#pragma once
// A hook on the inbound path (ARCHITECTURE.md "The path of a message", before step 2): components that
// wait for a message of their own on a channel — a channel probe's echo (docs/probes.md) — register an
// interceptor here, and the InboundRouter offers every inbound message to the interceptors before the
// access gate. A message an interceptor consumes goes no further: it is not checked by the gate, not
// routed to an agent, starts no turn and is stored nowhere; it is counted as
// talon_channel_messages_total{outcome="intercepted"}. Every other message takes the normal path.
//
// Thread rules: every member may be called from any thread. Interceptors are called on the channel's
// thread without a lock held, so they must be quick and must not block; remove() does not wait for a
// call in progress, so an interceptor must not capture anything that may be gone by then (capture a
// weak_ptr).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "gateway/routing/inbound_message.h"

namespace talon::gateway::channels {

/// Looks at one inbound message of channel `channelId` ("<provider>:<accountId>"; `message.channel` and
/// `message.accountId` are set); returns true to consume it.
using InboundInterceptor = std::function<bool(std::string_view channelId, const routing::InboundMessage& message)>;

class InboundInterceptors {
 public:
  /// Registers `interceptor` (non-empty); returns the id remove() takes.
  uint64_t add(InboundInterceptor interceptor);
  /// Unregisters interceptor `id`; unknown ids are ignored.
  void remove(uint64_t id);
  /// Offers `message` to the interceptors in registration order; true when one consumed it (the later
  /// ones are not asked).
  bool intercept(std::string_view channelId, const routing::InboundMessage& message) const;

 private:
  struct Entry {
    uint64_t id = 0;
    InboundInterceptor interceptor;
  };
  using List = std::vector<Entry>;
  mutable std::mutex mu_;
  uint64_t next_ = 0;
  // Replaced (never changed in place) on add/remove, so intercept() calls a snapshot without the lock.
  std::shared_ptr<const List> list_ = std::make_shared<const List>();
};

}  // namespace talon::gateway::channels
