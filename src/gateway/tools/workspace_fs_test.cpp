#include "gateway/tools/workspace_fs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"

namespace talon::gateway::tools {
namespace {

namespace fs = std::filesystem;

// base/
//   secret.txt, outside/inner.txt
//   ws/ a.txt, sub/b.txt and links in and out of ws
class WorkspaceFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = tmp_.path();
    ws_ = base_ / "ws";
    fs::create_directories(ws_ / "sub");
    fs::create_directories(base_ / "outside");
    write(base_ / "secret.txt", "top secret");
    write(base_ / "outside" / "inner.txt", "outside");
    write(ws_ / "a.txt", "alpha");
    write(ws_ / "sub" / "b.txt", "beta");
    fs::create_symlink("sub/b.txt", ws_ / "link_in");
    fs::create_symlink(ws_ / "sub" / "b.txt", ws_ / "link_in_abs");
    fs::create_symlink("../secret.txt", ws_ / "link_out");
    fs::create_symlink(base_ / "secret.txt", ws_ / "link_out_abs");
    fs::create_symlink(base_ / "outside", ws_ / "dirlink_out");
    fs::create_symlink("sub", ws_ / "dirlink_in");
    fs::create_symlink("../sub/b.txt", ws_ / "sub" / "up_and_back");
    fs::create_symlink("loop2", ws_ / "loop1");
    fs::create_symlink("loop1", ws_ / "loop2");
    fs::create_symlink(".", ws_ / "self");
  }

  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  Workspace open() {
    auto ws = Workspace::open(ws_);
    EXPECT_TRUE(ws.has_value()) << ws.error().toString();
    return std::move(*ws);
  }

  talon::testing::TempDir tmp_{"talon-wsfs"};
  fs::path base_;
  fs::path ws_;
};

TEST_F(WorkspaceFsTest, PlainRelativePaths) {
  Workspace ws = open();
  for (auto [input, rel] : std::vector<std::pair<std::string, std::string>>{{"a.txt", "a.txt"},
                                                                            {"./a.txt", "a.txt"},
                                                                            {"sub//b.txt", "sub/b.txt"},
                                                                            {"sub/../a.txt", "a.txt"},
                                                                            {"sub/./b.txt", "sub/b.txt"},
                                                                            {"@a.txt", "a.txt"},
                                                                            {".", "."},
                                                                            {"sub/..", "."}}) {
    auto r = ws.resolve(input, SymlinkPolicy::kFollowInside);
    ASSERT_TRUE(r.has_value()) << input << ": " << r.error().toString();
    EXPECT_EQ(r->relative, rel) << input;
    EXPECT_TRUE(r->exists) << input;
  }
  auto literalAt = ws.resolve("@@x", SymlinkPolicy::kFollowInside);
  ASSERT_TRUE(literalAt.has_value());
  EXPECT_EQ(literalAt->relative, "@x");
  EXPECT_FALSE(literalAt->exists);
}

TEST_F(WorkspaceFsTest, AbsolutePathsInsideAreAccepted) {
  Workspace ws = open();
  auto r = ws.resolve((ws_ / "sub" / "b.txt").string(), SymlinkPolicy::kFollowInside);
  ASSERT_TRUE(r.has_value()) << r.error().toString();
  EXPECT_EQ(r->relative, "sub/b.txt");
  r = ws.resolve(ws_.string() + "/sub/../a.txt", SymlinkPolicy::kFollowInside);
  ASSERT_TRUE(r.has_value()) << r.error().toString();
  EXPECT_EQ(r->relative, "a.txt");
  r = ws.resolve(ws_.string() + "/", SymlinkPolicy::kFollowInside);
  ASSERT_TRUE(r.has_value()) << r.error().toString();
  EXPECT_EQ(r->relative, ".");
}

TEST_F(WorkspaceFsTest, EscapesThroughDotDotAndAbsolutePathsAreRefused) {
  Workspace ws = open();
  for (const std::string& input :
       {std::string("../secret.txt"), std::string(".."), std::string("sub/../../secret.txt"),
        std::string("sub/../../ws/a.txt"), (base_ / "secret.txt").string(), ws_.string() + "/../secret.txt",
        std::string("/etc/passwd"), std::string("/"), ws_.string() + "x/a.txt"}) {
    auto r = ws.resolve(input, SymlinkPolicy::kFollowInside);
    ASSERT_FALSE(r.has_value()) << input << " resolved to " << r->relative;
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << input;
    EXPECT_NE(r.error().message.find("escapes the workspace"), std::string::npos) << r.error().message;
  }
}

TEST_F(WorkspaceFsTest, HomeRelativePathsAreCheckedLikeAbsoluteOnes) {
  Workspace ws = open();
  const char* old = std::getenv("HOME");
  std::string saved = old ? old : "";
  ::setenv("HOME", base_.c_str(), 1);
  auto out = ws.resolve("~/secret.txt", SymlinkPolicy::kFollowInside);
  auto in = ws.resolve("~/ws/a.txt", SymlinkPolicy::kFollowInside);
  if (old) {
    ::setenv("HOME", saved.c_str(), 1);
  } else {
    ::unsetenv("HOME");
  }
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ErrorCode::kPermissionDenied);
  ASSERT_TRUE(in.has_value()) << in.error().toString();
  EXPECT_EQ(in->relative, "a.txt");
}

