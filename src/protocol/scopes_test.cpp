#include "protocol/scopes.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace talon::protocol {
namespace {

const std::vector<Scope> kAll = {Scope::kRead,         Scope::kWrite,        Scope::kAdmin, Scope::kApprovals,
                                 Scope::kQuestions,    Scope::kPairing,      Scope::kTalk,  Scope::kTalkSecrets,
                                 Scope::kSessionsRead, Scope::kSessionsWrite};

TEST(Scopes, NamesRoundTrip) {
  for (Scope s : kAll) EXPECT_EQ(parseScope(scopeName(s)), s) << scopeName(s);
  EXPECT_EQ(scopeName(Scope::kTalkSecrets), "operator.talk.secrets");
  EXPECT_FALSE(parseScope("operator.root"));
  EXPECT_FALSE(parseScope("read"));
  EXPECT_FALSE(parseScope("OPERATOR.READ"));
}

TEST(Scopes, AdminImpliesEverything) {
  const auto admin = ScopeSet::of({Scope::kAdmin});
  for (Scope s : kAll) EXPECT_TRUE(admin.satisfies(s)) << scopeName(s);
}

TEST(Scopes, WriteImpliesReadTalkAndSessionScopesOnly) {
  const auto write = ScopeSet::of({Scope::kWrite});
  EXPECT_TRUE(write.satisfies(Scope::kWrite));
  EXPECT_TRUE(write.satisfies(Scope::kRead));
  EXPECT_TRUE(write.satisfies(Scope::kTalk));
  EXPECT_TRUE(write.satisfies(Scope::kSessionsRead));
  EXPECT_TRUE(write.satisfies(Scope::kSessionsWrite));
  EXPECT_FALSE(write.satisfies(Scope::kAdmin));
  EXPECT_FALSE(write.satisfies(Scope::kApprovals));
  EXPECT_FALSE(write.satisfies(Scope::kQuestions));
  EXPECT_FALSE(write.satisfies(Scope::kPairing));
  EXPECT_FALSE(write.satisfies(Scope::kTalkSecrets));
}

TEST(Scopes, ReadImpliesOnlySessionsRead) {
  const auto read = ScopeSet::of({Scope::kRead});
  for (Scope s : kAll) {
    const bool expected = s == Scope::kRead || s == Scope::kSessionsRead;
    EXPECT_EQ(read.satisfies(s), expected) << scopeName(s);
  }
}

TEST(Scopes, NarrowScopesImplyNothingElse) {
  for (Scope granted : {Scope::kApprovals, Scope::kQuestions, Scope::kPairing, Scope::kTalk, Scope::kTalkSecrets}) {
    const auto set = ScopeSet::of({granted});
    for (Scope s : kAll) EXPECT_EQ(set.satisfies(s), s == granted) << scopeName(granted) << " vs " << scopeName(s);
  }
}

TEST(Scopes, EmptySetSatisfiesNothing) {
  const ScopeSet none;
  EXPECT_TRUE(none.empty());
  for (Scope s : kAll) EXPECT_FALSE(none.satisfies(s));
}

TEST(Scopes, FromNamesIgnoresUnknownStrings) {
  const std::vector<std::string> names = {"operator.read", "operator.bogus", "node.x", "operator.pairing"};
  EXPECT_EQ(ScopeSet::fromNames(names), ScopeSet::of({Scope::kRead, Scope::kPairing}));
}

struct GrantCase {
  const char* name;
  bool loopback;
  bool sharedSecret;
  const char* clientId;
  ClientMode mode;
  bool keepsRequested;
};

void PrintTo(const GrantCase& c, std::ostream* os) { *os << c.name; }

class ScopeGrant : public ::testing::TestWithParam<GrantCase> {};

TEST_P(ScopeGrant, Rule) {
  const GrantCase& c = GetParam();
  const std::vector<std::string> requested = {"operator.admin", "operator.read", "operator.write"};
  const auto granted = grantScopes({.isLoopback = c.loopback,
                                    .sharedSecretAuth = c.sharedSecret,
                                    .clientId = c.clientId,
                                    .clientMode = c.mode,
                                    .requested = requested});
  if (c.keepsRequested) {
    EXPECT_EQ(granted, requested);
  } else {
    EXPECT_TRUE(granted.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ScopeGrant,
    ::testing::Values(GrantCase{"cliCliLoopbackToken", true, true, "cli", ClientMode::kCli, true},
                      GrantCase{"backendLoopbackToken", true, true, "gateway-client", ClientMode::kBackend, true},
                      GrantCase{"cliProbeCut", true, true, "cli", ClientMode::kProbe, false},
                      GrantCase{"backendProbeCut", true, true, "gateway-client", ClientMode::kProbe, false},
                      GrantCase{"cliRemote", false, true, "cli", ClientMode::kCli, false},
                      GrantCase{"cliNoSharedSecret", true, false, "cli", ClientMode::kCli, false},
                      GrantCase{"cliIdBackendMode", true, true, "cli", ClientMode::kBackend, false},
                      GrantCase{"controlUi", true, true, "openclaw-control-ui", ClientMode::kUi, false},
                      GrantCase{"tui", true, true, "openclaw-tui", ClientMode::kCli, false}),
    [](const ::testing::TestParamInfo<GrantCase>& info) { return std::string(info.param.name); });

// Issue 6: an unknown requested scope is never granted (OpenClaw echoes it back), duplicates are dropped.
TEST(ScopeGrant, GrantsOnlyScopesThatExist) {
  const std::vector<std::string> requested = {"operator.read", "operator.read", "bogus.scope", "operator.bogus",
                                              "operator.pairing"};
  const auto granted = grantScopes({.isLoopback = true,
                                    .sharedSecretAuth = true,
                                    .clientId = "cli",
                                    .clientMode = ClientMode::kCli,
                                    .requested = requested});
  EXPECT_EQ(granted, (std::vector<std::string>{"operator.read", "operator.pairing"}));
}

// Issue 6: role node (and worker) is authorized by role; it is granted no operator scope, admin included.
TEST(ScopeGrant, NodeAndWorkerGetNoOperatorScopes) {
  const std::vector<std::string> requested = {"operator.admin", "operator.read"};
  for (Role role : {Role::kNode, Role::kWorker}) {
    EXPECT_TRUE(grantScopes({.isLoopback = true,
                             .sharedSecretAuth = true,
                             .clientId = "cli",
                             .clientMode = ClientMode::kCli,
                             .role = role,
                             .requested = requested})
                    .empty());
    EXPECT_TRUE(grantableScopes(role, requested).empty());
  }
  EXPECT_EQ(grantableScopes(Role::kOperator, requested), requested);
}

}  // namespace
}  // namespace talon::protocol
