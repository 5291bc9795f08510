#include "gateway/channels/inbound_interceptors.h"

#include <algorithm>
#include <cassert>

namespace talon::gateway::channels {

uint64_t InboundInterceptors::add(InboundInterceptor interceptor) {
  assert(interceptor);
  std::lock_guard lock(mu_);
  auto next = std::make_shared<List>(*list_);
  next->push_back(Entry{++next_, std::move(interceptor)});
  list_ = std::move(next);
  return next_;
}

void InboundInterceptors::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<List>(*list_);
  next->erase(std::remove_if(next->begin(), next->end(), [id](const Entry& e) { return e.id == id; }), next->end());
  list_ = std::move(next);
}

bool InboundInterceptors::intercept(std::string_view channelId, const routing::InboundMessage& message) const {
  std::shared_ptr<const List> list;
  {
    std::lock_guard lock(mu_);
    list = list_;
  }
  return std::any_of(list->begin(), list->end(), [&](const Entry& e) { return e.interceptor(channelId, message); });
}

}  // namespace talon::gateway::channels
