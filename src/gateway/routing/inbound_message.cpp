#include "gateway/routing/inbound_message.h"

#include <utility>

#include "gateway/routing/id_normalization.h"

namespace talon::gateway::routing {

std::string_view peerKindName(PeerKind kind) {
  switch (kind) {
    case PeerKind::kDirect:
      return "direct";
    case PeerKind::kGroup:
      return "group";
    case PeerKind::kChannel:
      return "channel";
  }
  return "direct";
}

std::optional<PeerKind> parsePeerKind(std::string_view raw) {
  std::string v = trimLower(raw);
  if (v == "direct" || v == "dm") return PeerKind::kDirect;
  if (v == "group") return PeerKind::kGroup;
  if (v == "channel") return PeerKind::kChannel;
  return std::nullopt;
}

Peer parsePeerTarget(std::string_view to) {
  static constexpr std::pair<std::string_view, PeerKind> kPrefixes[] = {
      {"user:", PeerKind::kDirect}, {"dm:", PeerKind::kDirect},       {"direct:", PeerKind::kDirect},
      {"group:", PeerKind::kGroup}, {"channel:", PeerKind::kChannel},
  };
  for (const auto& [prefix, kind] : kPrefixes) {
    if (to.size() > prefix.size() && to.substr(0, prefix.size()) == prefix) {
      return Peer{kind, std::string(to.substr(prefix.size()))};
    }
  }
  return Peer{PeerKind::kDirect, std::string(to)};
}

}  // namespace talon::gateway::routing
