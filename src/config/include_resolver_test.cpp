#include "config/include_resolver.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>

#include "config/config_test_util.h"
#include "config/json5.h"

namespace talon::config {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

struct Resolved {
  json::value value;
  SourceMap map;
  std::vector<Diagnostic> diagnostics;
  std::vector<fs::path> files;

  std::string canonical() const { return toCanonicalJson(value); }
  std::string messages() const {
    std::string out;
    for (const auto& d : diagnostics) out += d.toString() + "\n";
    return out;
  }
};

class IncludeTest : public ::testing::Test {
 protected:
  Resolved resolve(const std::string& rootRelative = "talon.json", IncludeOptions options = {}) {
    Resolved r;
    fs::path root = dir_.path() / rootRelative;
    std::ifstream in(root, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = parseJson5Located(text, root.string());
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().toString());
    if (!parsed) return r;
    IncludeResult result = resolveIncludes(std::move(*parsed), root, options, r.diagnostics);
    r.value = toJsonValue(result.value);
    collectSourceMap(result.value, "", r.map);
    r.files = result.files;
    return r;
  }

  Resolved resolveOk(const std::string& rootRelative = "talon.json", IncludeOptions options = {}) {
    Resolved r = resolve(rootRelative, std::move(options));
    EXPECT_TRUE(r.diagnostics.empty()) << r.messages();
    return r;
  }

  // The single diagnostic expected from an invalid layout.
  Diagnostic resolveOneError(const std::string& rootRelative = "talon.json", IncludeOptions options = {}) {
    Resolved r = resolve(rootRelative, std::move(options));
    EXPECT_EQ(r.diagnostics.size(), 1u) << r.messages();
    return r.diagnostics.empty() ? Diagnostic{} : r.diagnostics.front();
  }

  std::string p(const std::string& relative) const { return (dir_.path() / relative).string(); }

  TempDir dir_;
};

TEST_F(IncludeTest, SingleFileReplacesTheObject) {
  dir_.write("talon.json", "{ gateway: { $include: './gw.json5' } }");
  dir_.write("gw.json5", "{\n  port: 1234,\n}");
  Resolved r = resolveOk();
  EXPECT_EQ(r.canonical(), R"({"gateway":{"port":1234}})");
  // Locations point into the included file; the key holding the directive stays in the root file.
  const SourceLocation* port = r.map.find("gateway.port");
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(port->toString(), p("gw.json5") + ":2:3");
  EXPECT_EQ(r.map.find("gateway")->toString(), p("talon.json") + ":1:3");
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0], dir_.path() / "gw.json5");
}

TEST_F(IncludeTest, ContentOverridesStandForTheFilesTheyName) {
  dir_.write("talon.json", "{ gateway: { $include: './gw.json5' }, other: { $include: './other.json5' } }");
  dir_.write("gw.json5", "{ port: 1234 }");
  dir_.write("other.json5", "{ kept: true }");
  std::map<fs::path, std::string> overrides{{dir_.path() / "gw.json5", "{\n  port: 4321,\n}"}};
  IncludeOptions options;
  options.contentOverrides = &overrides;
  Resolved r = resolveOk("talon.json", options);
  // The overridden text is read (with its own locations); other files come from disk.
  EXPECT_EQ(r.canonical(), R"({"gateway":{"port":4321},"other":{"kept":true}})");
  EXPECT_EQ(r.map.find("gateway.port")->toString(), p("gw.json5") + ":2:3");
  // An override is still bound by the include size limit.
  overrides[dir_.path() / "gw.json5"] = "{ big: '" + std::string(kMaxIncludeFileBytes, 'x') + "' }";
  EXPECT_NE(resolveOneError("talon.json", options).message.find("security checks"), std::string::npos);
}

TEST_F(IncludeTest, RootInclude) {
  dir_.write("talon.json", "{ $include: 'base.json5' }");
  dir_.write("base.json5", "{ session: { dmScope: 'per-peer' } }");
  EXPECT_EQ(resolveOk().canonical(), R"({"session":{"dmScope":"per-peer"}})");
}

TEST_F(IncludeTest, IncludedValueNeedNotBeAnObjectWithoutSiblings) {
  dir_.write("talon.json", "{ bindings: { $include: './bindings.json5' } }");
  dir_.write("bindings.json5", "[ { agentId: 'main' } ]");
  EXPECT_EQ(resolveOk().canonical(), R"({"bindings":[{"agentId":"main"}]})");
}

