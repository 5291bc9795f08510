#include "fleet/backup.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "base/clock.h"
#include "base/file_io.h"
#include "base/hash.h"
#include "store/sqlite_integrity.h"

namespace talon::fleet {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kBackupsFolder = "backups";
constexpr std::string_view kBackupManifest = "manifest.json";
constexpr std::size_t kBackupIdDigits = 8;
constexpr int kBackupSqliteBusyMs = 10'000;

std::string backupIdName(int64_t id) {
  std::string s = std::to_string(id);
  return std::string(s.size() < kBackupIdDigits ? kBackupIdDigits - s.size() : 0, '0') + s;
}

std::optional<int64_t> parseBackupIdName(const std::string& name) {
  if (name.size() != kBackupIdDigits) return std::nullopt;
  int64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v > 0 ? std::optional<int64_t>(v) : std::nullopt;
}

/// SHA-256 of a file, read in chunks. Errors: kIo.
Result<std::string> backupFileSha256(const fs::path& path, std::uint64_t& size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, "cannot read " + path.string());
  Sha256Digest digest;
  std::vector<char> buf(1 << 16);
  size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = in.gcount();
    if (n <= 0) break;
    size += static_cast<std::uint64_t>(n);
    digest.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  if (in.bad()) return fail(ErrorCode::kIo, "cannot read " + path.string());
  return digest.finishHex();
}

/// True when `path` starts with SQLite's 16-byte header ("SQLite format 3\0").
bool backupIsSqlite(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char header[16] = {};
  in.read(header, sizeof header);
  return in.gcount() == 16 && std::string_view(header, 16) == std::string_view("SQLite format 3\0", 16);
}

Status backupMakeDirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
  return {};
}

/// Every regular file under `dir` (not following symlinks), appended to `out`. A folder or file that
/// disappears while it is listed (a running gateway's temporary files) is left out, not an error.
/// Errors: kIo naming the folder that cannot be read.
Status backupListFiles(const fs::path& dir, std::vector<fs::path>& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return {};
    return fail(ErrorCode::kIo, "cannot list " + dir.string() + ": " + ec.message());
  }
  for (fs::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) break;
    std::error_code typeEc;
    auto status = it->symlink_status(typeEc);
    if (typeEc) continue;  // gone meanwhile
    if (fs::is_directory(status)) {
      if (auto st = backupListFiles(it->path(), out); !st) return st;
    } else if (fs::is_regular_file(status)) {
      out.push_back(it->path());
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    return fail(ErrorCode::kIo, "cannot list " + dir.string() + ": " + ec.message());
  return {};
}

/// Copies one file into the backup and returns its manifest entry; nullopt when the file no longer exists
/// (it was removed after it was listed).
Result<std::optional<BackupFile>> backupCopyFile(const fs::path& from, const fs::path& folder, const std::string& rel) {
  BackupFile f;
  f.path = rel;
  fs::path to = folder / rel;
  if (auto s = backupMakeDirs(to.parent_path()); !s) return fail(s.error());
  struct stat st {};
  if (::stat(from.c_str(), &st) == 0) f.mode = st.st_mode & 07777;
  if (backupIsSqlite(from)) {
    f.sqlite = true;
    if (auto s = store::copySqliteDatabase(from, to, std::chrono::milliseconds(kBackupSqliteBusyMs)); !s)
      return fail(s.error());
  } else {
    std::error_code ec;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec == std::errc::no_such_file_or_directory && !fs::exists(from)) {
      fs::remove(to, ec);
      return std::optional<BackupFile>();
    }
    if (ec) return fail(ErrorCode::kIo, "cannot copy " + from.string() + ": " + ec.message());
  }
  ::chmod(to.c_str(), 0600);
  auto sha = backupFileSha256(to, f.size);
  if (!sha) return fail(sha.error());
  f.sha256 = *sha;
  return std::optional<BackupFile>(std::move(f));
}

bool backupEndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

json::object GatewayBackup::toJson() const {
  json::object j;
  j["id"] = id;
  j["gateway"] = gateway;
  j["runtime"] = runtime;
  if (!version.empty()) j["version"] = version;
  if (!binary.empty()) j["binary"] = binary;
  if (revision) j["revision"] = *revision;
  j["time"] = formatRfc3339Ms(timeMs);
  j["timeMs"] = timeMs;
  j["reason"] = reason;
  j["configPath"] = configPath;
  j["stateDir"] = stateDir;
  json::array files;
  for (const auto& f : this->files) {
    files.push_back(json::object{{"path", f.path},
                                 {"sha256", f.sha256},
                                 {"size", f.size},
                                 {"mode", static_cast<int64_t>(f.mode)},
                                 {"sqlite", f.sqlite}});
  }
  j["files"] = std::move(files);
  return j;
}

