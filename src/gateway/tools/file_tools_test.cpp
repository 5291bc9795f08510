#include "gateway/tools/file_tools.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gateway/tools/tool_registry.h"
#include "support/temp_dir.h"

namespace talon::gateway::tools {
namespace {

namespace fs = std::filesystem;

class FileToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = tmp_.path();
    ws_ = base_ / "ws";
    fs::create_directories(ws_ / "sub");
    fs::create_directories(base_ / "outside");
    put(base_ / "secret.txt", "TOP-SECRET");
    put(ws_ / "a.txt", "alpha\nbeta\ngamma\n");
    put(ws_ / "sub" / "b.txt", "bee");
    fs::create_symlink("sub/b.txt", ws_ / "link_in");
    fs::create_symlink("../secret.txt", ws_ / "link_out");
    fs::create_symlink(base_ / "secret.txt", ws_ / "link_out_abs");
    fs::create_symlink(base_ / "outside", ws_ / "dirlink_out");
    fs::create_symlink("sub", ws_ / "dirlink_in");
    fs::create_symlink(base_ / "outside" / "planted.txt", ws_ / "dangling_out");
    ASSERT_TRUE(registerBuiltinTools(registry_).has_value());
    ctx_.workspaceDir = ws_;
    ctx_.agentId = "main";
    ctx_.sessionKey = "agent:main:main";
  }

  static void put(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }
  static std::string get(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  Result<std::string> call(std::string_view tool, json::object args) { return registry_.invoke(tool, args, ctx_); }
  std::string ok(std::string_view tool, json::object args) {
    auto r = call(tool, std::move(args));
    EXPECT_TRUE(r.has_value()) << tool << ": " << r.error().toString();
    return r.has_value() ? *r : std::string();
  }
  Error err(std::string_view tool, json::object args) {
    auto r = call(tool, std::move(args));
    EXPECT_FALSE(r.has_value()) << tool << " returned: " << r.value_or("");
    return r.has_value() ? Error() : r.error();
  }
  // No temp files of an atomic write are left behind.
  void expectNoTempFiles(const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(dir)) {
      EXPECT_EQ(e.path().filename().string().find(".talon-write-"), std::string::npos) << e.path();
    }
  }

  talon::testing::TempDir tmp_{"talon-tools"};
  fs::path base_;
  fs::path ws_;
  ToolRegistry registry_;
  ToolContext ctx_;
};

// ---- read ----

TEST_F(FileToolsTest, ReadsWholeFile) { EXPECT_EQ(ok("read", {{"path", "a.txt"}}), "alpha\nbeta\ngamma\n"); }

TEST_F(FileToolsTest, ReadFoldsCrlfAndDropsBom) {
  put(ws_ / "w.txt", "\xEF\xBB\xBFone\r\ntwo\r\n");
  EXPECT_EQ(ok("read", {{"path", "w.txt"}}), "one\ntwo\n");
}

TEST_F(FileToolsTest, ReadOffsetAndLimit) {
  EXPECT_EQ(ok("read", {{"path", "a.txt"}, {"offset", 2}}), "beta\ngamma\n");
  EXPECT_EQ(ok("read", {{"path", "a.txt"}, {"offset", 1}, {"limit", 1}}),
            "alpha\n\n[2 more lines in file. Use offset=2 to continue.]");
  EXPECT_EQ(ok("read", {{"path", "a.txt"}, {"offset", 2}, {"limit", 1.9}}),
            "beta\n\n[1 more line in file. Use offset=3 to continue.]");
  EXPECT_EQ(ok("read", {{"path", "a.txt"}, {"offset", 3}, {"limit", 5}}), "gamma\n");
  EXPECT_EQ(ok("read", {{"path", "a.txt"}, {"offset", 4}}),
            "Offset 4 is beyond end of file (3 lines total). Retry with offset <= 3.");
}