TEST_F(IncludeTest, ArrayOfFilesMergesInOrder) {
  dir_.write("talon.json", "{ x: { $include: ['./a.json5', './b.json5'] } }");
  dir_.write("a.json5", "{ v: 1, list: [1], o: { p: 1, q: 1 }, onlyA: true }");
  dir_.write("b.json5", "{ v: 2, list: [2], o: { q: 2 }, onlyB: null }");
  EXPECT_EQ(resolveOk().canonical(), R"({"x":{"list":[1,2],"o":{"p":1,"q":2},"onlyA":true,"onlyB":null,"v":2}})");
}

TEST_F(IncludeTest, SiblingsWinAndArraysConcatenate) {
  // OpenClaw's verified example: skills.load.extraDirs ["/a"] from an include plus a sibling ["/c"].
  dir_.write("talon.json", "{ skills: { $include: './s.json5', load: { extraDirs: ['/c'] }, mode: 'b' } }");
  dir_.write("s.json5", "{ load: { extraDirs: ['/a'], watch: true }, mode: 'a' }");
  Resolved r = resolveOk();
  EXPECT_EQ(r.canonical(), R"({"skills":{"load":{"extraDirs":["/a","/c"],"watch":true},"mode":"b"}})");
  EXPECT_EQ(r.map.find("skills.mode")->file, p("talon.json"));
  EXPECT_EQ(r.map.find("skills.load.watch")->file, p("s.json5"));
  EXPECT_EQ(r.map.find("skills.load.extraDirs[0]")->file, p("s.json5"));
  EXPECT_EQ(r.map.find("skills.load.extraDirs[1]")->file, p("talon.json"));
}

TEST_F(IncludeTest, SiblingsRequireAnObject) {
  dir_.write("talon.json", "{ x: { $include: './list.json5', y: 1 } }");
  dir_.write("list.json5", "[1]");
  Diagnostic d = resolveOneError();
  EXPECT_EQ(d.message, "Sibling keys require included content to be an object");
  EXPECT_EQ(d.code, DiagnosticCode::kInclude);
  EXPECT_EQ(d.path, "x");
  EXPECT_EQ(d.location.toString(), p("talon.json") + ":1:8");
}

TEST_F(IncludeTest, RelativePathsResolveAgainstTheIncludingFile) {
  dir_.write("talon.json", "{ a: { $include: 'sub/a.json5' } }");
  dir_.write("sub/a.json5", "{ b: { $include: './b.json5' }, up: { $include: '../top.json5' } }");
  dir_.write("sub/b.json5", "{ deep: true }");
  dir_.write("top.json5", "{ top: 1 }");
  EXPECT_EQ(resolveOk().canonical(), R"({"a":{"b":{"deep":true},"up":{"top":1}}})");
}

TEST_F(IncludeTest, AbsolutePathInsideTheConfigDirectory) {
  dir_.write("inc/x.json5", "{ ok: 1 }");
  dir_.write("talon.json", "{ a: { $include: " + json::serialize(json::value(p("inc/x.json5"))) + " } }");
  EXPECT_EQ(resolveOk().canonical(), R"({"a":{"ok":1}})");
}

TEST_F(IncludeTest, EscapingTheConfigDirectoryIsRejected) {
  dir_.write("cfg/talon.json", "{ a: { $include: '../outside.json5' } }");
  dir_.write("outside.json5", "{}");
  Diagnostic d = resolveOneError("cfg/talon.json");
  EXPECT_EQ(d.message, "Include path escapes config directory: ../outside.json5 (root: " + p("cfg") + ")");
  EXPECT_EQ(d.location.toString(), p("cfg/talon.json") + ":1:8");

  dir_.write("cfg/talon.json", "{ a: { $include: '/etc/hostname' } }");
  EXPECT_NE(resolveOneError("cfg/talon.json").message.find("escapes config directory: /etc/hostname"),
            std::string::npos);
}

TEST_F(IncludeTest, SymlinkPointingOutsideIsRejected) {
  dir_.write("secret.json5", "{ stolen: true }");
  dir_.write("cfg/talon.json", "{ a: { $include: './link.json5' } }");
  fs::create_symlink(dir_.path() / "secret.json5", dir_.path() / "cfg/link.json5");
  Diagnostic d = resolveOneError("cfg/talon.json");
  EXPECT_EQ(d.message,
            "Include path resolves outside config directory (symlink): ./link.json5 (root: " + p("cfg") + ")");
}

TEST_F(IncludeTest, SymlinkInsideTheDirectoryIsFollowed) {
  dir_.write("cfg/real/x.json5", "{ v: 1 }");
  dir_.write("cfg/talon.json", "{ a: { $include: './alias.json5' } }");
  fs::create_symlink(dir_.path() / "cfg/real/x.json5", dir_.path() / "cfg/alias.json5");
  EXPECT_EQ(resolveOk("cfg/talon.json").canonical(), R"({"a":{"v":1}})");
}

