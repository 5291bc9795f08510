#include "security/audited_authenticator.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "security/audit_chain.h"
#include "security/shared_secret_authenticator.h"
#include "store/sqlite_store.h"

namespace talon::security {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kRealToken = "real-token-Zq7Vx2Lm9Pw4";
constexpr std::string_view kAuditedCanary = "canary-secret-5f3a9c1e77";

protocol::ConnectParams auditedConnect(std::string token) {
  protocol::ConnectParams p;
  p.minProtocol = 4;
  p.maxProtocol = 4;
  p.client.id = "cli";
  p.client.mode = protocol::ClientMode::kCli;
  p.client.version = "2026.9.6";
  p.client.platform = "linux";
  p.scopes = {"operator.read"};
  p.auth.token = std::move(token);
  return p;
}

// Every byte of every file under `dir` (the database, its WAL, the checkpoint).
std::string allBytesUnder(const fs::path& dir) {
  std::string out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    out += s.str();
  }
  return out;
}

TEST(AuditedAuthenticator, RecordsConnectAndHttpDecisionsWithoutAnyCredential) {
  std::string pattern = (fs::temp_directory_path() / "talon-audited-auth-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  fs::path dir = pattern;
  {
    store::SqliteStoreOptions so;
    so.path = dir / "state" / "talon.sqlite";
    auto store = store::openSqliteStore(so);
    ASSERT_TRUE(store) << store.error().toString();
    ChainedAuditSinkOptions options;
    options.checkpointPath = auditCheckpointPath(dir);
    options.logLines = false;
    auto sink = ChainedAuditSink::create(**store, options);
    ASSERT_TRUE(sink);
    config::GatewayAuthConfig authConfig;
    authConfig.mode = "token";
    authConfig.token = std::string(kRealToken);
    auto inner = SharedSecretAuthenticator::create(authConfig, "");
    ASSERT_TRUE(inner) << inner.error().toString();
    AuditedAuthenticator auth(**inner, **sink);

    const PeerOrigin origin{true, "127.0.0.1:40000"};
    EXPECT_FALSE(
        auth.authenticateConnect(auditedConnect(std::string(kAuditedCanary)), protocol::Role::kOperator, origin));
    EXPECT_TRUE(auth.authenticateConnect(auditedConnect(std::string(kRealToken)), protocol::Role::kOperator, origin));
    EXPECT_FALSE(auth.authenticateHttp("Bearer " + std::string(kAuditedCanary), origin));
    EXPECT_FALSE(auth.authenticateHttp("Basic " + std::string(kAuditedCanary), origin));
    EXPECT_TRUE(auth.authenticateHttp("Bearer " + std::string(kRealToken), origin));  // not recorded
    ASSERT_TRUE((*sink)->flush());
    ASSERT_TRUE((*sink)->writeCheckpoint());
    EXPECT_EQ((*sink)->failures(), 0);

    auto records = (*store)->audit().list({});
    ASSERT_TRUE(records);
    ASSERT_EQ(records->size(), 4u);
    EXPECT_EQ((*records)[0].kind, "auth.connect");
    EXPECT_EQ((*records)[0].outcome, "denied");
    EXPECT_EQ((*records)[0].actor, "operator:cli");
    EXPECT_NE((*records)[0].detailsJson.find("AUTH_TOKEN_MISMATCH"), std::string::npos) << (*records)[0].detailsJson;
    EXPECT_NE((*records)[0].detailsJson.find("127.0.0.1:40000"), std::string::npos);
    EXPECT_EQ((*records)[1].kind, "auth.connect");
    EXPECT_EQ((*records)[1].outcome, "allowed");
    EXPECT_NE((*records)[1].detailsJson.find("\"method\":\"token\""), std::string::npos) << (*records)[1].detailsJson;
    EXPECT_EQ((*records)[2].kind, "auth.http");
    EXPECT_EQ((*records)[2].outcome, "denied");
    EXPECT_EQ((*records)[2].actor, "http:127.0.0.1:40000");
    EXPECT_EQ((*records)[3].kind, "auth.http");
    (*store)->close();
  }
  // Neither the canary a client sent nor the gateway's own token is anywhere in the state.
  std::string bytes = allBytesUnder(dir);
  EXPECT_NE(bytes.find("auth.connect"), std::string::npos);  // the scan does see the records
  EXPECT_EQ(bytes.find(kAuditedCanary), std::string::npos);
  EXPECT_EQ(bytes.find(kRealToken), std::string::npos);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace talon::security
