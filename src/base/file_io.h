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

/// How far writeFileAtomic() goes.
enum class FileDurability {
  kDurable,     // fsync the file and its folder: after a power loss the file is the old or the new one
  kAtomicOnly,  // no fsync: readers never see a partial file, but a power loss may lose it (for
                // rendezvous files such as --port-file, which mean nothing after a reboot)
};

/// Writes `data` to `path` atomically: a temp file in the same folder, then rename (with kDurable: fsync
/// of the file before and of the folder after). A crash leaves either the old or the new content.
/// `mode` is the new file's permission bits.
Status writeFileAtomic(const std::filesystem::path& path, std::string_view data, unsigned mode = 0644,
                       FileDurability durability = FileDurability::kDurable);

/// A new content of `path()` written to a temp file in the same folder (fsynced with kDurable) and not yet
/// in place: commit() renames it over the file (then fsyncs the folder with kDurable); a staged file that
/// is destroyed uncommitted removes its temp file. Stage every file of a change first and commit them
/// after, so that a failure while writing leaves every file as it was. Not thread-safe; movable.
class StagedFile {
 public:
  /// Writes the temp file. Errors: kIo naming the temp file.
  static Result<StagedFile> stage(const std::filesystem::path& path, std::string_view data, unsigned mode = 0644,
                                  FileDurability durability = FileDurability::kDurable);
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&& other) noexcept;
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile();

  /// Renames the temp file over path(). Errors: kIo (the temp file is removed, path() is unchanged).
  Status commit();
  const std::filesystem::path& path() const { return path_; }

 private:
  StagedFile() = default;
  std::filesystem::path path_;
  std::filesystem::path tmp_;
  FileDurability durability_ = FileDurability::kDurable;
};

}  // namespace talon
