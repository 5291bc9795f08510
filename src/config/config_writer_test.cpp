#include "config/config_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/file_io.h"
#include "config/config_test_util.h"

namespace talon::config {
namespace {

using testing::TempDir;

json::value j(std::string_view text) { return parseJson(text).value(); }

std::string read(const std::filesystem::path& p) { return readFile(p).value(); }

ConfigWriteRequest request(const std::filesystem::path& path, std::string text) {
  ConfigWriteRequest r;
  r.path = path;
  r.text = std::move(text);
  r.previousEffective = j(R"({"gateway":{"mode":"local"}})");
  r.nextEffective = j(R"({"gateway":{"mode":"local"}})");
  r.nowMs = 1'780'000'000'123;
  return r;
}

TEST(ConfigWriter, WritesAtomicallyWithPrivateModeAndKeepsAFiveSlotBackupRing) {
  TempDir dir;
  auto path = dir.write("talon.json", "v0");
  for (int i = 1; i <= 7; ++i) {
    auto out = writeConfigFile(request(path, "v" + std::to_string(i)));
    ASSERT_TRUE(out) << out.error().toString();
    EXPECT_TRUE(out->replaced);
  }
  EXPECT_EQ(read(path), "v7");
  EXPECT_EQ(read(configBackupPath(path, 0)), "v6");
  EXPECT_EQ(read(configBackupPath(path, 1)), "v5");
  EXPECT_EQ(read(configBackupPath(path, 4)), "v2");
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".bak.5"));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temp files are left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 6);
}

TEST(ConfigWriter, FirstWriteHasNoBackup) {
  TempDir dir;
  auto out = writeConfigFile(request(dir.path() / "talon.json", "{}"));
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->replaced);
  EXPECT_FALSE(std::filesystem::exists(configBackupPath(dir.path() / "talon.json", 0)));
}

TEST(ConfigWriter, RefusesToDropGatewayMode) {
  TempDir dir;
  auto path = dir.write("talon.json", "original");
  auto r = request(path, "next");
  r.nextEffective = j(R"({"gateway":{}})");
  auto out = writeConfigFile(r);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kFailedPrecondition);
  std::string rejected = path.string() + ".rejected.2026-05-28T20-26-40-123Z";
  EXPECT_EQ(out.error().publicMessage(), "Config write rejected: " + path.string() +
                                             " (gateway-mode-removed). Rejected payload saved to " + rejected + ".");
  EXPECT_EQ(read(path), "original");
  EXPECT_EQ(read(rejected), "next");
  EXPECT_FALSE(std::filesystem::exists(configBackupPath(path, 0)));
  r.allowDestructive = true;
  EXPECT_TRUE(writeConfigFile(r));
  EXPECT_EQ(read(path), "next");
}

TEST(ConfigWriter, RefusesToShrinkALargeFileByMoreThanHalf) {
  TempDir dir;
  auto path = dir.write("talon.json", std::string(1000, 'x'));
  auto shrink = writeConfigFile(request(path, std::string(499, 'y')));
  ASSERT_FALSE(shrink);
  EXPECT_NE(shrink.error().publicMessage().find("size-drop:1000->499"), std::string::npos);
  EXPECT_TRUE(writeConfigFile(request(path, std::string(500, 'y'))));
  // Below the 512-byte baseline the size rule does not apply.
  auto small = dir.write("small.json", std::string(400, 'x'));
  EXPECT_TRUE(writeConfigFile(request(small, "{}")));
}

TEST(ConfigWriter, LastKnownGoodSkipsRedactedText) {
  TempDir dir;
  auto path = dir.write("talon.json", R"({"gateway":{"mode":"local"}})");
  auto promoted = promoteLastKnownGood(path);
  ASSERT_TRUE(promoted);
  EXPECT_TRUE(*promoted);
  EXPECT_EQ(read(lastKnownGoodPath(path)), R"({"gateway":{"mode":"local"}})");
  dir.write("talon.json", R"({"gateway":{"auth":{"token":"__OPENCLAW_REDACTED__"}}})");
  promoted = promoteLastKnownGood(path);
  ASSERT_TRUE(promoted);
  EXPECT_FALSE(*promoted);
  EXPECT_EQ(read(lastKnownGoodPath(path)), R"({"gateway":{"mode":"local"}})");
}

}  // namespace
}  // namespace talon::config
