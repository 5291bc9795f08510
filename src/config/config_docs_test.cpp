// The ```json5 examples in docs/config.md must be valid configs, so the documentation cannot go stale.
// A block whose first line is `// file: NAME` is written as NAME next to the config (for `$include`
// examples); every other block is loaded as talon.json and must produce no error and no warning.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/config_loader.h"
#include "config/config_test_util.h"

namespace talon::config {
namespace {

struct Block {
  int line = 0;  // of the opening fence
  std::string text;
};

std::vector<Block> json5Blocks(const std::string& markdown) {
  std::vector<Block> blocks;
  std::istringstream in(markdown);
  std::string line;
  int lineNo = 0;
  bool inside = false;
  Block current;
  while (std::getline(in, line)) {
    ++lineNo;
    if (!inside && line == "```json5") {
      inside = true;
      current = Block{lineNo, ""};
    } else if (inside && line == "```") {
      inside = false;
      blocks.push_back(current);
    } else if (inside) {
      current.text += line + "\n";
    }
  }
  return blocks;
}

TEST(ConfigDocs, Json5ExamplesAreValidConfigs) {
  std::ifstream in(std::string(TALON_SOURCE_DIR) + "/docs/config.md");
  ASSERT_TRUE(in) << "docs/config.md not found";
  std::stringstream s;
  s << in.rdbuf();
  std::vector<Block> blocks = json5Blocks(s.str());
  ASSERT_GE(blocks.size(), 4u);

  testing::TempDir dir;
  static constexpr std::string_view kFilePrefix = "// file: ";
  for (const Block& b : blocks) {
    if (b.text.rfind(kFilePrefix, 0) == 0) {
      std::string name = b.text.substr(kFilePrefix.size(), b.text.find('\n') - kFilePrefix.size());
      dir.write(name, b.text);
    }
  }
  int checked = 0;
  for (const Block& b : blocks) {
    if (b.text.rfind(kFilePrefix, 0) == 0) continue;
    dir.write("talon.json", b.text);
    LoadOptions options;
    options.configPath = dir.path() / "talon.json";
    options.env = Environment{{"HOME", dir.path().string()},
                              {"TALON_DOCS_TOKEN", "docs-token-3f9c2a7e1b8d4c6f0a5e"},
                              {"TALON_DOCS_OPENAI_KEY", "sk-docs"}};
    auto loaded = loadConfig(options);
    ASSERT_TRUE(loaded) << "docs/config.md:" << b.line << ": " << loaded.error().message;
    for (const auto& w : loaded->warnings) ADD_FAILURE() << "docs/config.md:" << b.line << ": " << w.toString();
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

// The ```json5 blocks of a docs page (besides config.md) must load without error or warning. Each
// `${VAR}` an example names is set (to "example-value"), as the reader's environment would set it.
void expectPageExamplesValid(const std::string& page) {
  std::ifstream in(std::string(TALON_SOURCE_DIR) + "/docs/" + page);
  ASSERT_TRUE(in) << "docs/" << page << " not found";
  std::stringstream s;
  s << in.rdbuf();
  std::vector<Block> blocks = json5Blocks(s.str());
  ASSERT_GE(blocks.size(), 1u);
  testing::TempDir dir;
  for (const Block& b : blocks) {
    dir.write("talon.json", b.text);
    LoadOptions options;
    options.configPath = dir.path() / "talon.json";
    Environment env{{"HOME", dir.path().string()}};
    for (std::size_t at = b.text.find("${"); at != std::string::npos; at = b.text.find("${", at + 2)) {
      const std::size_t end = b.text.find('}', at);
      if (end != std::string::npos) env[b.text.substr(at + 2, end - at - 2)] = "example-value";
    }
    options.env = std::move(env);
    auto loaded = loadConfig(options);
    ASSERT_TRUE(loaded) << "docs/" << page << ":" << b.line << ": " << loaded.error().message;
    for (const auto& w : loaded->warnings) ADD_FAILURE() << "docs/" << page << ":" << b.line << ": " << w.toString();
  }
}

TEST(ConfigDocs, SecretsPageExamplesAreValidConfigs) { expectPageExamplesValid("secrets.md"); }

TEST(ConfigDocs, ChannelsPageExamplesAreValidConfigs) { expectPageExamplesValid("channels.md"); }

TEST(ConfigDocs, HeartbeatPageExamplesAreValidConfigs) { expectPageExamplesValid("heartbeat.md"); }

TEST(ConfigDocs, ProvidersPageExamplesAreValidConfigs) { expectPageExamplesValid("providers.md"); }

TEST(ConfigDocs, ProbesPageExamplesAreValidConfigs) { expectPageExamplesValid("probes.md"); }

}  // namespace
}  // namespace talon::config
