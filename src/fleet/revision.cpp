#include "fleet/revision.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "base/clock.h"
#include "base/file_io.h"
#include "base/hash.h"

namespace talon::fleet {

namespace {

constexpr std::string_view kRevisionsFolder = "revisions";
constexpr std::size_t kRevisionIdDigits = 8;

/// Every leaf of `v` under `prefix`, as path → value.
void flattenConfig(const json::value& v, const std::string& prefix, std::map<std::string, const json::value*>& out) {
  if (v.is_object() && !v.as_object().empty()) {
    for (const auto& kv : v.as_object()) {
      std::string key(kv.key());
      flattenConfig(kv.value(), prefix.empty() ? key : prefix + "." + key, out);
    }
    return;
  }
  if (v.is_array() && !v.as_array().empty()) {
    const auto& a = v.as_array();
    for (std::size_t i = 0; i < a.size(); ++i) flattenConfig(a[i], prefix + "[" + std::to_string(i) + "]", out);
    return;
  }
  out[prefix] = &v;
}

Result<std::string> requiredString(const json::object& j, std::string_view key, std::string_view where) {
  auto s = getString(j, key);
  if (!s)
    return fail(ErrorCode::kInvalidArgument, std::string(where) + ": missing string \"" + std::string(key) + "\"");
  return std::string(*s);
}

std::optional<int64_t> parseRevisionFileName(const std::string& name) {
  if (name.size() != kRevisionIdDigits + 5 || !name.ends_with(".json")) return std::nullopt;
  int64_t id = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + kRevisionIdDigits, id);
  if (ec != std::errc() || p != name.data() + kRevisionIdDigits || id <= 0) return std::nullopt;
  return id;
}

}  // namespace

std::filesystem::path resolveFleetStateDir(std::string_view option, std::string_view envValue,
                                           const std::filesystem::path& inventoryPath) {
  std::filesystem::path p;
  if (!option.empty()) {
    p = option;
  } else if (!envValue.empty()) {
    p = envValue;
  } else {
    p = inventoryPath.parent_path() / ".talon-fleet";
  }
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return (ec ? p : abs).lexically_normal();
}

std::string_view changeKindName(ConfigChange::Kind kind) {
  switch (kind) {
    case ConfigChange::Kind::kAdded:
      return "added";
    case ConfigChange::Kind::kRemoved:
      return "removed";
    case ConfigChange::Kind::kChanged:
      break;
  }
  return "changed";
}

std::vector<ConfigChange> diffConfigs(const json::object& before, const json::object& after) {
  // The leaves point into these copies, which outlive the maps.
  const json::value beforeValue(before);
  const json::value afterValue(after);
  std::map<std::string, const json::value*> a;
  std::map<std::string, const json::value*> b;
  flattenConfig(beforeValue, "", a);
  flattenConfig(afterValue, "", b);
  a.erase("");  // an empty object flattens to the empty path
  b.erase("");
  std::vector<ConfigChange> out;
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      out.push_back({ConfigChange::Kind::kRemoved, ia->first});
      ++ia;
    } else if (ia == a.end() || ib->first < ia->first) {
      out.push_back({ConfigChange::Kind::kAdded, ib->first});
      ++ib;
    } else {
      if (*ia->second != *ib->second) out.push_back({ConfigChange::Kind::kChanged, ia->first});
      ++ia;
      ++ib;
    }
  }
  return out;
}