Result<GatewayBackup> GatewayBackup::fromJson(const json::object& j) {
  GatewayBackup b;
  auto id = getInt(j, "id");
  if (!id || *id <= 0) return fail(ErrorCode::kInvalidArgument, "backup manifest: missing positive integer \"id\"");
  b.id = *id;
  auto gateway = getString(j, "gateway");
  if (!gateway || gateway->empty())
    return fail(ErrorCode::kInvalidArgument, "backup manifest " + std::to_string(b.id) + ": missing \"gateway\"");
  b.gateway = std::string(*gateway);
  std::string where = "backup " + std::to_string(b.id) + " gateway " + b.gateway;
  b.runtime = std::string(getString(j, "runtime").value_or(""));
  b.version = std::string(getString(j, "version").value_or(""));
  b.binary = std::string(getString(j, "binary").value_or(""));
  b.revision = getInt(j, "revision");
  auto timeMs = getInt(j, "timeMs");
  if (!timeMs) return fail(ErrorCode::kInvalidArgument, where + ": missing integer \"timeMs\"");
  b.timeMs = *timeMs;
  b.reason = std::string(getString(j, "reason").value_or("manual"));
  b.configPath = std::string(getString(j, "configPath").value_or(""));
  b.stateDir = std::string(getString(j, "stateDir").value_or(""));
  const json::array* files = getArray(j, "files");
  if (files == nullptr) return fail(ErrorCode::kInvalidArgument, where + ": missing array \"files\"");
  for (const auto& v : *files) {
    if (!v.is_object()) return fail(ErrorCode::kInvalidArgument, where + ": a file is not an object");
    const auto& o = v.as_object();
    BackupFile f;
    f.path = std::string(getString(o, "path").value_or(""));
    f.sha256 = std::string(getString(o, "sha256").value_or(""));
    if (f.path.empty() || f.sha256.size() != 64 || f.path.find("..") != std::string::npos || f.path[0] == '/')
      return fail(ErrorCode::kInvalidArgument, where + ": a file without a valid \"path\" and \"sha256\"");
    f.size = static_cast<std::uint64_t>(getInt(o, "size").value_or(0));
    f.mode = static_cast<unsigned>(getInt(o, "mode").value_or(0600));
    f.sqlite = getBool(o, "sqlite").value_or(false);
    b.files.push_back(std::move(f));
  }
  return b;
}

Result<std::unique_ptr<BackupStore>> BackupStore::open(const fs::path& fleetStateDir) {
  fs::path root = fleetStateDir / kBackupsFolder;
  if (auto s = backupMakeDirs(root); !s) return fail(s.error());
  ::chmod(fleetStateDir.c_str(), 0700);
  ::chmod(root.c_str(), 0700);
  return std::unique_ptr<BackupStore>(new BackupStore(root));
}

fs::path BackupStore::folder(int64_t id, const std::string& gateway) const {
  return root_ / backupIdName(id) / gateway;
}

Result<int64_t> BackupStore::nextId() const {
  int64_t max = 0;
  std::error_code ec;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    if (auto id = parseBackupIdName(it->path().filename().string())) max = std::max(max, *id);
  }
  if (ec) return fail(ErrorCode::kIo, "cannot list " + root_.string() + ": " + ec.message());
  return max + 1;
}