TEST_F(FileToolsTest, ReadRejectsBadNumbers) {
  for (json::value offset : {json::value(0), json::value(1.5), json::value("2"), json::value(-3)}) {
    Error e = err("read", {{"path", "a.txt"}, {"offset", offset}});
    EXPECT_EQ(e.message, "Offset must be an integer at least 1");
  }
  Error e = err("read", {{"path", "a.txt"}, {"cursor", -1}});
  EXPECT_EQ(e.message, "Cursor must be an integer at least 0");
  e = err("read", {{"offset", 1}});
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(e.message.find("`path` is required"), std::string::npos);
}

TEST_F(FileToolsTest, ReadEmptyAndDegenerateFiles) {
  put(ws_ / "empty.txt", "");
  EXPECT_EQ(ok("read", {{"path", "empty.txt"}}), "File is empty (0 bytes).");
  put(ws_ / "bom.txt", "\xEF\xBB\xBF");
  EXPECT_EQ(ok("read", {{"path", "bom.txt"}}), "File contains no readable text (3 bytes).");
  put(ws_ / "nl.txt", "\n\n");
  EXPECT_EQ(ok("read", {{"path", "nl.txt"}}), "\n\n");
}

TEST_F(FileToolsTest, ReadPagesLargeFilesByBytes) {
  // 4000 lines of 200 bytes: the 256 KiB page ends on a line boundary and says where to continue.
  std::string text;
  for (int i = 1; i <= 4000; ++i) {
    std::string line = "line " + std::to_string(i) + " ";
    line.resize(199, 'x');
    text += line + "\n";
  }
  put(ws_ / "big.txt", text);
  std::string page = ok("read", {{"path", "big.txt"}, {"offset", 1000}});
  std::size_t notice = page.find("\n\n[Showing lines 1000-");
  ASSERT_NE(notice, std::string::npos) << page.substr(page.size() - 200);
  EXPECT_LE(page.size(), kReadMaxBytes);
  std::string content = page.substr(0, notice);
  std::size_t shown = static_cast<std::size_t>(std::count(content.begin(), content.end(), '\n')) + 1;
  std::string expectedNotice = "\n\n[Showing lines 1000-" + std::to_string(999 + shown) +
                               " of 4000 (256KB limit). Use offset=" + std::to_string(1000 + shown) + " to continue.]";
  EXPECT_EQ(page.substr(notice), expectedNotice);
  EXPECT_EQ(content, text.substr(999 * 200, shown * 200 - 1));
  EXPECT_GT(shown, 1000u);
  // The next page starts exactly where this one stopped.
  std::string next = ok("read", {{"path", "big.txt"}, {"offset", static_cast<int64_t>(1000 + shown)}, {"limit", 1}});
  EXPECT_TRUE(next.starts_with("line " + std::to_string(1000 + shown) + " x")) << next.substr(0, 40);
}

TEST_F(FileToolsTest, ReadPagesLargeFilesByLines) {
  std::string text;
  for (int i = 1; i <= 2500; ++i) text += std::to_string(i) + "\n";
  put(ws_ / "many.txt", text);
  std::string page = ok("read", {{"path", "many.txt"}});
  EXPECT_TRUE(page.starts_with("1\n2\n3\n"));
  EXPECT_TRUE(
      page.ends_with("\n2000\n\n[Showing lines 1-2000 of 2500 (2000-line limit). Use offset=2001 to continue.]"))
      << page.substr(page.size() - 120);
  std::string withLimit = ok("read", {{"path", "many.txt"}, {"limit", 2400}});
  EXPECT_TRUE(withLimit.ends_with("(2000-line limit). Use offset=2001, limit=400 to continue.]"))
      << withLimit.substr(withLimit.size() - 120);
}

