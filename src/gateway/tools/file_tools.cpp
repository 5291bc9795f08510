#include "gateway/tools/file_tools.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "base/ids.h"
#include "gateway/tools/workspace_fs.h"

namespace talon::gateway::tools {
namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;
constexpr std::size_t kNoticeReserve = 256;  // room kept for the continuation notice in a read page
constexpr std::size_t kBinarySniffBytes = 8 * 1024;
constexpr std::size_t kEditMismatchSnippet = 800;
constexpr std::string_view kBom = "\xEF\xBB\xBF";

// ---- argument helpers -------------------------------------------------------------------------

Result<std::string> requiredString(const json::object& args, std::string_view key, std::string_view tool) {
  auto it = args.find(key);
  if (it == args.end() || !it->value().is_string()) {
    return fail(toolError(ErrorCode::kInvalidArgument, fmt::format("{}: `{}` is required (a string).", tool, key)));
  }
  return std::string(it->value().get_string());
}

std::optional<double> optionalNumber(const json::object& args, std::string_view key) {
  auto it = args.find(key);
  if (it == args.end()) return std::nullopt;
  const json::value& v = it->value();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

bool present(const json::object& args, std::string_view key) {
  auto it = args.find(key);
  return it != args.end() && !it->value().is_null();
}

// OpenClaw `normalizePositiveLimit`: a finite number is floored and raised to at least 1; anything
// else gives `fallback`.
std::size_t positiveLimit(const json::object& args, std::string_view key, std::size_t fallback) {
  auto n = optionalNumber(args, key);
  if (!n || !std::isfinite(*n)) return fallback;
  double floored = std::floor(*n);
  if (floored < 1) return 1;
  if (floored > 1e12) return static_cast<std::size_t>(1e12);
  return static_cast<std::size_t>(floored);
}

// ---- UTF-8 ------------------------------------------------------------------------------------

bool isContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::size_t countChars(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return !isContinuation(c); }));
}

