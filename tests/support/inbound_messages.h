#pragma once
// Inbound messages and channel statuses as the channel tests build and search them.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/channels/channel_manager.h"
#include "gateway/routing/inbound_message.h"

namespace talon::testing {

/// A direct (one-to-one) message from `peer` saying `text`; the sender is the peer.
inline gateway::routing::InboundMessage directMessage(std::string peer, std::string text) {
  gateway::routing::InboundMessage m;
  m.peer = gateway::routing::Peer{gateway::routing::PeerKind::kDirect, peer};
  m.sender = std::move(peer);
  m.text = std::move(text);
  return m;
}

/// The status of account `accountId` in `all`, or nullptr.
inline const gateway::channels::AccountStatus* findAccount(const std::vector<gateway::channels::AccountStatus>& all,
                                                           std::string_view accountId) {
  for (const auto& a : all) {
    if (a.accountId == accountId) return &a;
  }
  return nullptr;
}

}  // namespace talon::testing
