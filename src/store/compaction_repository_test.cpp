// session_compactions (store/compaction_repository.h): appends, the newest in force, and the rules a
// write must keep — it survives reopening the store.
#include "store/compaction_repository.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_fixture.h"

namespace talon::store {
namespace {

class CompactionRepositoryTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    SessionRecord s;
    s.sessionKey = "agent:main:main";
    s.agentId = "main";
    s.createdAtMs = 1;
    s.updatedAtMs = 1;
    WriteBatch b;
    SessionRepository::upsert(b, s);
    ASSERT_TRUE(store_->write(std::move(b)));
  }

  static CompactionRecord compactionRecord(int64_t id, int64_t firstKeptSeq, std::string summary) {
    CompactionRecord r;
    r.sessionKey = "agent:main:main";
    r.id = id;
    r.firstKeptSeq = firstKeptSeq;
    r.summary = std::move(summary);
    r.reason = "threshold";
    r.runId = "run-" + std::to_string(id);
    r.model = "openai/gpt-4o-mini";
    r.tokensBefore = 1000 * id;
    r.tokensAfter = 100 * id;
    r.createdAtMs = 10 * id;
    return r;
  }
  Status append(CompactionRecord r) {
    WriteBatch b;
    CompactionRepository::append(b, std::move(r));
    return store_->write(std::move(b));
  }
};

TEST_F(CompactionRepositoryTest, TheNewestCompactionIsInForceAndSurvivesReopening) {
  auto none = CompactionRepository(*store_).latest("agent:main:main");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(append(compactionRecord(1, 5, "first")));
  ASSERT_TRUE(append(compactionRecord(2, 9, "second")));
  store_->close();
  open();
  auto latest = CompactionRepository(*store_).latest("agent:main:main");
  ASSERT_TRUE(latest && *latest);
  const CompactionRecord& r = **latest;
  EXPECT_EQ(r.id, 2);
  EXPECT_EQ(r.firstKeptSeq, 9);
  EXPECT_EQ(r.summary, "second");
  EXPECT_EQ(r.reason, "threshold");
  EXPECT_EQ(r.runId, "run-2");
  EXPECT_EQ(r.model, "openai/gpt-4o-mini");
  EXPECT_EQ(r.tokensBefore, 2000);
  EXPECT_EQ(r.tokensAfter, 200);
  EXPECT_EQ(r.createdAtMs, 20);
  auto other = CompactionRepository(*store_).latest("agent:main:other");
  ASSERT_TRUE(other);
  EXPECT_FALSE(*other);
}

TEST_F(CompactionRepositoryTest, CountsAreTheNewestIdsOfTheSessionsThatHaveCompactions) {
  auto none = CompactionRepository(*store_).counts({"agent:main:main"});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(append(compactionRecord(1, 5, "first")));
  ASSERT_TRUE(append(compactionRecord(2, 9, "second")));
  auto counts = CompactionRepository(*store_).counts({"agent:main:main", "agent:main:other"});
  ASSERT_TRUE(counts);
  EXPECT_EQ(*counts, (std::map<std::string, int64_t>{{"agent:main:main", 2}}));
}

TEST_F(CompactionRepositoryTest, AWriteMustNameAKnownSessionANewIdAndASummary) {
  ASSERT_TRUE(append(compactionRecord(1, 5, "first")));
  auto again = append(compactionRecord(1, 7, "again"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  auto orphan = compactionRecord(2, 7, "orphan");
  orphan.sessionKey = "agent:main:unknown";
  auto unknown = append(orphan);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kFailedPrecondition);
  auto empty = append(compactionRecord(2, 7, ""));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  auto badSeq = append(compactionRecord(2, 0, "x"));
  ASSERT_FALSE(badSeq);
  EXPECT_EQ(badSeq.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace talon::store
