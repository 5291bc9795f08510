#include "base/file_io.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>

namespace talon {
namespace {

namespace fs = std::filesystem;

class FileIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("talon-file-io-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::size_t entries() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
    return n;
  }
  fs::path dir_;
};

TEST_F(FileIoTest, WriteFileAtomicReplacesTheContentWithTheGivenMode) {
  auto p = dir_ / "a.txt";
  ASSERT_TRUE(writeFileAtomic(p, "one", 0600));
  ASSERT_TRUE(writeFileAtomic(p, "two", 0640));
  EXPECT_EQ(*readFile(p), "two");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(entries(), 1u);
}

TEST_F(FileIoTest, AStagedFileChangesNothingUntilCommitted) {
  auto p = dir_ / "b.txt";
  ASSERT_TRUE(writeFileAtomic(p, "old"));
  {
    auto staged = StagedFile::stage(p, "new");
    ASSERT_TRUE(staged) << staged.error().message;
    EXPECT_EQ(*readFile(p), "old");
    EXPECT_EQ(entries(), 2u);  // the file and its temp file
  }
  // Dropped uncommitted: the temp file is gone, the file unchanged.
  EXPECT_EQ(*readFile(p), "old");
  EXPECT_EQ(entries(), 1u);

  auto staged = StagedFile::stage(p, "new");
  ASSERT_TRUE(staged);
  StagedFile moved = std::move(*staged);
  ASSERT_TRUE(moved.commit());
  EXPECT_EQ(*readFile(p), "new");
  EXPECT_EQ(entries(), 1u);
  EXPECT_FALSE(moved.commit());  // nothing staged any more
}

TEST_F(FileIoTest, ReadFileReportsMissingAndOversizedFiles) {
  auto missing = readFile(dir_ / "none");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(writeFileAtomic(dir_ / "c.txt", "12345"));
  auto big = readFile(dir_ / "c.txt", 4);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kResourceExhausted);
}

}  // namespace
}  // namespace talon
