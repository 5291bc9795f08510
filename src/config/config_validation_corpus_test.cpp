// Data-driven validation tests: every src/config/testdata/validation/*.json5 is loaded with
// validateConfig() and its diagnostics must equal the neighbouring .expected file, one per line:
//
//   <severity> <code> <file relative to testdata/validation>:<line>:<column>: <path>: <message>
//
// A case sets its environment with `// env: NAME=value` lines in its leading comment (nothing else is
// visible). Absolute paths of this directory in messages are written as <dir>.
// Included files live in subdirectories, which are not cases themselves.
// To regenerate after an intended change: TALON_UPDATE_GOLDEN=1 talon_config_test, then review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config_loader.h"

namespace talon::config {
namespace {

namespace fs = std::filesystem;

fs::path corpusDir() { return fs::path(TALON_SOURCE_DIR) / "src/config/testdata/validation"; }

std::string readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Environment caseEnvironment(const std::string& text) {
  Environment env;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    static constexpr std::string_view kPrefix = "// env: ";
    if (line.rfind("//", 0) != 0) break;
    if (line.rfind(kPrefix, 0) != 0) continue;
    std::string assignment = line.substr(kPrefix.size());
    auto eq = assignment.find('=');
    if (eq != std::string::npos) env[assignment.substr(0, eq)] = assignment.substr(eq + 1);
  }
  return env;
}

// Absolute paths in messages become "<dir>/..." so the expectations do not depend on the checkout.
std::string relativeMessage(std::string message) {
  const std::string dir = corpusDir().string();
  for (std::size_t at = message.find(dir); at != std::string::npos; at = message.find(dir, at)) {
    message.replace(at, dir.size(), "<dir>");
  }
  return message;
}

std::string render(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) {
    std::string file =
        d.location.file.empty() ? "-" : fs::path(d.location.file).lexically_relative(corpusDir()).string();
    out += std::string(severityName(d.severity)) + " " + std::string(diagnosticCodeName(d.code)) + " " + file + ":" +
           std::to_string(d.location.line) + ":" + std::to_string(d.location.column) + ": " + displayPath(d.path) +
           ": " + relativeMessage(d.message) + "\n";
  }
  return out;
}

std::vector<std::string> caseNames() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(corpusDir())) {
    if (e.is_regular_file() && e.path().extension() == ".json5") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class ValidationCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(ValidationCorpus, DiagnosticsMatchExpected) {
  fs::path config = corpusDir() / (GetParam() + ".json5");
  fs::path expectedFile = corpusDir() / (GetParam() + ".expected");
  LoadOptions options;
  options.configPath = config;
  options.env = caseEnvironment(readAll(config));
  auto report = validateConfig(options);
  ASSERT_TRUE(report) << report.error().toString();
  std::string actual = render(report->diagnostics);
  const char* update = std::getenv("TALON_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(expectedFile, std::ios::binary | std::ios::trunc) << actual;
    GTEST_SKIP() << "updated " << expectedFile;
  }
  ASSERT_TRUE(fs::exists(expectedFile)) << "missing " << expectedFile << "; actual:\n" << actual;
  EXPECT_EQ(actual, readAll(expectedFile)) << "case " << GetParam();
  EXPECT_EQ(report->valid(), actual.find("error ") == std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Cases, ValidationCorpus, ::testing::ValuesIn(caseNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(ValidationCorpusSelfCheck, HasCases) { EXPECT_GE(caseNames().size(), 20u); }

}  // namespace
}  // namespace talon::config
