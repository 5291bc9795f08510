#pragma once
// Test helpers for the config module's tests: a temporary directory per test, and validation of config
// text with its diagnostics as one string. Not part of the library
// (the build globs *_test.cpp into the test binary only; this header is included from those).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config::testing {

/// A fresh directory under the system temp dir (canonical path), removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    auto base = std::filesystem::canonical(std::filesystem::temp_directory_path());
    for (int i = 0; i < 100; ++i) {
      auto candidate = base / ("talon-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
      if (std::filesystem::create_directory(candidate)) {
        path_ = candidate;
        return;
      }
    }
    ADD_FAILURE() << "cannot create a temp dir";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  /// Writes `content` to `relative` (creating parent directories) and returns the full path.
  std::filesystem::path write(const std::string& relative, const std::string& content) const {
    auto p = path_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
    return p;
  }

 private:
  std::filesystem::path path_;
};

/// Parses `text` as JSON5 (as the file /c/talon.json) and validates it as an effective config with the
/// environment `env`; a parse failure fails the test and yields an empty result.
inline ValidationResult validate(std::string_view text, const Environment& env = {}) {
  auto doc = parseJson5(text, "/c/talon.json");
  EXPECT_TRUE(doc) << (doc ? "" : doc.error().message);
  if (!doc) return {};
  return validateEffectiveConfig(doc->value, doc->sourceMap, env);
}

/// Every diagnostic of `r`, one per line (for failure messages and substring checks).
inline std::string messages(const ValidationResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.toString() + "\n";
  return out;
}

}  // namespace talon::config::testing
