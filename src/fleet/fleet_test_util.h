#pragma once
// Shared by the fleet tests: a temp dir per test and inventories written into it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "fleet/inventory.h"

namespace talon::fleet::testing {

/// A fresh temp directory, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ =
        std::filesystem::temp_directory_path() / ("talon-fleet-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }

 private:
  std::filesystem::path path_;
};

/// The smallest valid inventory head: the organisation, then `rest` (members of the root object).
inline std::string inventoryText(const std::string& rest) {
  return "{\n  organisation: { id: \"org-t\", slug: \"t\", displayName: \"T\" },\n" + rest + "\n}\n";
}

/// The example organisation shipped in examples/fleet/.
inline std::filesystem::path exampleInventory() {
  return std::filesystem::path(TALON_SOURCE_DIR) / "examples" / "fleet" / "fleet.json5";
}

}  // namespace talon::fleet::testing