json::object DeploymentRevision::toJson(bool withContent) const {
  json::object j;
  j["id"] = id;
  j["kind"] = kind;
  if (!note.empty()) j["note"] = note;
  j["actor"] = actor;
  j["time"] = formatRfc3339Ms(timeMs);
  j["timeMs"] = timeMs;
  json::object inv;
  inv["path"] = inventoryPath;
  if (git) {
    inv["gitCommit"] = git->commit;
    inv["gitDirty"] = git->dirty;
  }
  j["inventory"] = std::move(inv);
  json::array gws;
  for (const auto& g : gateways) {
    json::object o;
    o["id"] = g.id;
    o["runtime"] = g.runtime;
    o["provider"] = g.provider;
    if (!g.version.empty()) o["version"] = g.version;
    if (!g.binary.empty()) o["binary"] = g.binary;
    if (g.previousRevision) o["previousRevision"] = *g.previousRevision;
    json::object file;
    file["path"] = g.configPath;
    file["sha256"] = g.sha256;
    if (withContent) file["content"] = g.content;
    o["files"] = json::array{file};
    if (!g.manifestPath.empty()) {
      json::object manifest{{"path", g.manifestPath}, {"sha256", g.manifestSha256}};
      if (withContent) manifest["content"] = g.manifestContent;
      o["files"].as_array().push_back(std::move(manifest));
    }
    json::array changes;
    for (const auto& c : g.changes) changes.push_back(json::object{{"op", changeKindName(c.kind)}, {"path", c.path}});
    o["changes"] = std::move(changes);
    gws.push_back(std::move(o));
  }
  j["gateways"] = std::move(gws);
  return j;
}

Result<DeploymentRevision> DeploymentRevision::fromJson(const json::object& j) {
  DeploymentRevision r;
  auto id = getInt(j, "id");
  if (!id || *id <= 0) return fail(ErrorCode::kInvalidArgument, "revision: missing positive integer \"id\"");
  r.id = *id;
  std::string where = "revision " + std::to_string(r.id);
  auto actor = requiredString(j, "actor", where);
  if (!actor) return fail(actor.error());
  r.actor = *actor;
  r.kind = std::string(getString(j, "kind").value_or("apply"));
  r.note = std::string(getString(j, "note").value_or(""));
  auto timeMs = getInt(j, "timeMs");
  if (!timeMs) return fail(ErrorCode::kInvalidArgument, where + ": missing integer \"timeMs\"");
  r.timeMs = *timeMs;
  const json::object* inv = getObject(j, "inventory");
  if (inv == nullptr) return fail(ErrorCode::kInvalidArgument, where + ": missing object \"inventory\"");
  r.inventoryPath = std::string(getString(*inv, "path").value_or(""));
  if (auto commit = getString(*inv, "gitCommit")) {
    InventoryGitState g;
    g.commit = std::string(*commit);
    g.dirty = getBool(*inv, "gitDirty").value_or(false);
    r.git = std::move(g);
  }
  const json::array* gws = getArray(j, "gateways");
  if (gws == nullptr) return fail(ErrorCode::kInvalidArgument, where + ": missing array \"gateways\"");
  for (const auto& v : *gws) {
    if (!v.is_object()) return fail(ErrorCode::kInvalidArgument, where + ": a gateway is not an object");
    const auto& o = v.as_object();
    GatewayRevision g;
    auto gid = requiredString(o, "id", where + " gateways[]");
    if (!gid) return fail(gid.error());
    g.id = *gid;
    std::string gwhere = where + " gateway " + g.id;
    g.runtime = std::string(getString(o, "runtime").value_or(""));
    g.provider = std::string(getString(o, "provider").value_or(""));
    g.previousRevision = getInt(o, "previousRevision");
    g.version = std::string(getString(o, "version").value_or(""));
    g.binary = std::string(getString(o, "binary").value_or(""));
    const json::array* files = getArray(o, "files");
    if (files == nullptr || files->empty() || !(*files)[0].is_object())
      return fail(ErrorCode::kInvalidArgument, gwhere + ": missing \"files\"");
    const auto& file = (*files)[0].as_object();
    auto path = requiredString(file, "path", gwhere + " files[0]");
    auto sha = requiredString(file, "sha256", gwhere + " files[0]");
    if (!path) return fail(path.error());
    if (!sha) return fail(sha.error());
    g.configPath = *path;
    g.sha256 = *sha;
    g.content = std::string(getString(file, "content").value_or(""));
    if (files->size() > 1 && (*files)[1].is_object()) {
      const auto& manifest = (*files)[1].as_object();
      auto manifestPath = requiredString(manifest, "path", gwhere + " files[1]");
      auto manifestSha = requiredString(manifest, "sha256", gwhere + " files[1]");
      if (!manifestPath) return fail(manifestPath.error());
      if (!manifestSha) return fail(manifestSha.error());
      g.manifestPath = *manifestPath;
      g.manifestSha256 = *manifestSha;
      g.manifestContent = std::string(getString(manifest, "content").value_or(""));
    }
    if (const json::array* changes = getArray(o, "changes")) {
      for (const auto& c : *changes) {
        if (!c.is_object()) continue;
        ConfigChange change;
        auto op = getString(c.as_object(), "op").value_or("changed");
        change.kind = op == "added"     ? ConfigChange::Kind::kAdded
                      : op == "removed" ? ConfigChange::Kind::kRemoved
                                        : ConfigChange::Kind::kChanged;
        change.path = std::string(getString(c.as_object(), "path").value_or(""));
        g.changes.push_back(std::move(change));
      }
    }
    r.gateways.push_back(std::move(g));
  }
  return r;
}