Result<GatewayBackup> BackupStore::backupGateway(int64_t id, const DeployTarget& target,
                                                 std::optional<int64_t> revision, const std::string& reason,
                                                 int64_t timeMs, Deployer* deployer, const DeployContext* context) {
  fs::path dir = folder(id, target.id);
  std::error_code ec;
  if (fs::exists(dir, ec))
    return fail(ErrorCode::kAlreadyExists, "backup " + std::to_string(id) + " already holds gateway " + target.id);
  if (auto s = backupMakeDirs(dir); !s) return fail(s.error());
  ::chmod(dir.parent_path().c_str(), 0700);
  GatewayBackup b;
  b.id = id;
  b.gateway = target.id;
  b.runtime = target.runtime;
  b.version = target.version;
  b.binary = target.binary;
  b.revision = revision;
  b.reason = reason;
  b.timeMs = timeMs;
  b.configPath = target.paths.configPath;
  b.stateDir = target.paths.stateDir;

  fs::path configPath = target.paths.configPath;
  fs::path stateDir = target.paths.stateDir;
  // A gateway on another machine: its files are copied here first, into a staging folder beside the backup.
  fs::path staging = dir.parent_path() / (".staging-" + target.id);
  // The config's path inside the state dir, when it lives there (it is backed up once, as config/).
  std::string configInState;
  if (deployer != nullptr && context != nullptr) {
    fs::remove_all(staging, ec);
    fs::path stagedConfig = staging / "config" / configPath.filename();
    auto fetched = deployer->fetchFiles(target, *context, stagedConfig, staging / "state");
    if (!fetched) {
      fs::remove_all(staging, ec);
      fs::remove_all(dir, ec);
      return fail(fetched.error());
    }
    if (*fetched) {
      std::string prefix = target.paths.stateDir + "/";
      if (target.paths.configPath.rfind(prefix, 0) == 0) configInState = target.paths.configPath.substr(prefix.size());
      configPath = stagedConfig;
      stateDir = staging / "state";
    }
  }
  struct StagingCleanup {
    fs::path path;
    ~StagingCleanup() {
      std::error_code e;
      if (!path.empty()) fs::remove_all(path, e);
    }
  } cleanup{configPath == fs::path(target.paths.configPath) ? fs::path() : staging};
  if (!configPath.empty() && fs::is_regular_file(configPath, ec)) {
    auto f = backupCopyFile(configPath, dir, "config/" + configPath.filename().string());
    if (!f) return fail(f.error());
    if (*f) b.files.push_back(std::move(**f));
  }
  if (!stateDir.empty() && fs::is_directory(stateDir, ec)) {
    // The databases first, so that their -wal/-shm/-journal files can be skipped.
    std::vector<fs::path> regular;
    if (auto st = backupListFiles(stateDir, regular); !st) return fail(st.error());
    std::sort(regular.begin(), regular.end());
    std::set<std::string> databases;
    for (const auto& p : regular) {
      if (backupIsSqlite(p)) databases.insert(p.string());
    }
    for (const auto& p : regular) {
      std::string s = p.string();
      if (fs::equivalent(p, configPath, ec)) continue;  // the config is backed up above
      std::string rel = fs::relative(p, stateDir).generic_string();
      if (!configInState.empty() && rel == configInState) continue;
      if (backupEndsWith(s, ".lock")) continue;
      bool sidecar = false;
      for (std::string_view suffix : {"-wal", "-shm", "-journal"}) {
        if (backupEndsWith(s, suffix) && databases.count(s.substr(0, s.size() - suffix.size())) != 0) sidecar = true;
      }
      if (sidecar) continue;
      auto f = backupCopyFile(p, dir, "state/" + rel);
      if (!f) return fail(f.error());
      if (*f) b.files.push_back(std::move(**f));
    }
  }
  if (auto s = writeFileAtomic(dir / kBackupManifest, toPrettyJson(b.toJson()), 0600); !s) return fail(s.error());
  return b;
}

Result<std::vector<GatewayBackup>> BackupStore::list() const {
  std::vector<GatewayBackup> out;
  std::error_code ec;
  std::vector<fs::path> sets;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    if (parseBackupIdName(it->path().filename().string())) sets.push_back(it->path());
  }
  if (ec) return fail(ErrorCode::kIo, "cannot list " + root_.string() + ": " + ec.message());
  std::sort(sets.begin(), sets.end());
  for (const auto& set : sets) {
    std::vector<fs::path> gateways;
    for (fs::directory_iterator it(set, ec), end; !ec && it != end; it.increment(ec)) gateways.push_back(it->path());
    std::sort(gateways.begin(), gateways.end());
    for (const auto& g : gateways) {
      fs::path manifest = g / kBackupManifest;
      if (!fs::exists(manifest, ec)) continue;  // incomplete: interrupted before its manifest
      auto text = readFile(manifest);
      if (!text) return fail(text.error());
      auto parsed = parseJson(*text);
      if (!parsed || !parsed->is_object())
        return fail(ErrorCode::kInvalidArgument, manifest.string() + ": not a JSON object");
      auto b = GatewayBackup::fromJson(parsed->as_object());
      if (!b) return fail(ErrorCode::kInvalidArgument, manifest.string() + ": " + b.error().message);
      out.push_back(std::move(*b));
    }
  }
  return out;
}

