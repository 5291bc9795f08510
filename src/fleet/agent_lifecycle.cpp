#include "fleet/agent_lifecycle.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "base/clock.h"
#include "base/file_io.h"
#include "config/include_resolver.h"
#include "config/json5.h"
#include "fleet/render.h"

namespace talon::fleet {

namespace fs = std::filesystem;
using config::LocatedMember;
using config::LocatedValue;
using config::SourceLocation;

namespace {

// ---- JSON5 text scanning: just enough to find where a value ends and where an object's members are,
// skipping strings and comments, so that an edit touches only the bytes of the entries it changes.

bool agentEditIsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/// Skips whitespace and comments from `pos`.
std::size_t agentEditSkipTrivia(std::string_view t, std::size_t pos) {
  while (pos < t.size()) {
    if (agentEditIsSpace(t[pos])) {
      ++pos;
    } else if (t.compare(pos, 2, "//") == 0) {
      while (pos < t.size() && t[pos] != '\n') ++pos;
    } else if (t.compare(pos, 2, "/*") == 0) {
      auto end = t.find("*/", pos + 2);
      pos = end == std::string_view::npos ? t.size() : end + 2;
    } else {
      break;
    }
  }
  return pos;
}

/// The end (one past the closing quote) of the string starting at `pos`.
std::size_t agentEditSkipString(std::string_view t, std::size_t pos) {
  char quote = t[pos++];
  while (pos < t.size() && t[pos] != quote) pos += t[pos] == '\\' ? 2 : 1;
  return std::min(pos + 1, t.size());
}

/// The end (exclusive) of the JSON5 value starting at `pos`.
std::size_t agentEditSkipValue(std::string_view t, std::size_t pos) {
  if (pos >= t.size()) return pos;
  char c = t[pos];
  if (c == '"' || c == '\'') return agentEditSkipString(t, pos);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (pos < t.size()) {
      char d = t[pos];
      if (d == '"' || d == '\'') {
        pos = agentEditSkipString(t, pos);
        continue;
      }
      if (t.compare(pos, 2, "//") == 0 || t.compare(pos, 2, "/*") == 0) {
        pos = agentEditSkipTrivia(t, pos);
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        if (--depth == 0) return pos + 1;
      }
      ++pos;
    }
    return pos;
  }
  while (pos < t.size() && !agentEditIsSpace(t[pos]) && t[pos] != ',' && t[pos] != '}' && t[pos] != ']' &&
         t.compare(pos, 2, "//") != 0 && t.compare(pos, 2, "/*") != 0) {
    ++pos;
  }
  return pos;
}

/// The byte offset of a parser location (1-based line, 1-based column counted in code points).
std::size_t agentEditOffsetOf(std::string_view t, const SourceLocation& l) {
  std::size_t pos = 0;
  for (int line = 1; line < l.line && pos < t.size(); ++line) {
    auto nl = t.find('\n', pos);
    if (nl == std::string_view::npos) return t.size();
    pos = nl + 1;
  }
  for (int col = 1; col < l.column && pos < t.size(); ++col) {
    ++pos;
    while (pos < t.size() && (static_cast<unsigned char>(t[pos]) & 0xC0) == 0x80) ++pos;
  }
  return pos;
}

/// The leading whitespace of the line holding `pos`.
std::string agentEditIndentOf(std::string_view t, std::size_t pos) {
  std::size_t start = t.rfind('\n', pos == 0 ? 0 : pos - 1);
  start = start == std::string_view::npos || pos == 0 ? 0 : start + 1;
  std::size_t end = start;
  while (end < t.size() && (t[end] == ' ' || t[end] == '\t')) ++end;
  return std::string(t.substr(start, end - start));
}

/// `text` with `member` ("key: value", possibly several lines) inserted as the last member of the object
/// whose `{` is at `open`.
std::string agentEditInsertMember(std::string_view t, std::size_t open, const std::string& member) {
  std::size_t close = agentEditSkipValue(t, open) - 1;
  // The last significant character inside the object decides whether a comma is needed.
  std::size_t lastSignificant = open;
  for (std::size_t pos = open + 1; pos < close;) {
    std::size_t next = agentEditSkipTrivia(t, pos);
    if (next >= close) break;
    if (t[next] == '"' || t[next] == '\'' || t[next] == '{' || t[next] == '[') {
      pos = agentEditSkipValue(t, next);
    } else {
      pos = next + 1;
    }
    lastSignificant = pos - 1;
  }
  std::string baseIndent = agentEditIndentOf(t, open);
  std::string memberIndent = baseIndent + "  ";
  std::string block;
  for (std::size_t start = 0; start <= member.size();) {
    auto nl = member.find('\n', start);
    std::string line = member.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    block += "\n" + memberIndent + line;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  block += ",";
  std::string out(t.substr(0, lastSignificant + 1));
  if (t[lastSignificant] != '{' && t[lastSignificant] != ',') out += ",";
  out += block;
  std::string_view rest = t.substr(lastSignificant + 1);
  // The closing brace on the line just written: move it to a line of its own.
  bool closeOnSameLine = t.substr(lastSignificant + 1, close - lastSignificant - 1).find('\n') == std::string::npos;
  if (closeOnSameLine) {
    std::size_t ws = 0;
    while (ws < rest.size() && (rest[ws] == ' ' || rest[ws] == '\t')) ++ws;
    out += "\n" + baseIndent;
    rest.remove_prefix(ws);
  }
  out += rest;
  return out;
}

/// `text` without the member whose key starts at `keyStart`: the key, its value, the comma after it and,
/// when the member had its lines to itself, those lines.
std::string agentEditRemoveMember(std::string_view t, std::size_t keyStart) {
  std::size_t pos = t[keyStart] == '"' || t[keyStart] == '\'' ? agentEditSkipString(t, keyStart) : keyStart;
  while (pos < t.size() && t[pos] != ':') ++pos;
  std::size_t end = agentEditSkipValue(t, agentEditSkipTrivia(t, pos + 1));
  // Only a comma after plain whitespace (a comment in between is kept).
  std::size_t probe = end;
  while (probe < t.size() && agentEditIsSpace(t[probe])) ++probe;
  if (probe < t.size() && t[probe] == ',') end = probe + 1;
  std::size_t start = keyStart;
  std::size_t lineStart = t.rfind('\n', keyStart == 0 ? 0 : keyStart - 1);
  lineStart = lineStart == std::string_view::npos || keyStart == 0 ? 0 : lineStart + 1;
  bool ownLineBefore = t.substr(lineStart, keyStart - lineStart).find_first_not_of(" \t") == std::string_view::npos;
  std::size_t lineEnd = end;
  while (lineEnd < t.size() && (t[lineEnd] == ' ' || t[lineEnd] == '\t')) ++lineEnd;
  bool ownLineAfter = lineEnd >= t.size() || t[lineEnd] == '\n' || t[lineEnd] == '\r';
  if (ownLineBefore && ownLineAfter) {
    start = lineStart;
    end = lineEnd;
    if (end < t.size() && t[end] == '\r') ++end;
    if (end < t.size() && t[end] == '\n') ++end;
  }
  return std::string(t.substr(0, start)) + std::string(t.substr(end));
}

/// "key": value as JSON5 text (the value pretty-printed, lines after the first relative to the key).
std::string agentEditMemberText(std::string_view key, const json::value& value) {
  std::string pretty = toPrettyJson(value);
  while (!pretty.empty() && pretty.back() == '\n') pretty.pop_back();
  return toJson(json::value(key)) + ": " + pretty;
}

Result<LocatedValue> agentEditParse(std::string_view text, const fs::path& file) {
  auto parsed = config::parseJson5Located(text, file.string());
  if (!parsed) {
    return fail(ErrorCode::kConfigInvalid, parsed.error().location.toString() + ": " + parsed.error().message);
  }
  if (!parsed->isObject()) return fail(ErrorCode::kConfigInvalid, file.string() + ": the inventory is not an object");
  return std::move(*parsed);
}

/// Inserts `member` into the object at `path` (keys from the root) of the root file, creating the missing
/// objects of `path` on the way.
Result<std::string> agentEditInsertAt(const std::string& text, const fs::path& file,
                                      const std::vector<std::string>& path, const std::string& memberKey,
                                      const json::value& memberValue) {
  auto root = agentEditParse(text, file);
  if (!root) return fail(root.error());
  const LocatedValue* node = &*root;
  std::size_t depth = 0;
  for (; depth < path.size(); ++depth) {
    const LocatedMember* m = node->findMember(path[depth]);
    if (m == nullptr) break;
    if (!m->value.isObject()) {
      return fail(ErrorCode::kConfigInvalid, m->value.location.toString() + ": " + path[depth] + " is not an object");
    }
    node = &m->value;
  }
  // Wrap the member in the objects that do not exist yet.
  std::string key = memberKey;
  json::value value = memberValue;
  for (std::size_t i = path.size(); i > depth; --i) {
    json::object wrapper;
    wrapper[key] = std::move(value);
    value = std::move(wrapper);
    key = path[i - 1];
  }
  return agentEditInsertMember(text, agentEditOffsetOf(text, node->location), agentEditMemberText(key, value));
}

/// The texts of the files an edit reads and changes, each with its content when first read.
class AgentEditFiles {
 public:
  explicit AgentEditFiles(fs::path root) : root_(std::move(root)) {}

  /// The current (edited) text of `file`, read on first use.
  Result<std::string*> text(const fs::path& file) {
    for (auto& f : files_) {
      if (f.file == file) return &f.after;
    }
    auto read = readFile(file, config::kMaxIncludeFileBytes);
    if (!read) return fail(read.error());
    files_.push_back(FileEdit{file, *read, *read});
    return &files_.back().after;
  }
  /// Every file read, the changed ones and the others (for a consistent parse).
  const std::deque<FileEdit>& all() const { return files_; }
  const fs::path& root() const { return root_; }

  /// Reads the inventory from these texts (files not read yet come from disk).
  Result<InventoryPtr> parse(bool edited) {
    auto rootText = text(root_);
    if (!rootText) return fail(rootText.error());
    std::map<fs::path, std::string> included;
    const std::string* rootBefore = nullptr;
    for (const auto& f : files_) {
      if (f.file == root_) {
        rootBefore = &f.before;
      } else {
        included.emplace(f.file, edited ? f.after : f.before);
      }
    }
    return Inventory::parse(edited ? **rootText : *rootBefore, root_, included);
  }

 private:
  fs::path root_;
  // A deque: text()'s pointers stay valid when later files are read.
  std::deque<FileEdit> files_;
};

/// The keys from the root of `file` (as it reads in `text`) down to the member `key` whose value was read
/// at `at` (the inventory's location of an entry). Errors: kFailedPrecondition when the entry is not found
/// there or is inside an array (it is then not edited: the message says to edit by hand).
Result<std::vector<std::string>> agentEditPathOf(const std::string& text, const fs::path& file, std::string_view key,
                                                 const SourceLocation& at, const std::string& what) {
  auto root = agentEditParse(text, file);
  if (!root) return fail(root.error());
  std::vector<std::string> path;
  bool inArray = false;
  std::function<bool(const LocatedValue&, bool)> walk = [&](const LocatedValue& v, bool underArray) {
    if (v.isArray()) {
      for (const auto& item : v.items) {
        if (walk(item, true)) return true;
      }
      return false;
    }
    if (!v.isObject()) return false;
    for (const auto& m : v.members) {
      path.push_back(m.key);
      auto same = [&](const SourceLocation& l) { return l.line == at.line && l.column == at.column; };
      // An entry's location is its value's (agents) or its key's (accounts).
      if (m.key == key && (same(m.value.location) || same(m.keyLocation))) {
        inArray = underArray;
        return true;
      }
      if (walk(m.value, underArray)) return true;
      path.pop_back();
    }
    return false;
  };
  if (!walk(*root, false) || inArray) {
    return fail(ErrorCode::kFailedPrecondition, what + " (" + at.toString() +
                                                    ") is not written where Talon can edit it (an object member "
                                                    "outside arrays): edit " +
                                                    file.string() + " by hand");
  }
  return path;
}

/// The offset of the key of the member at `path` (keys from the file's root) in `text`; npos when absent.
std::size_t agentEditKeyOffset(const std::string& text, const fs::path& file, const std::vector<std::string>& path) {
  auto root = agentEditParse(text, file);
  if (!root || path.empty()) return std::string::npos;
  const LocatedValue* node = &*root;
  const LocatedMember* member = nullptr;
  for (const auto& key : path) {
    member = node->isObject() ? node->findMember(key) : nullptr;
    if (member == nullptr) return std::string::npos;
    node = &member->value;
  }
  return agentEditOffsetOf(text, member->keyLocation);
}

Result<InventoryEdit> agentEditFinish(AgentEditFiles& files, InventoryPtr original) {
  auto edited = files.parse(true);
  if (!edited) {
    Error e = edited.error();
    e.message = "the edited inventory would not be valid (nothing written): " + e.message;
    return fail(std::move(e));
  }
  InventoryEdit edit;
  for (const auto& f : files.all()) {
    if (f.before != f.after) edit.files.push_back(f);
  }
  edit.changes = diffConfigs(config::toJsonValue(original->root()).as_object(),
                             config::toJsonValue((*edited)->root()).as_object());
  edit.original = std::move(original);
  edit.edited = std::move(*edited);
  return edit;
}

/// The inventory as its files read now, each file's text kept in `files` (so that the edit applies to
/// exactly what was checked, and the write refuses a file changed meanwhile).
Result<InventoryPtr> agentEditReadNow(AgentEditFiles& files) {
  // A first read finds the included files; reading each into `files` and parsing again from those texts
  // makes locations and texts agree.
  auto first = files.parse(false);
  if (!first) return fail(first.error());
  for (const auto& included : (*first)->includedFiles()) {
    if (auto t = files.text(included); !t) return fail(t.error());
  }
  return files.parse(false);
}

}  // namespace

Result<InventoryEdit> planAgentAdd(const Inventory& loaded, const AgentSpec& spec) {
  // The edit is made on the files as they are now: checked against what they say now, not what `loaded` read.
  AgentEditFiles files(loaded.path());
  auto fresh = agentEditReadNow(files);
  if (!fresh) return fail(fresh.error());
  const Inventory& current = **fresh;
  if (current.findAgent(spec.id) != nullptr) {
    const Agent* a = current.findAgent(spec.id);
    return fail(ErrorCode::kFailedPrecondition,
                "agent \"" + spec.id + "\" already exists (" + a->layer.location.toString() + ")");
  }
  if (current.findGateway(spec.gateway) == nullptr) {
    return fail(ErrorCode::kNotFound, "no gateway \"" + spec.gateway + "\" in the inventory");
  }
  json::object entry;
  entry["gateway"] = spec.gateway;
  entry["kind"] = spec.kind;
  if (!spec.displayName.empty()) entry["displayName"] = spec.displayName;
  if (!spec.owner.empty()) entry["owner"] = spec.owner;
  if (!spec.model.empty()) entry["model"] = spec.model;
  std::vector<std::pair<std::string, std::string>> toCreate;
  if (!spec.accounts.empty()) {
    json::object accounts;
    for (const auto& [channel, accountId] : spec.accounts) {
      if (accounts.contains(channel)) {
        return fail(ErrorCode::kInvalidArgument,
                    "channel \"" + channel + "\" is mapped twice (one account per channel)");
      }
      accounts[channel] = accountId;
      if (current.findAccount(channel, accountId) == nullptr) toCreate.emplace_back(channel, accountId);
    }
    entry["accounts"] = std::move(accounts);
  }
  if (!spec.bindings.empty()) {
    for (const auto& b : spec.bindings) {
      if (!b.is_object()) return fail(ErrorCode::kInvalidArgument, "a binding must be an object: " + toJson(b));
    }
    entry["bindings"] = spec.bindings;
  }

  // Inserts a member into the object at `path` of `file` (created when missing).
  auto insert = [&](const fs::path& file, const std::vector<std::string>& path, const std::string& key,
                    const json::value& value) -> Status {
    auto text = files.text(file);
    if (!text) return fail(text.error());
    auto inserted = agentEditInsertAt(**text, file, path, key, value);
    if (!inserted) return fail(inserted.error());
    **text = std::move(*inserted);
    return {};
  };
  // The path (in its file) of the object that holds an existing entry.
  auto parentOf = [&](const SourceLocation& at, const std::string& key,
                      const std::string& what) -> Result<std::vector<std::string>> {
    auto text = files.text(fs::path(at.file));
    if (!text) return fail(text.error());
    auto path = agentEditPathOf(**text, fs::path(at.file), key, at, what);
    if (!path) return fail(path.error());
    path->pop_back();
    return path;
  };

  // Where each entry goes, found on the texts as they were read (before any insertion moves lines):
  // (file, path of the object in that file, key, value).
  struct Placement {
    fs::path file;
    std::vector<std::string> path;
    std::string key;
    json::value value;
  };
  std::vector<Placement> placements;
  for (const auto& [channel, accountId] : toCreate) {
    const ChannelAccount* sameChannel = nullptr;
    const ChannelAccount* any = nullptr;
    for (const auto& a : current.accounts()) {
      any = &a;
      if (a.channel == channel) sameChannel = &a;
    }
    if (sameChannel != nullptr) {
      auto path = parentOf(sameChannel->location, sameChannel->id, "account " + channel + "/" + sameChannel->id);
      if (!path) return fail(path.error());
      placements.push_back({fs::path(sameChannel->location.file), std::move(*path), accountId, json::object{}});
    } else if (any != nullptr) {
      // Beside the channels of the accounts map that holds the last account.
      auto path = parentOf(any->location, any->id, "account " + any->channel + "/" + any->id);
      if (!path) return fail(path.error());
      path->back() = channel;
      placements.push_back({fs::path(any->location.file), std::move(*path), accountId, json::object{}});
    } else {
      placements.push_back({current.path(), {"accounts", channel}, accountId, json::object{}});
    }
  }
  const Agent* beside = nullptr;
  for (const auto& a : current.agents()) {
    if (beside == nullptr || a.gateway == spec.gateway || beside->gateway != spec.gateway) beside = &a;
  }
  if (beside != nullptr) {
    auto path = parentOf(beside->layer.location, beside->id, "agent \"" + beside->id + "\"");
    if (!path) return fail(path.error());
    placements.push_back({fs::path(beside->layer.location.file), std::move(*path), spec.id, entry});
  } else {
    placements.push_back({current.path(), {"agents"}, spec.id, entry});
  }
  // Inserting by key path (not by offset) stays right after earlier insertions in the same file.
  for (const auto& p : placements) {
    if (auto s = insert(p.file, p.path, p.key, p.value); !s) return fail(s.error());
  }
  return agentEditFinish(files, std::move(*fresh));
}

Result<InventoryEdit> planAgentRemove(const Inventory& loaded, std::string_view agentId) {
  AgentEditFiles files(loaded.path());
  auto fresh = agentEditReadNow(files);
  if (!fresh) return fail(fresh.error());
  const Inventory& current = **fresh;
  const Agent* agent = current.findAgent(agentId);
  if (agent == nullptr) return fail(ErrorCode::kNotFound, "no agent \"" + std::string(agentId) + "\" in the inventory");

  // What to cut: the agent's entry, and the channel accounts that no other agent maps (left behind they
  // would be FLEET-ACCOUNT-UNUSED); each as (file, key path in that file).
  std::vector<std::pair<fs::path, std::vector<std::string>>> cuts;
  auto cut = [&](const SourceLocation& at, const std::string& key, const std::string& what) -> Status {
    auto text = files.text(fs::path(at.file));
    if (!text) return fail(text.error());
    auto path = agentEditPathOf(**text, fs::path(at.file), key, at, what);
    if (!path) return fail(path.error());
    cuts.emplace_back(fs::path(at.file), std::move(*path));
    return {};
  };
  if (auto s = cut(agent->layer.location, agent->id, "agent \"" + agent->id + "\""); !s) return fail(s.error());
  for (const auto& [channel, mapping] : agent->accounts) {
    bool shared = false;
    for (const auto& other : current.agents()) {
      if (other.id == agent->id) continue;
      auto it = other.accounts.find(channel);
      shared = shared || (it != other.accounts.end() && it->second.first == mapping.first);
    }
    const ChannelAccount* account = current.findAccount(channel, mapping.first);
    if (shared || account == nullptr) continue;
    if (auto s = cut(account->location, account->id, "account " + channel + "/" + account->id); !s) {
      return fail(s.error());
    }
  }

  // Per file, the members are cut from the last to the first so that earlier offsets stay valid.
  std::map<fs::path, std::vector<std::size_t>> offsets;
  for (const auto& [file, path] : cuts) {
    auto text = files.text(file);
    if (!text) return fail(text.error());
    std::size_t offset = agentEditKeyOffset(**text, file, path);
    if (offset == std::string::npos) {
      return fail(ErrorCode::kFailedPrecondition, file.string() + ": cannot find " + path.back() + " to remove");
    }
    offsets[file].push_back(offset);
  }
  for (auto& [file, list] : offsets) {
    std::sort(list.rbegin(), list.rend());
    auto text = files.text(file);
    if (!text) return fail(text.error());
    for (std::size_t offset : list) **text = agentEditRemoveMember(**text, offset);
  }
  return agentEditFinish(files, std::move(*fresh));
}

EditCheck checkInventoryEdit(const InventoryEdit& edit, const PreflightOptions& options) {
  EditCheck out;
  auto edited = EffectiveFleet::resolve(edit.edited);
  out.report = runPreflight(edited, renderFleet(edited), options);
  // The warnings the inventory had before the edit (read from the text the edit started from).
  std::set<std::pair<std::string, std::vector<std::string>>> known;
  if (edit.original != nullptr) {
    auto fleet = EffectiveFleet::resolve(edit.original);
    for (const auto& f : runPreflight(fleet, renderFleet(fleet), options).findings) known.emplace(f.id, f.objects);
  }
  for (const auto& f : out.report.findings) {
    if (f.isError() || !known.contains({f.id, f.objects})) out.blocking.push_back(f);
  }
  return out;
}

Status writeInventoryEdit(const InventoryEdit& edit) {
  std::vector<StagedFile> staged;
  for (const auto& f : edit.files) {
    auto now = readFile(f.file, config::kMaxIncludeFileBytes);
    if (!now) return fail(now.error());
    if (*now != f.before) {
      return fail(ErrorCode::kFailedPrecondition,
                  f.file.string() + " changed while it was being edited (nothing written); run the command again");
    }
  }
  for (const auto& f : edit.files) {
    struct stat st {};
    unsigned mode = ::stat(f.file.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
    auto s = StagedFile::stage(f.file, f.after, mode);
    if (!s) return fail(s.error());
    staged.push_back(std::move(*s));
  }
  for (std::size_t i = 0; i < staged.size(); ++i) {
    auto committed = staged[i].commit();
    if (committed) continue;
    // Put back the files already replaced, so that the inventory is not left half edited.
    std::string restored;
    for (std::size_t k = 0; k < i; ++k) {
      struct stat st {};
      unsigned mode = ::stat(edit.files[k].file.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
      if (auto back = writeFileAtomic(edit.files[k].file, edit.files[k].before, mode); !back) {
        restored += "; " + back.error().message + " (restore it by hand)";
      }
    }
    Error e = committed.error();
    e.message += restored;
    return fail(std::move(e));
  }
  return {};
}

std::vector<std::pair<std::string, fs::path>> agentStatePaths(const EffectiveFleet& fleet, std::size_t agentIndex) {
  const Agent& agent = fleet.inventory().agents()[agentIndex];
  GatewayPaths paths = gatewayPaths(fleet, fleet.gatewayIndexOf(agent));
  std::vector<std::pair<std::string, fs::path>> out;
  out.emplace_back("workspace", fs::path(agentWorkspace(fleet, agentIndex)).lexically_normal());
  fs::path agentState = (fs::path(paths.stateDir) / "agents" / agent.id).lexically_normal();
  out.emplace_back("agentState", agentState);
  fs::path agentDir = fs::path(agentDirectory(fleet, agentIndex)).lexically_normal();
  auto rel = agentDir.lexically_relative(agentState);
  if (rel.empty() || rel.string().starts_with("..")) out.emplace_back("agentDir", agentDir);
  return out;
}

namespace {

Status agentArchiveMove(const fs::path& from, const fs::path& to, ArchivedPath& record) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      ++record.files;
      record.bytes += it->file_size(ec);
    }
  }
  if (fs::is_regular_file(from, ec)) {
    record.files = 1;
    record.bytes = fs::file_size(from, ec);
  }
  ec.clear();
  fs::rename(from, to, ec);
  if (!ec) return {};
  if (ec != std::errc::cross_device_link) {
    return fail(ErrorCode::kIo, "cannot move " + from.string() + " to " + to.string() + ": " + ec.message());
  }
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot copy " + from.string() + " to " + to.string() + ": " + ec.message());
  fs::remove_all(from, ec);
  if (ec) {
    return fail(ErrorCode::kIo,
                "copied " + from.string() + " to " + to.string() + " but cannot remove the original: " + ec.message());
  }
  return {};
}

}  // namespace