TEST_F(FileToolsTest, ReadContinuesALongLineWithCursor) {
  // One 600 000-character line of multi-byte text plus a short second line.
  std::string line;
  for (int i = 0; i < 200000; ++i) line += "a\xC3\xA9z";  // "aéz": 3 characters, 4 bytes
  put(ws_ / "long.txt", line + "\nend\n");
  std::string assembled;
  std::size_t cursor = 0;
  for (int page = 0; page < 10; ++page) {
    json::object args{{"path", "long.txt"}};
    if (cursor > 0) args["cursor"] = cursor;
    std::string out = ok("read", args);
    ASSERT_LE(out.size(), kReadMaxBytes);
    std::size_t notice = out.find("\n\n[Showing part of line 1 (256KB limit). Use read with offset=1, cursor=");
    if (notice == std::string::npos) {
      assembled += out;
      break;
    }
    assembled += out.substr(0, notice);
    std::size_t at = out.find("cursor=", notice) + 7;
    cursor = std::stoul(out.substr(at));
  }
  EXPECT_EQ(assembled, line + "\nend\n");
  std::string beyond = ok("read", {{"path", "a.txt"}, {"cursor", 5}});
  EXPECT_EQ(beyond, "Cursor 5 is at or beyond the end of line 1 (5 characters). Use offset=2 to continue.");
  EXPECT_EQ(ok("read", {{"path", "a.txt"}, {"offset", 2}, {"cursor", 2}}), "ta\ngamma\n");
}

