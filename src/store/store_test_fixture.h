#pragma once
// The fixture of the store's repository tests: a SQLite store in a fresh temporary directory, which a
// test can close and open again (to check what survives a restart). Test code only.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "store/sqlite_store.h"

namespace talon::store::testing {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "talon-store-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    open();
  }
  void TearDown() override {
    if (store_) store_->close();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  /// Opens the store at path() with `options` (its path is set here); again after store_->close().
  void open(SqliteStoreOptions options = {}) {
    options.path = path();
    auto store = openSqliteStore(options);
    ASSERT_TRUE(store) << store.error().toString();
    store_ = std::move(*store);
  }
  /// The database file.
  std::filesystem::path path() const { return dir_ / "talon.sqlite"; }

  std::filesystem::path dir_;
  StorePtr store_;
};

}  // namespace talon::store::testing