TEST_F(WorkspaceFsTest, LinksInsideAreFollowedForReading) {
  Workspace ws = open();
  for (const char* input : {"link_in", "link_in_abs", "dirlink_in/b.txt", "sub/up_and_back", "self/self/a.txt"}) {
    auto r = ws.resolve(input, SymlinkPolicy::kFollowInside);
    ASSERT_TRUE(r.has_value()) << input << ": " << r.error().toString();
    EXPECT_TRUE(r->exists) << input;
    EXPECT_FALSE(S_ISLNK(r->st.st_mode)) << input;
  }
  EXPECT_EQ(ws.resolve("link_in", SymlinkPolicy::kFollowInside)->relative, "sub/b.txt");
  EXPECT_EQ(ws.resolve("self/self/a.txt", SymlinkPolicy::kFollowInside)->relative, "a.txt");
}

TEST_F(WorkspaceFsTest, LinksPointingOutsideAreRefused) {
  Workspace ws = open();
  for (const char* input : {"link_out", "link_out_abs", "dirlink_out", "dirlink_out/inner.txt", "dirlink_out/../ws"}) {
    auto r = ws.resolve(input, SymlinkPolicy::kFollowInside);
    if (std::string_view(input) == "dirlink_out/../ws") {
      // `..` is lexical: this is "ws" inside the workspace, which does not exist.
      ASSERT_TRUE(r.has_value()) << r.error().toString();
      EXPECT_FALSE(r->exists);
      continue;
    }
    ASSERT_FALSE(r.has_value()) << input << " resolved to " << r->relative;
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << input;
    EXPECT_NE(r.error().message.find("points outside the workspace"), std::string::npos) << r.error().message;
  }
}

TEST_F(WorkspaceFsTest, RefusePolicyRejectsEveryLink) {
  Workspace ws = open();
  for (const char* input : {"link_in", "dirlink_in/b.txt", "link_out", "dirlink_out/x.txt", "self/a.txt"}) {
    auto r = ws.resolve(input, SymlinkPolicy::kRefuse, /*createParents=*/true);
    ASSERT_FALSE(r.has_value()) << input;
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << input;
    EXPECT_NE(r.error().message.find("symbolic link"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(fs::exists(base_ / "outside" / "x.txt"));
  auto plain = ws.resolve("sub/b.txt", SymlinkPolicy::kRefuse);
  ASSERT_TRUE(plain.has_value()) << plain.error().toString();
}

TEST_F(WorkspaceFsTest, LinkLoopsEnd) {
  Workspace ws = open();
  auto r = ws.resolve("loop1", SymlinkPolicy::kFollowInside);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("Too many levels of symbolic links"), std::string::npos);
}

TEST_F(WorkspaceFsTest, MissingAndNonDirectoryComponents) {
  Workspace ws = open();
  auto missing = ws.resolve("nope/x.txt", SymlinkPolicy::kFollowInside);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto notDir = ws.resolve("a.txt/x", SymlinkPolicy::kFollowInside);
  ASSERT_FALSE(notDir.has_value());
  EXPECT_EQ(notDir.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(notDir.error().message.find("Not a directory: a.txt"), std::string::npos) << notDir.error().message;
  auto target = ws.resolve("new.txt", SymlinkPolicy::kRefuse);
  ASSERT_TRUE(target.has_value());
  EXPECT_FALSE(target->exists);
}

TEST_F(WorkspaceFsTest, CreateParentsMakesDirectoriesInsideOnly) {
  Workspace ws = open();
  auto r = ws.resolve("x/y/z.txt", SymlinkPolicy::kRefuse, /*createParents=*/true);
  ASSERT_TRUE(r.has_value()) << r.error().toString();
  EXPECT_TRUE(fs::is_directory(ws_ / "x" / "y"));
  EXPECT_FALSE(fs::exists(ws_ / "x" / "y" / "z.txt"));
  EXPECT_EQ(r->relative, "x/y/z.txt");
  auto out = ws.resolve("dirlink_out/new/z.txt", SymlinkPolicy::kFollowInside, /*createParents=*/true);
  ASSERT_FALSE(out.has_value());
  EXPECT_FALSE(fs::exists(base_ / "outside" / "new"));
}

TEST_F(WorkspaceFsTest, InvalidInput) {
  Workspace ws = open();
  EXPECT_EQ(ws.resolve("", SymlinkPolicy::kFollowInside).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ws.resolve("@", SymlinkPolicy::kFollowInside).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ws.resolve(std::string("a\0b", 3), SymlinkPolicy::kFollowInside).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(WorkspaceFsTest, RootGivenThroughALink) {
  fs::create_symlink(ws_, base_ / "ws_link");
  auto ws = Workspace::open(base_ / "ws_link");
  ASSERT_TRUE(ws.has_value()) << ws.error().toString();
  for (const std::string& input : {(base_ / "ws_link" / "a.txt").string(), (ws_ / "a.txt").string()}) {
    auto r = ws->resolve(input, SymlinkPolicy::kFollowInside);
    ASSERT_TRUE(r.has_value()) << input << ": " << r.error().toString();
    EXPECT_EQ(r->relative, "a.txt");
  }
  auto r = ws->resolve("link_in_abs", SymlinkPolicy::kFollowInside);
  ASSERT_TRUE(r.has_value()) << r.error().toString();
  EXPECT_EQ(r->relative, "sub/b.txt");
}

TEST_F(WorkspaceFsTest, OpenErrors) {
  auto missing = Workspace::open(base_ / "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto file = Workspace::open(base_ / "secret.txt");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(file.error().publicMessage().find(base_.string()), std::string::npos);
  auto unset = Workspace::open("");
  ASSERT_FALSE(unset.has_value());
  EXPECT_EQ(unset.error().code, ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace talon::gateway::tools