TEST_F(IncludeTest, ExtraRootsAdmitOutsideFiles) {
  dir_.write("shared/common.json5", "{ shared: true }");
  dir_.write("cfg/talon.json", "{ a: { $include: '../shared/common.json5' }, b: { $include: './via-link.json5' } }");
  fs::create_symlink(dir_.path() / "shared/common.json5", dir_.path() / "cfg/via-link.json5");
  IncludeOptions options;
  options.extraRoots = {dir_.path() / "shared"};
  EXPECT_EQ(resolveOk("cfg/talon.json", options).canonical(), R"({"a":{"shared":true},"b":{"shared":true}})");
}

TEST_F(IncludeTest, DepthIsLimitedToTen) {
  // talon.json -> f1 -> ... -> f10 is fine (ten nested includes); f10 including f11 is one too many.
  dir_.write("talon.json", "{ $include: './f1.json5' }");
  for (int i = 1; i <= 10; ++i) {
    dir_.write("f" + std::to_string(i) + ".json5",
               i < 10 ? "{ $include: './f" + std::to_string(i + 1) + ".json5' }" : "{ leaf: 10 }");
  }
  EXPECT_EQ(resolveOk().canonical(), R"({"leaf":10})");
  dir_.write("f10.json5", "{ $include: './f11.json5' }");
  dir_.write("f11.json5", "{ leaf: 11 }");
  Diagnostic d = resolveOneError();
  EXPECT_EQ(d.message, "Maximum include depth (10) exceeded at: ./f11.json5");
  EXPECT_EQ(d.location.file, p("f10.json5"));
}

TEST_F(IncludeTest, CyclesAreReportedWithTheChain) {
  dir_.write("talon.json", "{ x: { $include: './a.json5' } }");
  dir_.write("a.json5", "{ y: { $include: './b.json5' } }");
  dir_.write("b.json5", "{ z: { $include: './a.json5' } }");
  Diagnostic d = resolveOneError();
  EXPECT_EQ(d.message, "Circular include detected: " + p("talon.json") + " -> " + p("a.json5") + " -> " + p("b.json5") +
                           " -> " + p("a.json5"));
  EXPECT_EQ(d.path, "x.y.z");
  EXPECT_EQ(d.location.file, p("b.json5"));

  dir_.write("talon.json", "{ $include: './talon.json' }");
  EXPECT_EQ(resolveOneError().message, "Circular include detected: " + p("talon.json") + " -> " + p("talon.json"));
}

TEST_F(IncludeTest, TheSameFileInTwoBranchesIsNotACycle) {
  dir_.write("talon.json", "{ $include: ['./a.json5', './b.json5'] }");
  dir_.write("a.json5", "{ a: { $include: './common.json5' } }");
  dir_.write("b.json5", "{ b: { $include: './common.json5' } }");
  dir_.write("common.json5", "{ c: [1] }");
  EXPECT_EQ(resolveOk().canonical(), R"({"a":{"c":[1]},"b":{"c":[1]}})");
}

TEST_F(IncludeTest, FilesOverTwoMebibytesAreRejected) {
  std::string big = "{ pad: '" + std::string(kMaxIncludeFileBytes, 'x') + "' }";
  dir_.write("big.json5", big);
  dir_.write("talon.json", "{ a: { $include: './big.json5' } }");
  EXPECT_EQ(resolveOneError().message,
            "Include file failed security checks (regular file, max 2097152 bytes, no hardlinks): ./big.json5");
  // Exactly at the limit is fine.
  std::string fits = "'" + std::string(kMaxIncludeFileBytes - 2, 'x') + "'";
  dir_.write("big.json5", fits);
  EXPECT_EQ(resolveOk().value.as_object().at("a").as_string().size(), kMaxIncludeFileBytes - 2);
}

TEST_F(IncludeTest, HardLinkedAndNonRegularFilesAreRejected) {
  dir_.write("orig.json5", "{}");
  fs::create_hard_link(dir_.path() / "orig.json5", dir_.path() / "hard.json5");
  dir_.write("talon.json", "{ a: { $include: './hard.json5' } }");
  EXPECT_NE(resolveOneError().message.find("failed security checks"), std::string::npos);
  fs::create_directory(dir_.path() / "adir");
  dir_.write("talon.json", "{ a: { $include: './adir' } }");
  EXPECT_NE(resolveOneError().message.find("failed security checks"), std::string::npos);
}

