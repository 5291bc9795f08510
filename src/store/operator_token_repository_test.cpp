#include "store/operator_token_repository.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_fixture.h"

namespace talon::store {
namespace {

class OperatorTokenRepositoryTest : public testing::StoreTest {
 protected:
  static OperatorTokenRecord record(std::string name, std::string hash, int64_t createdAtMs, int64_t expiresAtMs = 0) {
    OperatorTokenRecord r;
    r.name = std::move(name);
    r.role = "operator";
    r.tokenHash = std::move(hash);
    r.tokenPrefix = "talon_op_abcd";
    r.createdBy = "cli:1000";
    r.createdAtMs = createdAtMs;
    r.expiresAtMs = expiresAtMs;
    return r;
  }
  Status create(OperatorTokenRecord r) {
    WriteBatch b;
    OperatorTokenRepository::create(b, std::move(r));
    return store_->write(std::move(b));
  }
  bool revoke(const std::string& name, int64_t nowMs) {
    auto revoked = std::make_shared<bool>(false);
    WriteBatch b;
    OperatorTokenRepository::revoke(b, name, nowMs, revoked);
    EXPECT_TRUE(store_->write(std::move(b)));
    return *revoked;
  }
};

TEST_F(OperatorTokenRepositoryTest, CreateFindByHashAndList) {
  ASSERT_TRUE(create(record("ci", "h1", 100, 5000)));
  ASSERT_TRUE(create(record("backup", "h2", 200)));
  auto found = store_->operatorTokens().findByHash("h1");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->name, "ci");
  EXPECT_EQ((*found)->role, "operator");
  EXPECT_EQ((*found)->tokenPrefix, "talon_op_abcd");
  EXPECT_EQ((*found)->createdBy, "cli:1000");
  EXPECT_EQ((*found)->createdAtMs, 100);
  EXPECT_EQ((*found)->expiresAtMs, 5000);
  EXPECT_TRUE((*found)->activeAt(4999));
  EXPECT_FALSE((*found)->activeAt(5000));
  auto none = store_->operatorTokens().findByHash("nope");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto all = store_->operatorTokens().list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "backup");
  EXPECT_EQ((*all)[1].name, "ci");
}

TEST_F(OperatorTokenRepositoryTest, AnActiveNameOrHashCannotBeTakenTwice) {
  ASSERT_TRUE(create(record("ci", "h1", 100)));
  auto again = create(record("ci", "h2", 200));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  auto sameHash = create(record("other", "h1", 200));
  ASSERT_FALSE(sameHash);
  EXPECT_EQ(sameHash.error().code, ErrorCode::kAlreadyExists) << sameHash.error().toString();
}

TEST_F(OperatorTokenRepositoryTest, RevokeMarksOnlyAnActiveTokenAndFreesTheName) {
  ASSERT_TRUE(create(record("ci", "h1", 100)));
  EXPECT_FALSE(revoke("missing", 150));
  EXPECT_TRUE(revoke("ci", 200));
  EXPECT_FALSE(revoke("ci", 300));  // already revoked
  auto found = store_->operatorTokens().find("ci");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->revokedAtMs, 200);
  EXPECT_FALSE((*found)->activeAt(250));
  // The name may be reused; the old hash is gone with the old row.
  ASSERT_TRUE(create(record("ci", "h3", 400)));
  auto old = store_->operatorTokens().findByHash("h1");
  ASSERT_TRUE(old);
  EXPECT_FALSE(old->has_value());
}

TEST_F(OperatorTokenRepositoryTest, AnExpiredNameMayBeReusedAndIsNotRevoked) {
  ASSERT_TRUE(create(record("ci", "h1", 100, 1000)));
  EXPECT_FALSE(revoke("ci", 1000));  // expired: nothing to revoke
  ASSERT_TRUE(create(record("ci", "h2", 1500)));
}

TEST_F(OperatorTokenRepositoryTest, TouchRecordsTheLastUse) {
  ASSERT_TRUE(create(record("ci", "h1", 100)));
  WriteBatch b;
  OperatorTokenRepository::touch(b, "ci", 777);
  ASSERT_TRUE(store_->write(std::move(b)));
  auto found = store_->operatorTokens().find("ci");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->lastUsedAtMs, 777);
}

TEST_F(OperatorTokenRepositoryTest, InvalidNamesAreRefused) {
  EXPECT_TRUE(isValidOperatorTokenName("ci-bot_1.prod"));
  EXPECT_FALSE(isValidOperatorTokenName(""));
  EXPECT_FALSE(isValidOperatorTokenName("has space"));
  EXPECT_FALSE(isValidOperatorTokenName(std::string(65, 'a')));
  auto bad = create(record("bad name", "h1", 1));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace talon::store