Result<std::unique_ptr<RevisionStore>> RevisionStore::open(const std::filesystem::path& stateDir) {
  std::error_code ec;
  auto dir = stateDir / kRevisionsFolder;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create the fleet state dir " + dir.string() + ": " + ec.message());
  std::filesystem::permissions(stateDir, std::filesystem::perms::owner_all, ec);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  return std::unique_ptr<RevisionStore>(new RevisionStore(stateDir));
}

std::filesystem::path RevisionStore::revisionPath(int64_t id) const {
  std::string digits = std::to_string(id);
  if (digits.size() < kRevisionIdDigits) digits.insert(0, kRevisionIdDigits - digits.size(), '0');
  return stateDir_ / kRevisionsFolder / (digits + ".json");
}

Result<std::vector<DeploymentRevision>> RevisionStore::list() const {
  std::vector<int64_t> ids;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(stateDir_ / kRevisionsFolder, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (auto id = parseRevisionFileName(it->path().filename().string())) ids.push_back(*id);
  }
  if (ec) return fail(ErrorCode::kIo, "cannot list " + (stateDir_ / kRevisionsFolder).string() + ": " + ec.message());
  std::sort(ids.begin(), ids.end());
  std::vector<DeploymentRevision> out;
  for (int64_t id : ids) {
    auto r = get(id);
    if (!r) return fail(r.error());
    out.push_back(std::move(*r));
  }
  return out;
}

Result<DeploymentRevision> RevisionStore::get(int64_t id) const {
  auto path = revisionPath(id);
  auto text = readFile(path);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound)
      return fail(ErrorCode::kNotFound, "no revision " + std::to_string(id) + " in " + stateDir_.string());
    return fail(text.error());
  }
  auto parsed = parseJson(*text);
  if (!parsed || !parsed->is_object()) return fail(ErrorCode::kInvalidArgument, path.string() + ": not a JSON object");
  auto r = DeploymentRevision::fromJson(parsed->as_object());
  if (!r) return fail(ErrorCode::kInvalidArgument, path.string() + ": " + r.error().message);
  if (r->id != id)
    return fail(ErrorCode::kInvalidArgument, path.string() + ": holds revision " + std::to_string(r->id));
  return r;
}

Result<int64_t> RevisionStore::nextId() const {
  int64_t max = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(stateDir_ / kRevisionsFolder, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (auto id = parseRevisionFileName(it->path().filename().string())) max = std::max(max, *id);
  }
  if (ec) return fail(ErrorCode::kIo, "cannot list " + (stateDir_ / kRevisionsFolder).string() + ": " + ec.message());
  return max + 1;
}

