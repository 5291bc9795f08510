#pragma once
// Whole-file reads and crash-safe writes.
#include <filesystem>
#include <string>
#include <string_view>

#include "base/error.h"

namespace talon {

/// Reads a whole file. Errors: kNotFound when it does not exist, kIo otherwise; kResourceExhausted
/// when it is larger than `maxBytes`.
Result<std::string> readFile(const std::filesystem::path& path, std::size_t maxBytes = 64u << 20);

/// Writes `data` to `path` atomically: a temp file in the same folder, fsync, rename, fsync of the
/// folder. A crash leaves either the old or the new content. `mode` is the new file's permission bits.
Status writeFileAtomic(const std::filesystem::path& path, std::string_view data, unsigned mode = 0644);

}  // namespace talon