// Replaces invalid UTF-8 with U+FFFD, one per offending byte, as a text decoder would.
std::string sanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) ok = isContinuation(s[i + k]);
    if (ok && len > 1) {
      uint32_t cp = b & (0x7F >> len);
      for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

// ---- file helpers -----------------------------------------------------------------------------

Result<Workspace> openWorkspace(const ToolContext& ctx) {
  auto ws = Workspace::open(ctx.workspaceDir);
  if (!ws) {
    Error e = std::move(ws).error();
    return fail(toolError(e.code, "The agent workspace is not available: " + e.publicMessage()));
  }
  return ws;
}

Error fsError(std::string_view what, std::string_view path, int err) {
  if (err == EACCES || err == EPERM) {
    return toolError(ErrorCode::kPermissionDenied, fmt::format("Permission denied: cannot {} {}.", what, path));
  }
  if (err == ENOSPC || err == EDQUOT) {
    return toolError(ErrorCode::kResourceExhausted, fmt::format("No space left to {} {}.", what, path));
  }
  return toolError(ErrorCode::kIo, fmt::format("Could not {} {}: {}.", what, path, std::strerror(err)));
}

// The current metadata of the resolved entry, without following a link. A mutation re-reads it after
// taking the file's lock, because another call may have replaced the file since resolve().
Result<struct stat> currentStat(const ResolvedPath& r, std::string_view path) {
  struct stat st {};
  if (::fstatat(r.dir.get(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    int err = errno;
    if (err == ENOENT) return fail(toolError(ErrorCode::kNotFound, fmt::format("{} no longer exists.", path)));
    return fail(fsError("inspect", path, err));
  }
  if (S_ISLNK(st.st_mode)) {
    return fail(toolError(ErrorCode::kPermissionDenied,
                          fmt::format("Refusing to write through a symbolic link: {} was replaced by a link.", path)));
  }
  return st;
}

// Opens the resolved regular file for reading and checks it is the inode `expected` describes.
Result<UniqueFd> openRegularForRead(const ResolvedPath& r, const struct stat& expected, std::string_view path) {
  UniqueFd fd(::openat(r.dir.get(), r.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return fail(fsError("open", path, errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(fsError("inspect", path, errno));
  if (!S_ISREG(st.st_mode) || st.st_ino != expected.st_ino || st.st_dev != expected.st_dev) {
    return fail(toolError(ErrorCode::kFailedPrecondition,
                          fmt::format("{} changed while it was being opened; try again.", path)));
  }
  return fd;
}

// Refuses to replace a file the agent may not write (atomic replacement would otherwise succeed on
// a read-only file, since it only needs write access to the directory).
Status checkWritable(const ResolvedPath& r, std::string_view path) {
  if (::faccessat(r.dir.get(), r.name.c_str(), W_OK, AT_EACCESS) != 0) {
    int err = errno;
    if (err == EACCES || err == EPERM || err == EROFS) {
      return fail(toolError(ErrorCode::kPermissionDenied, fmt::format("Permission denied: {} is read-only.", path)));
    }
    return fail(fsError("write", path, err));
  }
  return {};
}

// Reads up to `max` bytes; `tooLarge` is set when there is more.
Result<std::string> readAll(int fd, std::size_t max, bool& tooLarge, std::string_view path) {
  std::string out;
  char buf[kChunkBytes];
  tooLarge = false;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(fsError("read", path, errno));
    }
    if (n == 0) return out;
    if (out.size() + static_cast<std::size_t>(n) > max) {
      tooLarge = true;
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// Replaces `name` in `dir` atomically (temp file in the same directory, fsync, renameat). renameat
// replaces a directory entry and never writes through a link. `mode`: exact permission bits, or
// nullopt for a new file (0666 filtered by the umask).
Status atomicReplace(int dir, const std::string& name, std::string_view content, std::optional<mode_t> mode,
                     std::string_view path) {
  std::string tmp = ".talon-write-" + randomHex(8) + ".tmp";
  UniqueFd fd(::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
  if (!fd.valid()) return fail(fsError("write", path, errno));
  auto abandon = [&](int err) {
    fd = UniqueFd();
    ::unlinkat(dir, tmp.c_str(), 0);
    return fail(fsError("write", path, err));
  };
  if (mode && ::fchmod(fd.get(), *mode) != 0) return abandon(errno);
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return abandon(errno);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return abandon(errno);
  if (::close(fd.release()) != 0) return abandon(errno);
  if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) return abandon(errno);
  ::fsync(dir);
  return {};
}

// Serialises writes and edits of the same file within this process (a model may issue several
// calls for one file in parallel; edit is read-modify-write). Striped: unrelated files rarely share
// a lock, and sharing one only costs a wait.
std::mutex& mutationLock(const ResolvedPath& r) {
  static std::array<std::mutex, 64> locks;
  struct stat dirSt {};
  ::fstat(r.dir.get(), &dirSt);
  std::size_t h = std::hash<std::string>{}(fmt::format("{}:{}/{}", dirSt.st_dev, dirSt.st_ino, r.name));
  return locks[h % locks.size()];
}

std::string_view imageMimeType(std::string_view head) {
  if (head.starts_with("\x89PNG\r\n\x1A\n")) return "image/png";
  if (head.starts_with("\xFF\xD8\xFF")) return "image/jpeg";
  if (head.starts_with("GIF87a") || head.starts_with("GIF89a")) return "image/gif";
  if (head.size() >= 12 && head.starts_with("RIFF") && head.substr(8, 4) == "WEBP") return "image/webp";
  return {};
}

std::string lineWord(std::size_t n) { return n == 1 ? "line" : "lines"; }

// ---- read -------------------------------------------------------------------------------------

// Builds one page of a text file from a stream of chunks (BOM removed, CRLF folded to LF), keeping
// OpenClaw's line model: lines are separated by '\n' and a final '\n' does not start another line.
class ReadPager {
 public:
  ReadPager(std::size_t startLine, std::optional<std::size_t> maxLines, std::size_t cursor)
      : startLine_(startLine), maxLines_(maxLines), cursor_(cursor), skipChars_(cursor), skipping_(cursor > 0) {}

  void feed(std::string_view data) {
    std::size_t pos = 0;
    while (pos < data.size()) {
      std::size_t nl = data.find('\n', pos);
      bool endsLine = nl != std::string_view::npos;
      std::size_t end = endsLine ? nl : data.size();
      segment(data.substr(pos, end - pos), endsLine);
      pos = endsLine ? nl + 1 : data.size();
    }
  }

  std::string finish(std::size_t fileBytes) {
    std::size_t total = line_ + (lineHasContent_ ? 1 : 0);
    std::size_t shownStart = startLine_ + 1;
    if (total == 0) {
      return fileBytes == 0 ? "File is empty (0 bytes)."
                            : fmt::format("File contains no readable text ({} bytes).", fileBytes);
    }
    if (startLine_ >= total) {
      return fmt::format("Offset {} is beyond end of file ({} {} total). Retry with offset <= {}.", shownStart, total,
                         lineWord(total), total);
    }
    if (cursor_ > 0 && cursor_ >= startLineChars_) {
      std::string text = fmt::format("Cursor {} is at or beyond the end of line {} ({} characters).", cursor_,
                                     shownStart, startLineChars_);
      if (shownStart < total) text += fmt::format(" Use offset={} to continue.", shownStart + 1);
      return text;
    }
    std::string content = sanitizeUtf8(out_);
    std::size_t selectedEnd = startLine_ + selectedLines_;  // one past the last line shown (0-based)
    bool reachesEof = stop_ == Stop::kNone && selectedEnd >= total;
    if (!reachesEof && !content.empty() && content.back() == '\n') content.pop_back();

    std::string limitArg;
    if (stop_ == Stop::kCursor) {
      if (maxLines_) limitArg = fmt::format(", limit={}", *maxLines_);
      return content + fmt::format(
                           "\n\n[Showing part of line {} ({}KB limit). Use read with offset={}, cursor={}{} "
                           "to continue.]",
                           shownStart, kReadMaxBytes / 1024, shownStart, cursor_ + emittedStartChars_, limitArg);
    }
    if (stop_ != Stop::kNone) {
      std::size_t next = nextLine_ + 1;
      if (maxLines_) limitArg = fmt::format(", limit={}", startLine_ + *maxLines_ - nextLine_);
      std::string why = stop_ == Stop::kLines ? fmt::format("{}-line limit", kReadMaxLines)
                                              : fmt::format("{}KB limit", kReadMaxBytes / 1024);
      return content + fmt::format("\n\n[Showing lines {}-{} of {} ({}). Use offset={}{} to continue.]", shownStart,
                                   next - 1, total, why, next, limitArg);
    }
    if (maxLines_ && selectedEnd < total) {
      std::size_t remaining = total - selectedEnd;
      return content + fmt::format("\n\n[{} more {} in file. Use offset={} to continue.]", remaining,
                                   lineWord(remaining), selectedEnd + 1);
    }
    return content;
  }

 private:
  enum class Stop { kNone, kLines, kBytes, kCursor };

  bool inSelection() const { return line_ >= startLine_ && (!maxLines_ || line_ - startLine_ < *maxLines_); }

  void segment(std::string_view seg, bool endsLine) {
    lineHasContent_ = true;
    if (line_ == startLine_) startLineChars_ += countChars(seg);
    if (inSelection() && stop_ == Stop::kNone) emit(seg, endsLine);
    if (endsLine) {
      ++line_;
      lineHasContent_ = false;
      lineOpen_ = false;
    }
  }

  void emit(std::string_view seg, bool endsLine) {
    bool first = line_ == startLine_;
    if (!lineOpen_) {
      if (selectedLines_ == kReadMaxLines) {
        stopAt(Stop::kLines);
        return;
      }
      lineOpen_ = true;
      lineStartInOut_ = out_.size();
      ++selectedLines_;
    }
    if (first && skipping_) {
      std::size_t i = 0;
      for (; i < seg.size(); ++i) {
        if (!isContinuation(seg[i])) {
          if (skipChars_ == 0) {
            skipping_ = false;
            break;
          }
          --skipChars_;
        }
      }
      seg.remove_prefix(i);
    }
    std::size_t budget = kReadMaxBytes - kNoticeReserve;
    if (out_.size() + seg.size() + (endsLine ? 1 : 0) > budget) {
      if (first) {
        std::size_t cut = std::min(seg.size(), budget - out_.size());
        while (cut > 0 && cut < seg.size() && isContinuation(seg[cut])) --cut;
        out_.append(seg.substr(0, cut));
        emittedStartChars_ += countChars(seg.substr(0, cut));
        stop_ = Stop::kCursor;
      } else {
        out_.resize(lineStartInOut_);
        --selectedLines_;
        stopAt(Stop::kBytes);
      }
      return;
    }
    out_.append(seg);
    if (first) emittedStartChars_ += countChars(seg);
    if (endsLine) out_.push_back('\n');
  }

  void stopAt(Stop why) {
    stop_ = why;
    nextLine_ = line_;
  }

  std::size_t startLine_;
  std::optional<std::size_t> maxLines_;
  std::size_t cursor_;
  std::size_t skipChars_;
  bool skipping_;

  std::size_t line_ = 0;
  bool lineHasContent_ = false;
  bool lineOpen_ = false;
  std::size_t lineStartInOut_ = 0;
  std::size_t selectedLines_ = 0;
  std::size_t startLineChars_ = 0;
  std::size_t emittedStartChars_ = 0;
  std::string out_;
  Stop stop_ = Stop::kNone;
  std::size_t nextLine_ = 0;
};

json::object readSchema() {
  return json::parse(R"({
    "type": "object",
    "properties": {
      "path": {"type": "string", "description": "File path; relative to the workspace, or absolute inside it."},
      "offset": {"type": "integer", "minimum": 1, "description": "Start line; 1-based."},
      "limit": {"type": "number", "description": "Max lines."},
      "cursor": {"type": "integer", "minimum": 0, "description": "Character position within the start line; 0-based."},
      "optional": {"type": "boolean", "enum": [true], "description": "Missing paths return a not-found note instead of failing."}
    },
    "required": ["path"]
  })")
      .as_object();
}

class ReadTool final : public Tool {
 public:
  std::string_view name() const override { return "read"; }
  bool sideEffects() const override { return false; }
  std::string_view description() const override { return description_; }
  const json::object& parameters() const override { return schema_; }

  Result<std::string> invoke(const json::object& args, const ToolContext& ctx) const override {
    auto path = requiredString(args, "path", "read");
    if (!path) return fail(std::move(path).error());
    std::size_t startLine = 0;
    if (present(args, "offset")) {
      auto offset = optionalNumber(args, "offset");
      if (!offset || *offset < 1 || std::floor(*offset) != *offset || *offset > 1e15) {
        return fail(toolError(ErrorCode::kInvalidArgument, "Offset must be an integer at least 1"));
      }
      startLine = static_cast<std::size_t>(*offset) - 1;
    }
    std::size_t cursor = 0;
    if (present(args, "cursor")) {
      auto c = optionalNumber(args, "cursor");
      if (!c || *c < 0 || std::floor(*c) != *c || *c > 1e15) {
        return fail(toolError(ErrorCode::kInvalidArgument, "Cursor must be an integer at least 0"));
      }
      cursor = static_cast<std::size_t>(*c);
    }
    std::optional<std::size_t> maxLines;
    if (present(args, "limit")) maxLines = positiveLimit(args, "limit", kReadMaxLines);
    auto optionalIt = args.find("optional");
    bool optional = optionalIt != args.end() && optionalIt->value().is_bool() && optionalIt->value().get_bool();

    auto ws = openWorkspace(ctx);
    if (!ws) return fail(std::move(ws).error());
    auto resolved = ws->resolve(*path, SymlinkPolicy::kFollowInside);
    if (!resolved) {
      if (optional && resolved.error().code == ErrorCode::kNotFound) return "Optional file not found: " + *path + ".";
      return fail(std::move(resolved).error());
    }
    const ResolvedPath& r = *resolved;
    if (!r.exists) {
      if (optional) return "Optional file not found: " + *path + ".";
      return fail(toolError(ErrorCode::kNotFound,
                            fmt::format("File not found: {}. Use ls to see what the directory contains.", *path)));
    }
    if (S_ISDIR(r.st.st_mode)) {
      return fail(toolError(ErrorCode::kInvalidArgument,
                            fmt::format("Read requires a file path, but {} is a directory. List the directory, then "
                                        "read a specific file.",
                                        *path)));
    }
    if (!S_ISREG(r.st.st_mode)) {
      return fail(toolError(ErrorCode::kInvalidArgument,
                            fmt::format("Read only supports regular files; no read was attempted: {}", *path)));
    }
    auto fd = openRegularForRead(r, r.st, *path);
    if (!fd) return fail(std::move(fd).error());

    ReadPager pager(startLine, maxLines, cursor);
    std::string chunk(kChunkBytes, '\0');
    std::size_t fileBytes = 0;
    bool first = true;
    bool pendingCr = false;
    for (;;) {
      if (ctx.isCancelled()) return fail(toolError(ErrorCode::kCancelled, "Operation aborted"));
      ssize_t n = ::read(fd->get(), chunk.data(), chunk.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(fsError("read", *path, errno));
      }
      if (n == 0) break;
      fileBytes += static_cast<std::size_t>(n);
      std::string_view data(chunk.data(), static_cast<std::size_t>(n));
      if (first) {
        first = false;
        std::string_view head = data.substr(0, kBinarySniffBytes);
        if (auto mime = imageMimeType(head); !mime.empty()) {
          return fail(toolError(
              ErrorCode::kInvalidArgument,
              fmt::format("{} is an image ({}); read returns text only, so it cannot be shown.", *path, mime)));
        }
        if (head.find('\0') != std::string_view::npos) {
          return fail(toolError(ErrorCode::kInvalidArgument,
                                fmt::format("{} looks like a binary file (it contains NUL bytes); read returns text "
                                            "only.",
                                            *path)));
        }
        if (data.starts_with(kBom)) data.remove_prefix(kBom.size());
      }
      // Fold CRLF to LF; a '\r' at the end of a chunk waits for the next one.
      std::string folded;
      folded.reserve(data.size() + 1);
      if (pendingCr && !(data.size() > 0 && data.front() == '\n')) folded.push_back('\r');
      pendingCr = false;
      for (std::size_t i = 0; i < data.size(); ++i) {
        if (data[i] == '\r') {
          if (i + 1 == data.size()) {
            pendingCr = true;
          } else if (data[i + 1] != '\n') {
            folded.push_back('\r');
          }
          continue;
        }
        folded.push_back(data[i]);
      }
      pager.feed(folded);
    }
    if (pendingCr) pager.feed("\r");
    return pager.finish(fileBytes);
  }

 private:
  std::string description_ = fmt::format(
      "Read a text file in the workspace. Output is capped at {} lines or {}KB; continue with offset/limit, or "
      "cursor within a long line.",
      kReadMaxLines, kReadMaxBytes / 1024);
  json::object schema_ = readSchema();
};

// ---- write ------------------------------------------------------------------------------------

class WriteTool final : public Tool {
 public:
  std::string_view name() const override { return "write"; }
  std::string_view description() const override {
    return "Write or overwrite a file in the workspace; creates parent directories. Use only for new files or "
           "complete rewrites.";
  }
  const json::object& parameters() const override { return schema_; }

  Result<std::string> invoke(const json::object& args, const ToolContext& ctx) const override {
    auto path = requiredString(args, "path", "write");
    if (!path) return fail(std::move(path).error());
    auto content = requiredString(args, "content", "write");
    if (!content) return fail(std::move(content).error());
    if (ctx.isCancelled()) return fail(toolError(ErrorCode::kCancelled, "Operation aborted"));

    auto ws = openWorkspace(ctx);
    if (!ws) return fail(std::move(ws).error());
    auto resolved = ws->resolve(*path, SymlinkPolicy::kRefuse, /*createParents=*/true);
    if (!resolved) return fail(std::move(resolved).error());
    const ResolvedPath& r = *resolved;
    if (r.name == "." || (r.exists && S_ISDIR(r.st.st_mode))) {
      return fail(toolError(ErrorCode::kInvalidArgument,
                            fmt::format("Cannot write {}: it is a directory. Give a file path.", *path)));
    }
    if (r.exists && !S_ISREG(r.st.st_mode)) {
      return fail(
          toolError(ErrorCode::kInvalidArgument, fmt::format("Cannot write {}: it is not a regular file.", *path)));
    }
    std::lock_guard<std::mutex> lock(mutationLock(r));
    std::optional<mode_t> mode;
    if (r.exists) {
      auto st = currentStat(r, *path);
      if (!st && st.error().code != ErrorCode::kNotFound) return fail(std::move(st).error());
      if (st && !S_ISREG(st->st_mode)) {
        return fail(
            toolError(ErrorCode::kInvalidArgument, fmt::format("Cannot write {}: it is not a regular file.", *path)));
      }
      if (st) {
        if (auto w = checkWritable(r, *path); !w) return fail(std::move(w).error());
        mode = st->st_mode & 07777;
      }
      if (st && static_cast<std::size_t>(st->st_size) == content->size()) {
        auto fd = openRegularForRead(r, *st, *path);
        if (!fd) return fail(std::move(fd).error());
        bool tooLarge = false;
        auto current = readAll(fd->get(), content->size(), tooLarge, *path);
        if (!current) return fail(std::move(current).error());
        if (!tooLarge && *current == *content) {
          return fmt::format("No changes made to {}. The file already has identical content.", *path);
        }
      }
    }
    if (auto st = atomicReplace(r.dir.get(), r.name, *content, mode, *path); !st) return fail(std::move(st).error());
    return fmt::format("Successfully wrote {} bytes to {}", content->size(), *path);
  }

 private:
  json::object schema_ = json::parse(R"({
    "type": "object",
    "properties": {
      "path": {"type": "string", "description": "File path; relative to the workspace, or absolute inside it."},
      "content": {"type": "string", "description": "File content."}
    },
    "required": ["path", "content"]
  })")
                             .as_object();
};

// ---- edit -------------------------------------------------------------------------------------

struct Replacement {
  std::string oldText;
  std::string newText;
};

std::string toLf(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out.push_back(s[i]);
  }
  return out;
}

std::string toCrlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 16);
  for (char c : s) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

std::size_t countOccurrences(std::string_view haystack, std::string_view needle, std::size_t& firstAt) {
  std::size_t count = 0;
  firstAt = std::string_view::npos;
  for (std::size_t pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    if (count == 0) firstAt = pos;
    ++count;
  }
  return count;
}

// OpenClaw `prepareEditArguments` + `validateEditInput`: `edits` (an array, or a JSON string of
// one), plus a top-level oldText/newText pair appended when not already listed.
Result<std::vector<Replacement>> editsFromArgs(const json::object& args) {
  std::vector<Replacement> edits;
  const json::array* list = nullptr;
  json::value parsedList;
  auto it = args.find("edits");
  if (it != args.end()) {
    if (it->value().is_string()) {
      auto parsed = parseJson(it->value().get_string());
      if (parsed && parsed->is_array()) {
        parsedList = std::move(*parsed);
        list = &parsedList.get_array();
      }
    } else if (it->value().is_array()) {
      list = &it->value().get_array();
    }
    if (list == nullptr && !it->value().is_null()) {
      return fail(toolError(ErrorCode::kInvalidArgument,
                            "Edit tool input is invalid. edits must be an array of {oldText, newText} objects."));
    }
  }
  if (list != nullptr) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const json::value& e = (*list)[i];
      const json::object* o = e.if_object();
      auto oldText = o ? getString(*o, "oldText") : std::nullopt;
      auto newText = o ? getString(*o, "newText") : std::nullopt;
      if (!oldText || !newText) {
        return fail(
            toolError(ErrorCode::kInvalidArgument,
                      fmt::format("Edit tool input is invalid. edits[{}] needs string oldText and newText.", i)));
      }
      edits.push_back({std::string(*oldText), std::string(*newText)});
    }
  }
  auto oldText = getString(args, "oldText");
  auto newText = getString(args, "newText");
  if (oldText && newText) {
    bool listed = std::any_of(edits.begin(), edits.end(),
                              [&](const Replacement& r) { return r.oldText == *oldText && r.newText == *newText; });
    if (!listed) edits.push_back({std::string(*oldText), std::string(*newText)});
  }
  if (edits.empty()) {
    return fail(toolError(ErrorCode::kInvalidArgument,
                          "Edit tool input is invalid. edits must contain at least one replacement."));
  }
  return edits;
}

std::string mismatchSnippet(std::string_view content) {
  if (content.size() <= kEditMismatchSnippet) return sanitizeUtf8(content);
  std::size_t cut = kEditMismatchSnippet;
  while (cut > 0 && isContinuation(content[cut])) --cut;
  return sanitizeUtf8(content.substr(0, cut)) + "\n... (truncated)";
}

class EditTool final : public Tool {
 public:
  std::string_view name() const override { return "edit"; }
  std::string_view description() const override {
    return "Exact single-file replacements. Each oldText must match the file exactly, once, and not overlap another "
           "edit; put several disjoint changes in one call.";
  }
  const json::object& parameters() const override { return schema_; }

  Result<std::string> invoke(const json::object& args, const ToolContext& ctx) const override {
    auto path = requiredString(args, "path", "edit");
    if (!path) return fail(std::move(path).error());
    auto edits = editsFromArgs(args);
    if (!edits) return fail(std::move(edits).error());
    if (ctx.isCancelled()) return fail(toolError(ErrorCode::kCancelled, "Operation aborted"));

    auto ws = openWorkspace(ctx);
    if (!ws) return fail(std::move(ws).error());
    auto resolved = ws->resolve(*path, SymlinkPolicy::kRefuse);
    if (!resolved) return fail(std::move(resolved).error());
    const ResolvedPath& r = *resolved;
    if (!r.exists) {
      return fail(toolError(ErrorCode::kNotFound,
                            fmt::format("Could not edit file: {}. It does not exist; use write to create it.", *path)));
    }
    if (!S_ISREG(r.st.st_mode)) {
      return fail(toolError(ErrorCode::kInvalidArgument,
                            fmt::format("Could not edit file: {}. It is not a regular file.", *path)));
    }
    std::lock_guard<std::mutex> lock(mutationLock(r));
    auto st = currentStat(r, *path);
    if (!st) return fail(std::move(st).error());
    if (!S_ISREG(st->st_mode)) {
      return fail(toolError(ErrorCode::kInvalidArgument,
                            fmt::format("Could not edit file: {}. It is not a regular file.", *path)));
    }
    if (auto w = checkWritable(r, *path); !w) return fail(std::move(w).error());
    auto fd = openRegularForRead(r, *st, *path);
    if (!fd) return fail(std::move(fd).error());
    bool tooLarge = false;
    auto raw = readAll(fd->get(), kEditMaxFileBytes, tooLarge, *path);
    if (!raw) return fail(std::move(raw).error());
    if (tooLarge) {
      return fail(toolError(ErrorCode::kResourceExhausted,
                            fmt::format("Could not edit file: {}. It is larger than {} MiB; edit only loads files up "
                                        "to that size.",
                                        *path, kEditMaxFileBytes >> 20)));
    }

    std::string_view body = *raw;
    bool bom = body.starts_with(kBom);
    if (bom) body.remove_prefix(kBom.size());
    // Line endings: a file that uses CRLF throughout is edited as LF and written back as CRLF; edit
    // texts are folded to LF unless the file mixes endings (then everything is matched as is).
    std::size_t lfCount = static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n'));
    std::string crlfPair = "\r\n";
    std::size_t crlfCount = 0;
    for (std::size_t p = body.find(crlfPair); p != std::string_view::npos; p = body.find(crlfPair, p + 2)) ++crlfCount;
    bool crlfFile = crlfCount > 0 && crlfCount == lfCount;
    bool mixed = crlfCount > 0 && crlfCount != lfCount;
    std::string content = crlfFile ? toLf(body) : std::string(body);

    struct Match {
      std::size_t editIndex, at, length;
      const std::string* newText;
    };
    std::vector<Match> matches;
    std::vector<std::string> newTexts(edits->size());
    const std::size_t n = edits->size();
    for (std::size_t i = 0; i < n; ++i) {
      std::string oldText = mixed ? (*edits)[i].oldText : toLf((*edits)[i].oldText);
      newTexts[i] = mixed ? (*edits)[i].newText : toLf((*edits)[i].newText);
      if (oldText.empty()) {
        return fail(toolError(ErrorCode::kInvalidArgument,
                              n == 1 ? fmt::format("oldText must not be empty in {}.", *path)
                                     : fmt::format("edits[{}].oldText must not be empty in {}.", i, *path)));
      }
      std::size_t at = 0;
      std::size_t count = countOccurrences(content, oldText, at);
      if (count == 0) {
        std::string prefix = n == 1 ? "Could not find the exact text" : fmt::format("Could not find edits[{}]", i);
        return fail(toolError(ErrorCode::kInvalidArgument,
                              fmt::format("{} in {}. The old text must match exactly including all whitespace and "
                                          "newlines.\nCurrent file contents:\n{}",
                                          prefix, *path, mismatchSnippet(content))));
      }
      if (count > 1) {
        return fail(toolError(
            ErrorCode::kInvalidArgument,
            n == 1 ? fmt::format("Found {} occurrences of the text in {}. The text must be unique. Please provide more "
                                 "context to make it unique.",
                                 count, *path)
                   : fmt::format("Found {} occurrences of edits[{}] in {}. Each oldText must be unique. Please "
                                 "provide more context to make it unique.",
                                 count, i, *path)));
      }
      matches.push_back({i, at, oldText.size(), &newTexts[i]});
    }
    std::sort(matches.begin(), matches.end(), [](const Match& a, const Match& b) { return a.at < b.at; });
    for (std::size_t i = 1; i < matches.size(); ++i) {
      if (matches[i - 1].at + matches[i - 1].length > matches[i].at) {
        return fail(toolError(ErrorCode::kInvalidArgument,
                              fmt::format("edits[{}] and edits[{}] overlap in {}. Merge them into one edit or target "
                                          "disjoint regions.",
                                          matches[i - 1].editIndex, matches[i].editIndex, *path)));
      }
    }
    std::size_t changed = 0;
    std::string updated;
    updated.reserve(content.size());
    std::size_t cursor = 0;
    for (const Match& m : matches) {
      updated.append(content, cursor, m.at - cursor);
      updated.append(*m.newText);
      cursor = m.at + m.length;
      if (content.compare(m.at, m.length, *m.newText) != 0) ++changed;
    }
    updated.append(content, cursor, std::string::npos);
    if (changed == 0) {
      return fmt::format("No changes made to {}. The replacement text is identical to the original.", *path);
    }
    std::string output = std::string(bom ? kBom : "") + (crlfFile ? toCrlf(updated) : updated);
    if (auto done = atomicReplace(r.dir.get(), r.name, output, st->st_mode & 07777, *path); !done) {
      return fail(std::move(done).error());
    }
    return fmt::format("Successfully replaced {} block(s) in {}.", changed, *path);
  }

 private:
  json::object schema_ = json::parse(R"({
    "type": "object",
    "properties": {
      "path": {"type": "string", "description": "File path; relative to the workspace, or absolute inside it."},
      "edits": {
        "type": "array",
        "description": "Targeted replacements against the original file; no overlap or nesting. Merge nearby changes.",
        "items": {
          "type": "object",
          "properties": {
            "oldText": {"type": "string", "description": "Exact original text; unique and non-overlapping in this call."},
            "newText": {"type": "string", "description": "Replacement text."}
          },
          "required": ["oldText", "newText"]
        }
      }
    },
    "required": ["path", "edits"]
  })")
                             .as_object();
};

// ---- ls ---------------------------------------------------------------------------------------

class LsTool final : public Tool {
 public:
  std::string_view name() const override { return "ls"; }
  bool sideEffects() const override { return false; }
  std::string_view description() const override {
    return "List directory entries in byte order of their names, including dotfiles and links. Names are "
           "JSON-quoted; a trailing / marks directories. Pass the returned after cursor with the same path to "
           "continue.";
  }
  const json::object& parameters() const override { return schema_; }

  Result<std::string> invoke(const json::object& args, const ToolContext& ctx) const override {
    std::string path = ".";
    if (auto p = getString(args, "path"); p && !p->empty()) path = std::string(*p);
    std::size_t limit = positiveLimit(args, "limit", kLsDefaultLimit);
    std::optional<std::string> after;
    if (auto a = getString(args, "after")) after = std::string(*a);

    auto ws = openWorkspace(ctx);
    if (!ws) return fail(std::move(ws).error());
    auto resolved = ws->resolve(path, SymlinkPolicy::kFollowInside);
    if (!resolved) return fail(std::move(resolved).error());
    const ResolvedPath& r = *resolved;
    if (!r.exists) {
      return fail(toolError(ErrorCode::kNotFound, fmt::format("Directory not found: {}", path)));
    }
    if (!S_ISDIR(r.st.st_mode)) {
      return fail(toolError(ErrorCode::kInvalidArgument,
                            fmt::format("Not a directory: {}. Use read to see a file's contents.", path)));
    }
    int fd = ::openat(r.dir.get(), r.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return fail(fsError("list", path, errno));
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      int err = errno;
      ::close(fd);
      return fail(fsError("list", path, err));
    }
    struct Entry {
      std::string name;
      bool dir;
    };
    std::vector<Entry> entries;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n == "." || n == "..") continue;
      if (after && !(std::string(n) > *after)) continue;
      bool isDir = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN) {
        struct stat st {};
        isDir = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
      }
      entries.push_back({std::string(n), isDir});
      if (ctx.isCancelled()) break;
    }
    int readErr = errno;
    ::closedir(d);
    if (ctx.isCancelled()) return fail(toolError(ErrorCode::kCancelled, "Operation aborted"));
    if (readErr != 0) return fail(fsError("list", path, readErr));
    if (entries.empty()) return std::string("(empty directory)");
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });

    auto continuation = [](std::string_view name) {
      return "\n\n[More entries. Continue with the same path and after=" + json::serialize(json::string(name)) + ".]";
    };
    std::vector<std::size_t> lineEnds;  // content size after each line
    std::string content;
    for (const auto& e : entries) {
      if (lineEnds.size() >= limit) break;
      std::string line = json::serialize(json::string(e.name + (e.dir ? "/" : "")));
      std::size_t size = content.size() + (content.empty() ? 0 : 1) + line.size();
      if (size > kLsMaxBytes) break;
      if (!content.empty()) content += '\n';
      content += line;
      lineEnds.push_back(content.size());
    }
    while (!lineEnds.empty()) {
      std::size_t shown = lineEnds.size();
      std::string page = content.substr(0, lineEnds.back());
      if (shown < entries.size()) page += continuation(entries[shown - 1].name);
      if (page.size() <= kLsMaxBytes) return page;
      lineEnds.pop_back();
    }
    return fail(
        toolError(ErrorCode::kResourceExhausted, "A directory entry cannot fit within the listing output budget."));
  }

 private:
  json::object schema_ = json::parse(R"({
    "type": "object",
    "properties": {
      "path": {"type": "string", "description": "Directory; default is the workspace root."},
      "limit": {"type": "number", "description": "Max entries; default 500."},
      "after": {"type": "string", "description": "Filename cursor returned by the previous page."}
    }
  })")
                             .as_object();
};

}  // namespace

ToolPtr makeReadTool() { return std::make_unique<ReadTool>(); }
ToolPtr makeWriteTool() { return std::make_unique<WriteTool>(); }
ToolPtr makeEditTool() { return std::make_unique<EditTool>(); }
ToolPtr makeLsTool() { return std::make_unique<LsTool>(); }

}  // namespace talon::gateway::tools
