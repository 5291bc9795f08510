#include "store/audit_repository.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "store/sqlite_store.h"
#include "store/store_test_fixture.h"

namespace talon::store {
namespace {

// A stand-in seal: the real encoding is security/audit_chain's; the store only calls it.
std::string testSeal(const AuditRecord& r) { return "h" + std::to_string(r.seq) + "<" + r.prevHash.substr(0, 3); }

template <class Fill>
AuditQuery query(Fill fill) {
  AuditQuery q;
  fill(q);
  return q;
}

class AuditRepositoryTest : public testing::StoreTest {
 protected:
  Status append(const std::string& kind, const std::string& actor, int64_t timeMs) {
    WriteBatch batch;
    AuditRecord r;
    r.kind = kind;
    r.actor = actor;
    r.outcome = "allowed";
    r.timeMs = timeMs;
    AuditRepository::append(batch, std::move(r), testSeal);
    return store_->write(std::move(batch));
  }
};

TEST_F(AuditRepositoryTest, AppendsAssignSeqAndChainPrevHash) {
  auto empty = store_->audit().head();
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->has_value());
  ASSERT_TRUE(append("auth.connect", "operator:a", 10));
  // Two appends in one batch chain to each other inside the transaction.
  WriteBatch batch;
  for (int i = 0; i < 2; ++i) {
    AuditRecord r;
    r.kind = "config.write";
    r.actor = "cli:root";
    r.outcome = "allowed";
    r.timeMs = 20 + i;
    AuditRepository::append(batch, std::move(r), testSeal);
  }
  auto sealed = std::make_shared<AuditRecord>();
  AuditRecord last;
  last.kind = "auth.http";
  last.outcome = "denied";
  last.timeMs = 30;
  AuditRepository::append(batch, last, testSeal, sealed);
  ASSERT_TRUE(store_->write(std::move(batch)));
  EXPECT_EQ(sealed->seq, 4);

  auto all = store_->audit().list({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].prevHash, kAuditGenesisHash);
  for (std::size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*all)[i].hash, testSeal((*all)[i]));
    if (i > 0) {
      EXPECT_EQ((*all)[i].prevHash, (*all)[i - 1].hash);
    }
  }
  auto head = store_->audit().head();
  ASSERT_TRUE(head && head->has_value());
  EXPECT_EQ((*head)->seq, 4);
  EXPECT_EQ((*head)->hash, (*all)[3].hash);
}

TEST_F(AuditRepositoryTest, ListFilters) {
  ASSERT_TRUE(append("auth.connect", "operator:a", 10));
  ASSERT_TRUE(append("auth.http", "operator:b", 20));
  ASSERT_TRUE(append("authority.x", "operator:a", 30));
  ASSERT_TRUE(append("config.write", "operator:a", 40));

  auto byKindPrefix = store_->audit().list(query([](AuditQuery& q) { q.kind = "auth"; }));
  ASSERT_TRUE(byKindPrefix);
  ASSERT_EQ(byKindPrefix->size(), 2u);  // not "authority.x"
  EXPECT_EQ((*byKindPrefix)[1].kind, "auth.http");

  auto byActor = store_->audit().list(query([](AuditQuery& q) { q.actor = "operator:a"; }));
  ASSERT_TRUE(byActor);
  EXPECT_EQ(byActor->size(), 3u);

  auto since = store_->audit().list(query([](AuditQuery& q) { q.sinceMs = 30; }));
  ASSERT_TRUE(since);
  ASSERT_EQ(since->size(), 2u);
  EXPECT_EQ(since->front().seq, 3);

  auto page = store_->audit().list(query([](AuditQuery& q) {
    q.afterSeq = 1;
    q.limit = 2;
  }));
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ(page->front().seq, 2);
  EXPECT_EQ(page->back().seq, 3);
}

TEST_F(AuditRepositoryTest, InvalidRecordFailsItsBatch) {
  WriteBatch batch;
  AuditRecord r;
  r.outcome = "allowed";
  AuditRepository::append(batch, r, testSeal);  // no kind
  auto st = store_->write(std::move(batch));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(AuditRepositoryTest, UpdateAndDeleteAreRefusedBySchema) {
  ASSERT_TRUE(append("auth.connect", "operator:a", 10));
  SQLite::Database db((dir_ / "talon.sqlite").string(), SQLite::OPEN_READWRITE);
  EXPECT_THROW(db.exec("UPDATE audit_events SET actor = 'x'"), SQLite::Exception);
  EXPECT_THROW(db.exec("DELETE FROM audit_events"), SQLite::Exception);
}

}  // namespace
}  // namespace talon::store
