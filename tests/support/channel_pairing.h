#pragma once
// The operator's half of DM pairing in channel tests: the code in the access gate's pairing reply
// (routing::AccessGate::pairingReply), and its approval as `talon pairing approve <channel> <code>` makes it
// (channels.pairing.approve writes the same store::ChannelPairingRepository::approveCode). Test code only.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "store/channel_pairing_repository.h"
#include "store/store.h"

namespace talon::testing {

/// The pairing code in `reply` ("Pairing code:\n```\n<code>\n```"), or "" when it has none.
inline std::string pairingCodeIn(std::string_view reply) {
  constexpr std::string_view kMarker = "Pairing code:\n```\n";
  auto at = reply.find(kMarker);
  if (at == std::string_view::npos) return "";
  auto code = reply.substr(at + kMarker.size());
  return std::string(code.substr(0, code.find('\n')));
}

/// Approves the pending request with `code` on `channel` (the default account) at `nowMs`. Returns the
/// approved sender id, or nullopt when no pending request had the code or the write failed.
inline std::optional<std::string> approvePairing(store::Store& store, std::string_view channel, std::string_view code,
                                                 int64_t nowMs) {
  auto approved = std::make_shared<std::optional<store::ChannelPairingRequest>>();
  store::WriteBatch batch;
  store::ChannelPairingRepository::approveCode(batch, std::string(code), std::string(channel), std::nullopt, nowMs,
                                               approved);
  if (!store.write(std::move(batch)) || !*approved) return std::nullopt;
  return (*approved)->senderId;
}

}  // namespace talon::testing
