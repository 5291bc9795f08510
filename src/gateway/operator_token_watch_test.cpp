// A revoked or expired named operator token closes its open connections with 4001 within one check
// interval, audited; other connections stay open. Simulated time, a real store.
#include "gateway/operator_token_watch.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "store/sqlite_store.h"
#include "support/manual_executors.h"
#include "support/recording_audit_sink.h"
#include "support/temp_dir.h"

namespace talon::gateway {
namespace {

class OperatorTokenWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteStoreOptions options;
    options.path = dir_ / "talon.sqlite";
    auto opened = store::openSqliteStore(options);
    ASSERT_TRUE(opened) << opened.error().toString();
    store_ = std::move(*opened);
  }
  void TearDown() override { store_->close(); }

  void createToken(const std::string& name, int64_t expiresAtMs = 0) {
    store::OperatorTokenRecord r;
    r.name = name;
    r.role = "operator";
    r.tokenHash = "hash-" + name;
    r.tokenPrefix = "talon_op_";
    r.createdBy = "test";
    r.createdAtMs = clock_->nowMs();
    r.expiresAtMs = expiresAtMs;
    store::WriteBatch b;
    store::OperatorTokenRepository::create(b, r);
    ASSERT_TRUE(store_->write(std::move(b)));
  }
  void revokeToken(const std::string& name) {
    store::WriteBatch b;
    store::OperatorTokenRepository::revoke(b, name, clock_->nowMs(), std::make_shared<bool>(false));
    ASSERT_TRUE(store_->write(std::move(b)));
  }
  void connect(uint64_t id, const std::string& operatorToken) {
    presence_.setAuth(id, ConnectionAuth{"", "operator", operatorToken}, [this, id](uint16_t code, std::string reason) {
      closed_.push_back(std::to_string(id) + " " + std::to_string(code) + " " + reason);
      presence_.remove(id);  // as ClientSession::onClose does once the socket is closed
    });
  }
  std::vector<std::string> closed() {
    auto out = closed_;
    std::sort(out.begin(), out.end());
    return out;
  }

  testing::TempDir dir_{"talon-token-watch"};
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  testing::ManualExecutors manual_{clock_};
  testing::RecordingAuditSink audit_;
  store::StorePtr store_;
  PresenceRegistry presence_;
  std::vector<std::string> closed_;
};

TEST_F(OperatorTokenWatchTest, ARevokedTokensConnectionsAreClosedWithinOneIntervalAndAudited) {
  createToken("ro");
  createToken("root");
  connect(1, "ro");
  connect(2, "ro");
  connect(3, "root");
  connect(4, "");  // the shared token
  OperatorTokenWatch watch(*store_, presence_, audit_, manual_.executors(), clock_);
  watch.start();
  manual_.advance(OperatorTokenWatch::kCheckIntervalMs);
  EXPECT_TRUE(closed().empty());

  revokeToken("ro");
  manual_.advance(OperatorTokenWatch::kCheckIntervalMs - 1);
  EXPECT_TRUE(closed().empty());  // the next check has not run yet
  manual_.advance(1);
  EXPECT_EQ(closed(), (std::vector<std::string>{"1 4001 operator token revoked", "2 4001 operator token revoked"}));
  auto events = audit_.ofKind("connection.close");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor, "system");
  EXPECT_EQ(events[0].target, "operator-token:ro");
  EXPECT_EQ(events[0].details.at("connections"), 2);
  EXPECT_EQ(events[0].details.at("code"), 4001);

  // Nothing more to close: later checks close nothing and record nothing.
  manual_.advance(OperatorTokenWatch::kCheckIntervalMs * 3);
  EXPECT_EQ(closed().size(), 2u);
  EXPECT_EQ(audit_.ofKind("connection.close").size(), 1u);
  watch.stop();
  manual_.runReady();
  EXPECT_EQ(manual_.armedTimers(), 0u);
}

TEST_F(OperatorTokenWatchTest, AnExpiredOrDeletedTokenClosesItsConnections) {
  createToken("temp", clock_->nowMs() + 7'000);
  connect(1, "temp");
  connect(2, "ghost");  // no such token (e.g. the database was restored from an older backup)
  OperatorTokenWatch watch(*store_, presence_, audit_, manual_.executors(), clock_);
  EXPECT_EQ(watch.checkNow(), 1u);
  EXPECT_EQ(closed(), (std::vector<std::string>{"2 4001 operator token deleted"}));
  clock_->advance(7'000);
  EXPECT_EQ(watch.checkNow(), 1u);
  EXPECT_EQ(closed(), (std::vector<std::string>{"1 4001 operator token expired", "2 4001 operator token deleted"}));
}

}  // namespace
}  // namespace talon::gateway
