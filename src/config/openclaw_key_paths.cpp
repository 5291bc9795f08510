#include "config/openclaw_key_paths.h"

#include <algorithm>
#include <iterator>

namespace talon::config {

namespace {
constexpr std::string_view kPaths[] = {
#include "config/openclaw_key_paths.inc"
};
}  // namespace

bool isOpenClawKeyPath(std::string_view schemaPath) {
  return std::binary_search(std::begin(kPaths), std::end(kPaths), schemaPath);
}

std::span<const std::string_view> openClawKeyPaths() { return kPaths; }

}  // namespace talon::config
