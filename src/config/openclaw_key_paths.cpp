#include "config/openclaw_key_paths.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace talon::config {

namespace {

// The ~7,900 generated paths are kept as one block of characters and a table of offsets, built at compile
// time, rather than as an array of string_views: such an array is ~125 KB of pointers that the dynamic
// loader relocates, page by page, at every start of every `talon` command (bench/README.md, "Where start-up
// time goes"). Characters and offsets need no relocation.
consteval auto openClawKeyPathLiterals() {
  return std::to_array<std::string_view>({
#include "config/openclaw_key_paths.inc"
  });
}

constexpr std::size_t kPathCount = openClawKeyPathLiterals().size();

consteval std::size_t openClawKeyPathChars() {
  std::size_t n = 0;
  for (std::string_view p : openClawKeyPathLiterals()) n += p.size();
  return n;
}

struct KeyPathTable {
  std::array<char, openClawKeyPathChars()> chars;
  std::array<uint32_t, kPathCount + 1> offsets;  // path i is chars[offsets[i], offsets[i + 1])
};

consteval KeyPathTable buildKeyPathTable() {
  KeyPathTable table{};
  std::size_t at = 0;
  std::size_t i = 0;
  for (std::string_view p : openClawKeyPathLiterals()) {
    table.offsets[i++] = static_cast<uint32_t>(at);
    for (char c : p) table.chars[at++] = c;
  }
  table.offsets[i] = static_cast<uint32_t>(at);
  return table;
}

constexpr KeyPathTable kKeyPaths = buildKeyPathTable();

std::string_view keyPathAt(std::size_t i) {
  return {kKeyPaths.chars.data() + kKeyPaths.offsets[i], kKeyPaths.offsets[i + 1] - kKeyPaths.offsets[i]};
}

}  // namespace

bool isOpenClawKeyPath(std::string_view schemaPath) {
  std::size_t lo = 0;
  std::size_t hi = kPathCount;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const std::string_view p = keyPathAt(mid);
    if (p == schemaPath) return true;
    if (p < schemaPath) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return false;
}

std::span<const std::string_view> openClawKeyPaths() {
  static const std::vector<std::string_view> views = [] {
    std::vector<std::string_view> v;
    v.reserve(kPathCount);
    for (std::size_t i = 0; i < kPathCount; ++i) v.push_back(keyPathAt(i));
    return v;
  }();
  return views;
}

}  // namespace talon::config