Result<std::vector<GatewayBackup>> BackupStore::get(int64_t id, const std::string& gateway) const {
  auto all = list();
  if (!all) return fail(all.error());
  std::vector<GatewayBackup> out;
  for (auto& b : *all) {
    if (b.id == id && (gateway.empty() || b.gateway == gateway)) out.push_back(std::move(b));
  }
  if (out.empty())
    return fail(ErrorCode::kNotFound,
                "no backup " + std::to_string(id) + (gateway.empty() ? "" : " of gateway " + gateway));
  return out;
}

std::vector<BackupProblem> BackupStore::verify(const GatewayBackup& backup) const {
  std::vector<BackupProblem> problems;
  fs::path dir = folder(backup.id, backup.gateway);
  std::set<std::string> listed;
  for (const auto& f : backup.files) {
    listed.insert(f.path);
    std::uint64_t size = 0;
    auto sha = backupFileSha256(dir / f.path, size);
    if (!sha) {
      problems.push_back({f.path, "missing or unreadable"});
    } else if (size != f.size) {
      problems.push_back(
          {f.path, "size " + std::to_string(size) + " bytes, the manifest says " + std::to_string(f.size)});
    } else if (*sha != f.sha256) {
      problems.push_back({f.path, "SHA-256 " + *sha + " does not match the manifest's " + f.sha256});
    }
  }
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string rel = fs::relative(it->path(), dir).generic_string();
    if (rel != kBackupManifest && listed.count(rel) == 0) problems.push_back({rel, "not in the manifest"});
  }
  return problems;
}

Status BackupStore::remove(int64_t id, const std::string& gateway) const {
  fs::path dir = folder(id, gateway);
  fs::path manifest = dir / kBackupManifest;
  std::error_code ec;
  if (gateway.empty() || !fs::exists(manifest, ec))
    return fail(ErrorCode::kNotFound, "no backup " + std::to_string(id) + " of gateway " + gateway);
  if (!fs::remove(manifest, ec) || ec)
    return fail(ErrorCode::kIo, "cannot remove " + manifest.string() + ": " + ec.message());
  fs::remove_all(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot remove " + dir.string() + ": " + ec.message());
  fs::path set = dir.parent_path();
  if (fs::is_empty(set, ec) && !ec) fs::remove(set, ec);
  return {};
}

Result<std::string> BackupStore::restoreFiles(const GatewayBackup& backup, const DeployTarget& target,
                                              Deployer* deployer, const DeployContext* context) const {
  if (auto problems = verify(backup); !problems.empty()) {
    std::string list;
    for (const auto& p : problems) list += "\n  " + p.path + ": " + p.message;
    return fail(ErrorCode::kFailedPrecondition, "backup " + std::to_string(backup.id) + " of gateway " +
                                                    backup.gateway + " does not verify; nothing was restored:" + list);
  }
  fs::path dir = folder(backup.id, backup.gateway);
  if (deployer != nullptr && context != nullptr) {
    std::map<std::string, std::pair<std::string, unsigned>> files;
    for (const auto& f : backup.files) files[f.path] = {f.sha256, f.mode};
    auto put = deployer->putFiles(target, *context, dir, files, backupIdName(backup.id));
    if (!put) return fail(put.error());
    if (*put) return **put;
  }
  fs::path stateDir = target.paths.stateDir;
  std::string movedTo;
  std::error_code ec;
  if (!stateDir.empty() && fs::exists(stateDir, ec)) {
    fs::path aside = stateDir.string() + ".before-restore-" + backupIdName(backup.id);
    fs::remove_all(aside, ec);
    fs::rename(stateDir, aside, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot move " + stateDir.string() + " aside: " + ec.message());
    movedTo = aside.string();
  }
  if (auto s = backupMakeDirs(stateDir); !s) return fail(s.error());
  for (const auto& f : backup.files) {
    fs::path from = dir / f.path;
    fs::path to;
    if (f.path.rfind("config/", 0) == 0) {
      to = target.paths.configPath;
    } else if (f.path.rfind("state/", 0) == 0) {
      to = stateDir / f.path.substr(6);
    } else {
      continue;
    }
    if (auto s = backupMakeDirs(to.parent_path()); !s) return fail(s.error());
    auto text = readFile(from, std::size_t(1) << 40);
    if (!text) return fail(text.error());
    if (auto s = writeFileAtomic(to, *text, f.mode == 0 ? 0600 : f.mode); !s) return fail(s.error());
  }
  return movedTo;
}

}  // namespace talon::fleet
