// `talon doctor`'s checks of the per-agent state under <stateDir>/agents: orphaned agent directories
// and invalid state files, with and without --fix (quarantine, never deletion).
#include "gateway/doctor.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/temp_dir.h"

namespace talon::gateway {
namespace {

namespace fs = std::filesystem;

void writeFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class DoctorAgentStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(dir_.path().c_str(), 0700);
    writeFile(dir_ / "talon.json",
              R"({gateway: {mode: "local"}, agents: {ownership: "explicit", entries: {main: {}, ops: {}}}})");
    ::chmod((dir_ / "talon.json").c_str(), 0600);
    writeFile(dir_ / "agents/main/agent/models.json", R"({"providers": {}})");
    writeFile(dir_ / "agents/main/sessions/a.jsonl", "{\"type\":\"message\"}\n\n{\"type\":\"message\"}\n");
    writeFile(dir_ / "agents/main/sessions/notes.txt", "not json, not checked");
    writeFile(dir_ / "agents/ops/agent/auth-profiles.json", "{\"profiles\": {");  // truncated
    writeFile(dir_ / "agents/ops/sessions/b.jsonl", "{\"type\":\"message\"}\n{oops}\n");
    writeFile(dir_ / "agents/retired/agent/models.json", "{}");
  }

  std::vector<DoctorFinding> run(bool fix) {
    DoctorOptions o;
    o.load.configPath = dir_ / "talon.json";
    o.load.env = config::Environment{};
    o.stateDir = dir_.path();
    o.fix = fix;
    o.clock = clock_;
    return runDoctor(o);
  }

  static std::vector<const DoctorFinding*> withId(const std::vector<DoctorFinding>& all, std::string_view id) {
    std::vector<const DoctorFinding*> out;
    for (const auto& f : all) {
      if (f.finding.id == id) out.push_back(&f);
    }
    return out;
  }

  testing::TempDir dir_{"talon-doctor"};
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>(1'764'653'940'000);  // 2025-12-02T05:39:00Z
};

TEST_F(DoctorAgentStateTest, ReportsOrphanedDirectoriesAndInvalidFilesWithoutTouchingThemWithoutFix) {
  auto findings = run(false);
  auto orphaned = withId(findings, "state.agent_dir_orphaned");
  ASSERT_EQ(orphaned.size(), 1u);
  EXPECT_EQ(orphaned[0]->finding.severity, security::FindingSeverity::kWarn);
  EXPECT_NE(orphaned[0]->finding.detail.find("retired"), std::string::npos) << orphaned[0]->finding.detail;
  EXPECT_FALSE(orphaned[0]->finding.remediation.empty());

  auto invalid = withId(findings, "state.agent_file_invalid");
  ASSERT_EQ(invalid.size(), 2u);
  EXPECT_NE(invalid[0]->finding.detail.find("agents/ops/agent/auth-profiles.json"), std::string::npos);
  EXPECT_NE(invalid[1]->finding.detail.find("agents/ops/sessions/b.jsonl: line 2"), std::string::npos)
      << invalid[1]->finding.detail;
  for (const auto* f : invalid) {
    EXPECT_FALSE(f->fixed);
    EXPECT_NE(f->finding.remediation.find("--fix"), std::string::npos);
  }
  EXPECT_TRUE(fs::exists(dir_ / "agents/ops/agent/auth-profiles.json"));
  EXPECT_TRUE(fs::exists(dir_ / "agents/ops/sessions/b.jsonl"));
  EXPECT_FALSE(fs::exists(dir_ / ".quarantine"));
}

TEST_F(DoctorAgentStateTest, FixMovesInvalidFilesToTheQuarantineAndLeavesOrphanedDirectories) {
  auto findings = run(true);
  auto invalid = withId(findings, "state.agent_file_invalid");
  ASSERT_EQ(invalid.size(), 2u);
  for (const auto* f : invalid) EXPECT_TRUE(f->fixed) << f->finding.detail;
  EXPECT_FALSE(fs::exists(dir_ / "agents/ops/agent/auth-profiles.json"));
  EXPECT_FALSE(fs::exists(dir_ / "agents/ops/sessions/b.jsonl"));
  const auto q = dir_ / ".quarantine";
  std::ifstream moved(q / "agents/ops/agent/auth-profiles.json-20251202T053900Z");
  ASSERT_TRUE(moved);
  std::string text((std::istreambuf_iterator<char>(moved)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "{\"profiles\": {");  // kept as it was
  EXPECT_TRUE(fs::exists(q / "agents/ops/sessions/b.jsonl-20251202T053900Z"));
  struct stat st {};
  ASSERT_EQ(::stat(q.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // Valid and unchecked files stay; the orphaned directory is reported, never moved.
  EXPECT_TRUE(fs::exists(dir_ / "agents/main/agent/models.json"));
  EXPECT_TRUE(fs::exists(dir_ / "agents/main/sessions/notes.txt"));
  auto orphaned = withId(findings, "state.agent_dir_orphaned");
  ASSERT_EQ(orphaned.size(), 1u);
  EXPECT_FALSE(orphaned[0]->fixed);
  EXPECT_TRUE(fs::exists(dir_ / "agents/retired/agent/models.json"));

  // A second run finds nothing left to quarantine.
  EXPECT_TRUE(withId(run(true), "state.agent_file_invalid").empty());
}

TEST_F(DoctorAgentStateTest, AnInvalidConfigStillChecksTheFilesButNamesNoDirectoryOrphaned) {
  writeFile(dir_ / "talon.json", R"({agents: {entries: {"Bad Id!": {}}}})");
  auto findings = run(false);
  EXPECT_EQ(withId(findings, "config.invalid").size(), 1u);
  EXPECT_TRUE(withId(findings, "state.agent_dir_orphaned").empty());
  EXPECT_EQ(withId(findings, "state.agent_file_invalid").size(), 2u);
}

}  // namespace
}  // namespace talon::gateway