Result<AgentArchive> archiveAgentState(const std::string& agentId, const std::string& gatewayId,
                                       const fs::path& inventoryPath,
                                       const std::vector<std::pair<std::string, fs::path>>& paths,
                                       const fs::path& archiveDir, std::chrono::system_clock::time_point now) {
  std::error_code ec;
  if (fs::exists(archiveDir, ec)) {
    return fail(ErrorCode::kAlreadyExists, "the archive folder " + archiveDir.string() + " already exists");
  }
  fs::create_directories(archiveDir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create " + archiveDir.string() + ": " + ec.message());
  fs::permissions(archiveDir, fs::perms::owner_all, ec);
  AgentArchive out;
  out.dir = archiveDir;
  json::array list;
  Status failed;
  for (const auto& [what, from] : paths) {
    ArchivedPath record;
    record.what = what;
    record.from = from.string();
    if (failed && fs::exists(from, ec)) {
      fs::path to = archiveDir / what;
      if (auto moved = agentArchiveMove(from, to, record); !moved) {
        failed = moved;
      } else {
        record.to = to.string();
      }
    }
    json::object j{{"what", record.what}, {"from", record.from}, {"files", record.files}, {"bytes", record.bytes}};
    if (!record.to.empty()) j["to"] = record.to;
    list.push_back(std::move(j));
    out.paths.push_back(std::move(record));
  }
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  out.manifest = json::object{{"agent", agentId},           {"gateway", gatewayId},
                              {"time", formatRfc3339(ms)},  {"inventory", inventoryPath.string()},
                              {"dir", archiveDir.string()}, {"paths", std::move(list)}};
  if (!failed) out.manifest["error"] = failed.error().message;
  // The manifest is written even after a failed move, so that what was moved is on record.
  if (auto w = writeFileAtomic(archiveDir / "manifest.json", toPrettyJson(out.manifest), 0600); !w) {
    return fail(w.error());
  }
  if (!failed) return fail(failed.error());
  return out;
}

fs::path defaultAgentArchiveDir(const fs::path& fleetStateDir, std::string_view agentId,
                                std::chrono::system_clock::time_point now) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return fleetStateDir / "archive" / (std::string(agentId) + "-" + stamp);
}

}  // namespace talon::fleet