TEST_F(FileToolsTest, ReadReplacesInvalidUtf8) {
  put(ws_ / "bad.txt", "ok \xFF\xC3 end");
  EXPECT_EQ(ok("read", {{"path", "bad.txt"}}), "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST_F(FileToolsTest, ReadRefusesBinaryAndImages) {
  put(ws_ / "bin.dat", std::string("abc\0def", 7));
  EXPECT_NE(err("read", {{"path", "bin.dat"}}).message.find("binary file"), std::string::npos);
  put(ws_ / "pic.png", std::string("\x89PNG\r\n\x1A\n\0\0\0\rIHDR", 16));
  EXPECT_NE(err("read", {{"path", "pic.png"}}).message.find("is an image (image/png)"), std::string::npos);
}

TEST_F(FileToolsTest, ReadMissingDirectoryAndOptional) {
  Error e = err("read", {{"path", "nope.txt"}});
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_NE(e.message.find("nope.txt"), std::string::npos);
  EXPECT_EQ(ok("read", {{"path", "nope.txt"}, {"optional", true}}), "Optional file not found: nope.txt.");
  EXPECT_EQ(ok("read", {{"path", "nodir/nope.txt"}, {"optional", true}}), "Optional file not found: nodir/nope.txt.");
  e = err("read", {{"path", "sub"}});
  EXPECT_EQ(e.message,
            "Read requires a file path, but sub is a directory. List the directory, then read a specific file.");
}

TEST_F(FileToolsTest, ReadFollowsLinksInside) {
  EXPECT_EQ(ok("read", {{"path", "link_in"}}), "bee");
  EXPECT_EQ(ok("read", {{"path", "dirlink_in/b.txt"}}), "bee");
  EXPECT_EQ(ok("read", {{"path", (ws_ / "sub" / "b.txt").string()}}), "bee");
}

TEST_F(FileToolsTest, ReadNeverEscapes) {
  for (const std::string& path :
       {std::string("../secret.txt"), std::string("sub/../../secret.txt"), (base_ / "secret.txt").string(),
        std::string("link_out"), std::string("link_out_abs"), std::string("dirlink_out/../secret.txt"),
        std::string("@../secret.txt"), std::string("/etc/hostname")}) {
    auto r = call("read", {{"path", path}});
    if (path == "dirlink_out/../secret.txt") {  // lexically "secret.txt" inside the workspace: not there
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
      continue;
    }
    ASSERT_FALSE(r.has_value()) << path << " read: " << *r;
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << path;
    EXPECT_EQ(r.error().message.find("TOP-SECRET"), std::string::npos);
    if (path.find(base_.string()) == std::string::npos) {  // only the path as given is echoed
      EXPECT_EQ(r.error().message.find(base_.string()), std::string::npos) << r.error().message;
    }
  }
}

TEST_F(FileToolsTest, ReadHonoursCancellation) {
  std::atomic<bool> cancelled{true};
  ctx_.cancelled = &cancelled;
  EXPECT_EQ(err("read", {{"path", "a.txt"}}).code, ErrorCode::kCancelled);
}

// ---- write ----

TEST_F(FileToolsTest, WriteCreatesFilesAndParents) {
  EXPECT_EQ(ok("write", {{"path", "new/dir/c.txt"}, {"content", "héllo"}}),
            "Successfully wrote 6 bytes to new/dir/c.txt");
  EXPECT_EQ(get(ws_ / "new" / "dir" / "c.txt"), "héllo");
  EXPECT_EQ(ok("write", {{"path", "new/dir/c.txt"}, {"content", "héllo"}}),
            "No changes made to new/dir/c.txt. The file already has identical content.");
  EXPECT_EQ(ok("write", {{"path", (ws_ / "a.txt").string()}, {"content", ""}}),
            "Successfully wrote 0 bytes to " + (ws_ / "a.txt").string());
  EXPECT_EQ(get(ws_ / "a.txt"), "");
  expectNoTempFiles(ws_);
  expectNoTempFiles(ws_ / "new" / "dir");
}

TEST_F(FileToolsTest, WriteKeepsTheFileMode) {
  fs::permissions(ws_ / "a.txt", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  ok("write", {{"path", "a.txt"}, {"content", "changed"}});
  EXPECT_EQ(fs::status(ws_ / "a.txt").permissions() & fs::perms::mask,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

TEST_F(FileToolsTest, WriteRefusesReadOnlyFiles) {
  if (::geteuid() == 0) GTEST_SKIP() << "root may write any file";
  fs::permissions(ws_ / "a.txt", fs::perms::owner_read);
  Error e = err("write", {{"path", "a.txt"}, {"content", "x"}});
  EXPECT_EQ(e.code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(get(ws_ / "a.txt"), "alpha\nbeta\ngamma\n");
}

TEST_F(FileToolsTest, WriteNeverGoesThroughLinksOrOutside) {
  for (const std::string& path :
       {std::string("link_in"), std::string("link_out"), std::string("link_out_abs"), std::string("dangling_out"),
        std::string("dirlink_in/b.txt"), std::string("dirlink_out/new.txt"), std::string("dirlink_out/deep/new.txt"),
        std::string("../escaped.txt"), (base_ / "escaped.txt").string(), std::string("sub/../../escaped.txt")}) {
    Error e = err("write", {{"path", path}, {"content", "pwned"}});
    EXPECT_EQ(e.code, ErrorCode::kPermissionDenied) << path << ": " << e.message;
  }
  EXPECT_EQ(get(base_ / "secret.txt"), "TOP-SECRET");
  EXPECT_EQ(get(ws_ / "sub" / "b.txt"), "bee");
  EXPECT_FALSE(fs::exists(base_ / "outside" / "planted.txt"));
  EXPECT_FALSE(fs::exists(base_ / "outside" / "new.txt"));
  EXPECT_FALSE(fs::exists(base_ / "outside" / "deep"));
  EXPECT_FALSE(fs::exists(base_ / "escaped.txt"));
  EXPECT_TRUE(fs::is_symlink(ws_ / "link_in"));
  EXPECT_TRUE(fs::is_symlink(ws_ / "dangling_out"));
}

TEST_F(FileToolsTest, WriteRejectsDirectoriesAndBadArguments) {
  EXPECT_EQ(err("write", {{"path", "sub"}, {"content", "x"}}).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(err("write", {{"path", "."}, {"content", "x"}}).code, ErrorCode::kInvalidArgument);
  EXPECT_NE(err("write", {{"path", "x.txt"}}).message.find("`content` is required"), std::string::npos);
  EXPECT_NE(err("write", {{"path", "x.txt"}, {"content", 5}}).message.find("`content` is required"), std::string::npos);
  EXPECT_FALSE(fs::exists(ws_ / "x.txt"));
}

// ---- edit ----

TEST_F(FileToolsTest, EditReplacesExactText) {
  EXPECT_EQ(
      ok("edit", {{"path", "a.txt"}, {"edits", json::array{json::object{{"oldText", "beta"}, {"newText", "BETA"}}}}}),
      "Successfully replaced 1 block(s) in a.txt.");
  EXPECT_EQ(get(ws_ / "a.txt"), "alpha\nBETA\ngamma\n");
  expectNoTempFiles(ws_);
}

TEST_F(FileToolsTest, EditAppliesSeveralDisjointEditsAgainstTheOriginal) {
  json::array edits{json::object{{"oldText", "gamma"}, {"newText", "alpha"}},
                    json::object{{"oldText", "alpha"}, {"newText", "ALPHA"}},
                    json::object{{"oldText", "beta"}, {"newText", "beta"}}};
  EXPECT_EQ(ok("edit", {{"path", "a.txt"}, {"edits", edits}}), "Successfully replaced 2 block(s) in a.txt.");
  EXPECT_EQ(get(ws_ / "a.txt"), "ALPHA\nbeta\nalpha\n");
}

TEST_F(FileToolsTest, EditAcceptsOpenClawArgumentShapes) {
  EXPECT_EQ(ok("edit", {{"path", "a.txt"}, {"oldText", "alpha"}, {"newText", "one"}}),
            "Successfully replaced 1 block(s) in a.txt.");
  EXPECT_EQ(ok("edit", {{"path", "a.txt"}, {"edits", R"([{"oldText":"beta","newText":"two"}])"}}),
            "Successfully replaced 1 block(s) in a.txt.");
  // A top-level pair that repeats a listed edit is not applied twice.
  EXPECT_EQ(ok("edit", {{"path", "a.txt"},
                        {"edits", json::array{json::object{{"oldText", "gamma"}, {"newText", "three"}}}},
                        {"oldText", "gamma"},
                        {"newText", "three"}}),
            "Successfully replaced 1 block(s) in a.txt.");
  EXPECT_EQ(get(ws_ / "a.txt"), "one\ntwo\nthree\n");
}

TEST_F(FileToolsTest, EditFailuresExplainWhatToDo) {
  Error e = err("edit", {{"path", "a.txt"}, {"oldText", "delta"}, {"newText", "x"}});
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(e.message.starts_with("Could not find the exact text in a.txt. The old text must match exactly"))
      << e.message;
  EXPECT_NE(e.message.find("Current file contents:\nalpha\nbeta\ngamma\n"), std::string::npos);

  put(ws_ / "dup.txt", "x = 1\nx = 1\n");
  e = err("edit", {{"path", "dup.txt"}, {"oldText", "x = 1"}, {"newText", "x = 2"}});
  EXPECT_EQ(e.message,
            "Found 2 occurrences of the text in dup.txt. The text must be unique. Please provide more "
            "context to make it unique.");

  json::array overlapping{json::object{{"oldText", "alpha\nbeta"}, {"newText", "x"}},
                          json::object{{"oldText", "beta\ngamma"}, {"newText", "y"}}};
  e = err("edit", {{"path", "a.txt"}, {"edits", overlapping}});
  EXPECT_NE(e.message.find("overlap"), std::string::npos) << e.message;

  e = err("edit", {{"path", "a.txt"}, {"oldText", ""}, {"newText", "x"}});
  EXPECT_EQ(e.message, "oldText must not be empty in a.txt.");
  e = err("edit", {{"path", "a.txt"}, {"edits", json::array{}}});
  EXPECT_EQ(e.message, "Edit tool input is invalid. edits must contain at least one replacement.");
  e = err("edit", {{"path", "a.txt"}, {"edits", json::array{json::object{{"oldText", "alpha"}}}}});
  EXPECT_NE(e.message.find("edits[0] needs string oldText and newText"), std::string::npos);
  e = err("edit", {{"path", "missing.txt"}, {"oldText", "a"}, {"newText", "b"}});
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_NE(e.message.find("use write to create it"), std::string::npos);

  EXPECT_EQ(get(ws_ / "a.txt"), "alpha\nbeta\ngamma\n");
  EXPECT_EQ(ok("edit", {{"path", "a.txt"}, {"oldText", "beta"}, {"newText", "beta"}}),
            "No changes made to a.txt. The replacement text is identical to the original.");
}

TEST_F(FileToolsTest, EditKeepsCrlfBomAndMode) {
  put(ws_ / "win.txt", "\xEF\xBB\xBFone\r\ntwo\r\nthree\r\n");
  fs::permissions(ws_ / "win.txt", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(ok("edit", {{"path", "win.txt"}, {"oldText", "one\ntwo"}, {"newText", "1\n2"}}),
            "Successfully replaced 1 block(s) in win.txt.");
  EXPECT_EQ(get(ws_ / "win.txt"),
            "\xEF\xBB\xBF"
            "1\r\n2\r\nthree\r\n");
  EXPECT_EQ(fs::status(ws_ / "win.txt").permissions() & fs::perms::mask,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(FileToolsTest, EditNeverGoesThroughLinksOrOutside) {
  for (const std::string& path : {std::string("link_in"), std::string("link_out"), std::string("dirlink_in/b.txt"),
                                  std::string("../secret.txt"), (base_ / "secret.txt").string()}) {
    Error e = err("edit", {{"path", path}, {"oldText", "TOP"}, {"newText", "pwned"}});
    EXPECT_EQ(e.code, ErrorCode::kPermissionDenied) << path << ": " << e.message;
    EXPECT_EQ(e.message.find("TOP-SECRET"), std::string::npos);
  }
  EXPECT_EQ(get(base_ / "secret.txt"), "TOP-SECRET");
  EXPECT_EQ(get(ws_ / "sub" / "b.txt"), "bee");
}

TEST_F(FileToolsTest, ConcurrentEditsOfOneFileAreNotLost) {
  std::string text;
  constexpr int kThreads = 8;
  for (int i = 0; i < kThreads; ++i) text += "marker" + std::to_string(i) + "\n";
  put(ws_ / "shared.txt", text);
  std::vector<std::thread> threads;
  std::vector<std::string> results(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      json::object args{{"path", "shared.txt"},
                        {"oldText", "marker" + std::to_string(i) + "\n"},
                        {"newText", "done" + std::to_string(i) + "\n"}};
      auto r = registry_.invoke("edit", args, ctx_);
      results[i] = r.has_value() ? *r : r.error().message;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, "Successfully replaced 1 block(s) in shared.txt.");
  std::string expected;
  for (int i = 0; i < kThreads; ++i) expected += "done" + std::to_string(i) + "\n";
  EXPECT_EQ(get(ws_ / "shared.txt"), expected);
}

// ---- ls ----

TEST_F(FileToolsTest, LsListsInByteOrderWithDirectoryMarks) {
  put(ws_ / ".hidden", "");
  put(ws_ / "Zed", "");
  fs::create_directories(ws_ / "sub" / "inner");
  EXPECT_EQ(ok("ls", {}),
            "\".hidden\"\n\"Zed\"\n\"a.txt\"\n\"dangling_out\"\n\"dirlink_in\"\n\"dirlink_out\"\n\"link_in\"\n"
            "\"link_out\"\n\"link_out_abs\"\n\"sub/\"");
  EXPECT_EQ(ok("ls", {{"path", "sub"}}), "\"b.txt\"\n\"inner/\"");
  EXPECT_EQ(ok("ls", {{"path", "dirlink_in"}}), "\"b.txt\"\n\"inner/\"");
  EXPECT_EQ(ok("ls", {{"path", "sub/inner"}}), "(empty directory)");
}

TEST_F(FileToolsTest, LsPages) {
  EXPECT_EQ(ok("ls", {{"path", "sub"}, {"limit", 0}}), "\"b.txt\"");  // limits below 1 mean 1
  put(ws_ / "sub" / "c.txt", "");
  put(ws_ / "sub" / "d.txt", "");
  EXPECT_EQ(ok("ls", {{"path", "sub"}, {"limit", 2}}),
            "\"b.txt\"\n\"c.txt\"\n\n[More entries. Continue with the same path and after=\"c.txt\".]");
  EXPECT_EQ(ok("ls", {{"path", "sub"}, {"limit", 2}, {"after", "c.txt"}}), "\"d.txt\"");
  EXPECT_EQ(ok("ls", {{"path", "sub"}, {"after", "d.txt"}}), "(empty directory)");
}

TEST_F(FileToolsTest, LsPageStaysWithinItsByteBudget) {
  fs::create_directories(ws_ / "many");
  for (int i = 0; i < 400; ++i) put(ws_ / "many" / (std::string(200, 'n') + std::to_string(1000 + i)), "");
  std::string page = ok("ls", {{"path", "many"}});
  EXPECT_LE(page.size(), kLsMaxBytes);
  EXPECT_NE(page.find("[More entries. Continue with the same path and after="), std::string::npos);
}

TEST_F(FileToolsTest, LsRefusesEscapesAndFiles) {
  for (const std::string& path : {std::string(".."), std::string("dirlink_out"), (base_ / "outside").string()}) {
    EXPECT_EQ(err("ls", {{"path", path}}).code, ErrorCode::kPermissionDenied) << path;
  }
  EXPECT_EQ(err("ls", {{"path", "a.txt"}}).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(err("ls", {{"path", "nope"}}).code, ErrorCode::kNotFound);
}

// ---- registry ----

TEST_F(FileToolsTest, RegistrySpecsFollowOpenClawNames) {
  auto specs = registry_.specs();
  ASSERT_EQ(specs.size(), 4u);
  EXPECT_EQ(specs[0].name, "read");
  EXPECT_EQ(specs[1].name, "write");
  EXPECT_EQ(specs[2].name, "edit");
  EXPECT_EQ(specs[3].name, "ls");
  for (const auto& s : specs) {
    EXPECT_FALSE(s.description.empty()) << s.name;
    EXPECT_EQ(s.parameters().at("type"), "object") << s.name;
    EXPECT_TRUE(s.parameters().at("properties").as_object().contains("path")) << s.name;
  }
  const auto& readProps = specs[0].parameters().at("properties").as_object();
  for (const char* key : {"offset", "limit", "cursor", "optional"}) EXPECT_TRUE(readProps.contains(key)) << key;
  EXPECT_EQ(specs[1].parameters().at("required"), (json::array{"path", "content"}));
  const auto& editItem = specs[2].parameters().at("properties").at("edits").at("items").as_object();
  EXPECT_EQ(editItem.at("required"), (json::array{"oldText", "newText"}));
  const auto& lsProps = specs[3].parameters().at("properties").as_object();
  for (const char* key : {"limit", "after"}) EXPECT_TRUE(lsProps.contains(key)) << key;
}

TEST_F(FileToolsTest, RegistryDispatch) {
  EXPECT_EQ(registry_.add(makeReadTool()).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(registry_.add(nullptr).error().code, ErrorCode::kInvalidArgument);
  auto unknown = registry_.invoke("exec", json::object{}, ctx_);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(unknown.error().message, "Unknown tool \"exec\". Available tools: read, write, edit, ls.");

  auto viaJson = registry_.invokeJson("read", R"({"path":"a.txt","limit":1})", ctx_);
  ASSERT_TRUE(viaJson.has_value()) << viaJson.error().toString();
  EXPECT_EQ(*viaJson, "alpha\n\n[2 more lines in file. Use offset=2 to continue.]");
  auto bad = registry_.invokeJson("read", R"({"path":)", ctx_);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("not valid"), std::string::npos);
  EXPECT_EQ(registry_.invokeJson("read", "[1]", ctx_).error().code, ErrorCode::kInvalidArgument);
  auto empty = registry_.invokeJson("ls", "  ", ctx_);
  ASSERT_TRUE(empty.has_value()) << empty.error().toString();
  EXPECT_NE(empty->find("\"a.txt\""), std::string::npos);
}

TEST_F(FileToolsTest, MissingWorkspaceIsReported) {
  ctx_.workspaceDir = base_ / "gone";
  Error e = err("read", {{"path", "a.txt"}});
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_NE(e.message.find("workspace is not available"), std::string::npos);
  EXPECT_EQ(e.message.find(base_.string()), std::string::npos) << e.message;
}

}  // namespace
}  // namespace talon::gateway::tools