Result<std::map<std::string, AppliedGateway>> RevisionStore::lastApplied() const {
  auto all = list();
  if (!all) return fail(all.error());
  std::map<std::string, AppliedGateway> out;
  for (auto& r : *all) {
    for (auto& g : r.gateways) {
      std::string id = g.id;
      out[id] = AppliedGateway{r.id, std::move(g)};
    }
  }
  return out;
}

Status RevisionStore::record(const DeploymentRevision& revision) {
  auto path = revisionPath(revision.id);
  std::error_code ec;
  if (std::filesystem::exists(path, ec))
    return fail(ErrorCode::kAlreadyExists,
                "revision " + std::to_string(revision.id) + " already exists: " + path.string());
  return writeFileAtomic(path, toPrettyJson(revision.toJson()), 0600);
}

Result<std::shared_ptr<void>> RevisionStore::lock() {
  auto path = stateDir_ / "apply.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot open " + path.string() + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK)
      return fail(ErrorCode::kFailedPrecondition,
                  "another `talon fleet` command is changing this fleet (" + path.string() + " is locked)");
    return fail(ErrorCode::kIo, "cannot lock " + path.string() + ": " + std::strerror(e));
  }
  return std::shared_ptr<void>(nullptr, [fd](void*) { ::close(fd); });
}

json::object GatewayPlan::toJson() const {
  json::object j;
  j["gateway"] = id;
  j["status"] = status;
  if (appliedRevision) {
    j["appliedRevision"] = *appliedRevision;
    j["appliedSha256"] = appliedSha256;
  }
  j["renderedSha256"] = renderedSha256;
  json::array added, changed, removed;
  for (const auto& c : changes) {
    json::array& target = c.kind == ConfigChange::Kind::kAdded     ? added
                          : c.kind == ConfigChange::Kind::kRemoved ? removed
                                                                   : changed;
    target.push_back(json::value(c.path));
  }
  j["added"] = std::move(added);
  j["changed"] = std::move(changed);
  j["removed"] = std::move(removed);
  if (!manifestFile.empty()) {
    json::object m{{"file", manifestFile}, {"renderedSha256", manifestSha256}};
    if (!appliedManifestSha256.empty()) m["appliedSha256"] = appliedManifestSha256;
    m["changed"] = manifestChanged;
    j["manifest"] = std::move(m);
  }
  return j;
}

std::vector<GatewayPlan> planGateways(const std::vector<RenderedGateway>& renders,
                                      const std::map<std::string, AppliedGateway>& applied,
                                      const std::vector<RenderedManifest>& manifests) {
  std::vector<GatewayPlan> out;
  for (const auto& r : renders) {
    GatewayPlan p;
    p.id = r.id;
    p.renderedSha256 = sha256Hex(r.text);
    for (const auto& m : manifests) {
      if (m.gatewayId != r.id) continue;
      p.manifestFile = m.fileName;
      p.manifestSha256 = sha256Hex(m.text);
    }
    auto it = applied.find(r.id);
    if (it == applied.end()) {
      p.status = "new";
      p.changes = diffConfigs(json::object{}, r.config);
      p.manifestChanged = !p.manifestFile.empty();
    } else {
      p.appliedRevision = it->second.revision;
      p.appliedSha256 = it->second.gateway.sha256;
      p.appliedManifestSha256 = it->second.gateway.manifestSha256;
      p.manifestChanged = p.appliedManifestSha256 != p.manifestSha256;
      json::object before;
      if (auto parsed = parseJson(it->second.gateway.content); parsed && parsed->is_object())
        before = std::move(parsed->as_object());
      p.changes = diffConfigs(before, r.config);
      p.status =
          p.changes.empty() && p.appliedSha256 == p.renderedSha256 && !p.manifestChanged ? "unchanged" : "changed";
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace talon::fleet