TEST_F(IncludeTest, MissingFile) {
  dir_.write("talon.json", "{ a: { $include: './missing.json5' } }");
  EXPECT_EQ(resolveOneError().message,
            "Failed to read include file: ./missing.json5 (resolved: " + p("missing.json5") + ")");
}

TEST_F(IncludeTest, SyntaxErrorInsideAnIncludedFile) {
  dir_.write("talon.json", "{ a: { $include: './bad.json5' } }");
  dir_.write("bad.json5", "{\n  ok: 1,\n  broken: ,\n}");
  Diagnostic d = resolveOneError();
  EXPECT_EQ(d.code, DiagnosticCode::kParse);
  EXPECT_EQ(d.location.toString(), p("bad.json5") + ":3:11");
  EXPECT_EQ(d.message, "Failed to parse include file: ./bad.json5 (resolved: " + p("bad.json5") +
                           "): unexpected ',' (expected a value)");
}

TEST_F(IncludeTest, MalformedDirectives) {
  dir_.write("talon.json", "{ a: { $include: 5 } }");
  EXPECT_EQ(resolveOneError().message, "Invalid $include value: expected string or array of strings, got number");
  dir_.write("talon.json", "{ a: { $include: { path: 'x' } } }");
  EXPECT_EQ(resolveOneError().message, "Invalid $include value: expected string or array of strings, got object");
  dir_.write("talon.json", "{ a: { $include: ['./ok.json5', true] } }");
  dir_.write("ok.json5", "{}");
  Diagnostic d = resolveOneError();
  EXPECT_EQ(d.message, "Invalid $include array item: expected string, got boolean");
  EXPECT_EQ(d.location.toString(), p("talon.json") + ":1:33");
}

TEST_F(IncludeTest, PathLimits) {
  dir_.write("talon.json", "{ a: { $include: 'x\\u0000y' } }");
  EXPECT_EQ(resolveOneError().message, "Include path must not contain null bytes");
  dir_.write("talon.json", "{ a: { $include: '" + std::string(4096, 'a') + "' } }");
  EXPECT_EQ(resolveOneError().message, "Include path exceeds maximum length (4096 characters)");
  dir_.write("talon.json", "{ a: { $include: '" + std::string(4090, 'a') + "' } }");
  EXPECT_EQ(resolveOneError().message, "Resolved include path exceeds maximum length (4096 characters)");
}

TEST_F(IncludeTest, IncludesInsideArrays) {
  dir_.write("talon.json", "{ bindings: [ { $include: './b0.json5' }, { $include: './b1.json5', comment: 'x' } ] }");
  dir_.write("b0.json5", "{ agentId: 'a' }");
  dir_.write("b1.json5", "{ agentId: 'b' }");
  EXPECT_EQ(resolveOk().canonical(), R"({"bindings":[{"agentId":"a"},{"agentId":"b","comment":"x"}]})");
}

TEST_F(IncludeTest, EveryFailureIsReported) {
  dir_.write("talon.json",
             "{ a: { $include: './missing-a.json5' }, b: { $include: ['./missing-b.json5', './missing-c.json5'] } }");
  Resolved r = resolve();
  ASSERT_EQ(r.diagnostics.size(), 3u) << r.messages();
  EXPECT_EQ(r.diagnostics[0].path, "a");
  EXPECT_EQ(r.diagnostics[1].path, "b");
  EXPECT_NE(r.diagnostics[2].message.find("missing-c"), std::string::npos);
}

TEST_F(IncludeTest, PrototypeKeysAreDroppedWhenMerging) {
  dir_.write("talon.json", "{ a: { $include: './p.json5', b: 1 } }");
  dir_.write("p.json5", "{ constructor: 1, prototype: 2, __proto__: 3, keep: { constructor: 4, x: 5 } }");
  EXPECT_EQ(resolveOk().canonical(), R"({"a":{"b":1,"keep":{"x":5}}})");
}

TEST(IncludeRoots, ParsesTheEnvironmentValue) {
  auto roots = parseIncludeRoots(" ~/shared : /abs/dir::/abs/dir/ : rel ", "/home/u");
  ASSERT_EQ(roots.size(), 3u);
  EXPECT_EQ(roots[0], fs::path("/home/u/shared"));
  EXPECT_EQ(roots[1], fs::path("/abs/dir"));
  EXPECT_EQ(roots[2], (fs::current_path() / "rel").lexically_normal());
  EXPECT_TRUE(parseIncludeRoots("", "/home/u").empty());
  EXPECT_TRUE(parseIncludeRoots(" : ", "/home/u").empty());
}

}  // namespace
}  // namespace talon::config
