#include "gateway/routing/inbound_message.h"

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

}  // namespace talon::gateway::routing
