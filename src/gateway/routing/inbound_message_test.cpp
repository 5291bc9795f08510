// The peer a delivery target's `to` names.
#include "gateway/routing/inbound_message.h"

#include <gtest/gtest.h>

namespace talon::gateway::routing {
namespace {

void expectPeerTarget(std::string_view to, PeerKind kind, std::string_view id) {
  Peer p = parsePeerTarget(to);
  EXPECT_EQ(p.kind, kind) << to;
  EXPECT_EQ(p.id, id) << to;
}

TEST(ParsePeerTargetTest, KindPrefixesNameTheKindAndTheRestIsTheId) {
  expectPeerTarget("user:alice", PeerKind::kDirect, "alice");
  expectPeerTarget("dm:alice", PeerKind::kDirect, "alice");
  expectPeerTarget("direct:alice", PeerKind::kDirect, "alice");
  expectPeerTarget("group:ops", PeerKind::kGroup, "ops");
  expectPeerTarget("channel:#general", PeerKind::kChannel, "#general");
  expectPeerTarget("group:a:b", PeerKind::kGroup, "a:b");  // only the first prefix is the kind
}

TEST(ParsePeerTargetTest, AnythingElseIsADirectPeerWithTheWholeText) {
  expectPeerTarget("alice", PeerKind::kDirect, "alice");
  expectPeerTarget("+15551234567", PeerKind::kDirect, "+15551234567");
  expectPeerTarget("group:", PeerKind::kDirect, "group:");  // a prefix with no id is not a kind
  expectPeerTarget("team:x", PeerKind::kDirect, "team:x");  // an unknown prefix stays in the id
}

}  // namespace
}  // namespace talon::gateway::routing
