#pragma once
// A fresh directory per test, removed with everything in it when the object goes (tests are hermetic:
// STYLE.md "temp dirs per test").
#include <filesystem>
#include <string_view>

namespace talon::testing {

class TempDir {
 public:
  /// Creates <system temp>/<prefix>-XXXXXX (mkdtemp, mode 0700). Aborts the test binary when the
  /// directory cannot be created: nothing a test does without it would mean anything.
  explicit TempDir(std::string_view prefix = "talon-test");
  /// Removes the directory tree; errors are ignored (the OS cleans temp).
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// path() / relative.
  std::filesystem::path operator/(const std::filesystem::path& relative) const { return path_ / relative; }

 private:
  std::filesystem::path path_;
};

}  // namespace talon::testing
