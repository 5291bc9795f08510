#include "config/config_patch.h"

#include <algorithm>
#include <map>

#include "config/config_redaction.h"
#include "config/include_resolver.h"

namespace talon::config {

namespace {

std::string joinPath(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

std::string entryPath(std::string_view arrayPath) { return std::string(arrayPath) + "[]"; }

std::string displayPath(std::string_view path) { return path.empty() ? "<root>" : std::string(path); }

// The same text for the log and the client: it names config paths, never values.
Unexpected<Error> patchError(ErrorCode code, const std::string& message) { return fail(code, message, message); }

const json::string* stringId(const json::value& v) {
  const auto* o = v.if_object();
  if (o == nullptr) return nullptr;
  const auto* id = o->if_contains("id");
  if (id == nullptr || !id->is_string() || id->as_string().empty()) return nullptr;
  return &id->as_string();
}

bool isIdKeyed(const json::array& a) {
  return std::all_of(a.begin(), a.end(), [](const json::value& v) { return stringId(v) != nullptr; });
}

json::value mergeAt(const json::value& base, const json::value& patch, const ReplacePaths& replacePaths,
                    const std::string& path);

// OpenClaw mergeObjectArraysById; nullopt when the base is not id-keyed (the caller replaces).
std::optional<json::array> mergeById(const json::array& base, const json::array& patch,
                                     const ReplacePaths& replacePaths, const std::string& arrayPath) {
  if (!isIdKeyed(base)) return std::nullopt;
  json::array merged = base;
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t i = 0; i < merged.size(); ++i) index.emplace(std::string(*stringId(merged[i])), i);
  for (const auto& entry : patch) {
    const auto* id = stringId(entry);
    if (id == nullptr) {
      merged.push_back(entry);
      continue;
    }
    auto it = index.find(std::string_view(*id));
    if (it == index.end()) {
      merged.push_back(entry);
      index.emplace(std::string(*id), merged.size() - 1);
      continue;
    }
    merged[it->second] = mergeAt(merged[it->second], entry, replacePaths, entryPath(arrayPath));
  }
  return merged;
}

json::value mergeAt(const json::value& base, const json::value& patch, const ReplacePaths& replacePaths,
                    const std::string& path) {
  const auto* p = patch.if_object();
  if (p == nullptr) return patch;
  json::object result = base.is_object() ? base.as_object() : json::object{};
  for (const auto& [key, value] : *p) {
    std::string childPath = joinPath(path, key);
    if (value.is_null()) {
      result.erase(key);
      continue;
    }
    auto* current = result.if_contains(key);
    if (current != nullptr && current->is_array() && value.is_array()) {
      if (replacePaths.contains(childPath)) {
        (*current) = value;
        continue;
      }
      if (auto merged = mergeById(current->as_array(), value.as_array(), replacePaths, childPath)) {
        (*current) = std::move(*merged);
        continue;
      }
    }
    if (value.is_object()) {
      json::value baseValue = current != nullptr && current->is_object() ? *current : json::value(json::object{});
      result[key] = mergeAt(baseValue, value, replacePaths, childPath);
      continue;
    }
    result[key] = value;
  }
  return result;
}

void collectArrayPaths(const json::value& v, const std::string& path, std::vector<std::string>& out) {
  if (v.is_array()) {
    out.push_back(path);
    return;
  }
  if (const auto* o = v.if_object()) {
    for (const auto& [k, child] : *o) collectArrayPaths(child, joinPath(path, k), out);
  }
}

bool preservesEntries(const json::array& base, const json::array& merged) {
  std::vector<const json::value*> unmatched;
  for (const auto& m : merged) unmatched.push_back(&m);
  for (const auto& b : base) {
    auto it = std::find_if(unmatched.begin(), unmatched.end(), [&](const json::value* m) { return *m == b; });
    if (it == unmatched.end()) return false;
    unmatched.erase(it);
  }
  return true;
}

void collectDestructive(const json::value& baseV, const json::value& patchV, const json::value& mergedV,
                        const std::string& path, std::vector<std::string>& out) {
  const auto* patch = patchV.if_object();
  const auto* base = baseV.if_object();
  if (patch == nullptr || base == nullptr) return;
  static const json::object kEmpty;
  const auto* merged = mergedV.is_object() ? &mergedV.as_object() : &kEmpty;
  for (const auto& [key, patchValue] : *patch) {
    std::string childPath = joinPath(path, key);
    const auto* baseValue = base->if_contains(key);
    const auto* mergedValue = merged->if_contains(key);
    if (baseValue != nullptr && baseValue->is_array()) {
      if (!patchValue.is_array()) {
        out.push_back(childPath);
        continue;
      }
      if (mergedValue != nullptr && mergedValue->is_array()) {
        const auto& b = baseValue->as_array();
        const auto& m = mergedValue->as_array();
        if (isIdKeyed(b)) {
          std::set<std::string, std::less<>> mergedIds;
          for (const auto& e : m) {
            if (const auto* id = stringId(e)) mergedIds.emplace(*id);
          }
          bool keepsIds = std::all_of(b.begin(), b.end(), [&](const json::value& e) {
            return mergedIds.contains(std::string_view(*stringId(e)));
          });
          if (!keepsIds) {
            out.push_back(childPath);
            continue;
          }
          for (const auto& pe : patchValue.as_array()) {
            const auto* id = stringId(pe);
            if (id == nullptr) continue;
            auto findById = [&](const json::array& a) -> const json::value* {
              for (const auto& e : a) {
                if (const auto* eid = stringId(e); eid != nullptr && *eid == *id) return &e;
              }
              return nullptr;
            };
            const auto* be = findById(b);
            const auto* me = findById(m);
            if (be != nullptr && me != nullptr) collectDestructive(*be, pe, *me, entryPath(childPath), out);
          }
        } else if (!preservesEntries(b, m)) {
          out.push_back(childPath);
          continue;
        }
      }
    } else if (baseValue != nullptr && baseValue->is_object() && !patchValue.is_object()) {
      collectArrayPaths(*baseValue, childPath, out);
      continue;
    }
    if (patchValue.is_object()) {
      static const json::value kNull;
      collectDestructive(baseValue != nullptr ? *baseValue : kNull, patchValue,
                         mergedValue != nullptr ? *mergedValue : kNull, childPath, out);
    }
  }
}

Status checkIds(const json::value& current, const json::value& patch, const ReplacePaths& replacePaths,
                const std::string& path) {
  if (const auto* pa = patch.if_array()) {
    const auto* ca = current.if_array();
    if (ca == nullptr || replacePaths.contains(path) || !isIdKeyed(*ca)) return {};
    std::map<std::string, const json::value*, std::less<>> byId;
    for (const auto& e : *ca) {
      std::string id(*stringId(e));
      if (!byId.emplace(id, &e).second) {
        return patchError(ErrorCode::kInvalidArgument, "Cannot ID-merge array at " + displayPath(path) +
                                                           ": current config contains duplicate ID " + id +
                                                           "; use replacePaths for an explicit replacement.");
      }
    }
    std::set<std::string, std::less<>> seen;
    for (const auto& e : *pa) {
      const auto* id = stringId(e);
      if (id == nullptr) continue;
      if (!seen.emplace(*id).second) {
        return patchError(ErrorCode::kInvalidArgument,
                          "Ambiguous duplicate ID " + std::string(*id) + " in array at " + displayPath(path) + ".");
      }
    }
    for (const auto& e : *pa) {
      const auto* id = stringId(e);
      if (id == nullptr) continue;
      auto it = byId.find(std::string_view(*id));
      if (it == byId.end()) continue;
      if (auto s = checkIds(*it->second, e, replacePaths, entryPath(path)); !s) return s;
    }
    return {};
  }
  const auto* po = patch.if_object();
  const auto* co = current.if_object();
  if (po == nullptr || co == nullptr) return {};
  for (const auto& [key, child] : *po) {
    const auto* c = co->if_contains(key);
    if (c == nullptr) continue;
    if (auto s = checkIds(*c, child, replacePaths, joinPath(path, key)); !s) return s;
  }
  return {};
}

void diffInto(const json::value& prev, const json::value& next, const std::string& path,
              std::vector<std::string>& out) {
  if (prev.is_object() || next.is_object()) {
    static const json::object kEmpty;
    const auto& p = prev.is_object() ? prev.as_object() : kEmpty;
    const auto& n = next.is_object() ? next.as_object() : kEmpty;
    if (p.empty() && n.empty()) {
      if (prev != next) out.push_back(displayPath(path));
      return;
    }
    static const json::value kAbsent;
    std::set<std::string, std::less<>> keys;
    for (const auto& [k, v] : p) keys.emplace(k);
    for (const auto& [k, v] : n) keys.emplace(k);
    for (const auto& k : keys) {
      const auto* a = p.if_contains(k);
      const auto* b = n.if_contains(k);
      if (a != nullptr && b != nullptr && *a == *b) continue;
      if (a == nullptr && b == nullptr) continue;
      if ((a == nullptr) != (b == nullptr) && !(a != nullptr ? *a : *b).is_object()) {
        out.push_back(joinPath(path, k));
        continue;
      }
      diffInto(a != nullptr ? *a : kAbsent, b != nullptr ? *b : kAbsent, joinPath(path, k), out);
    }
    return;
  }
  if (prev != next) out.push_back(displayPath(path));
}

Status restoreInto(json::value& v, const json::value* current, const std::string& path) {
  if (auto* s = v.if_string(); s != nullptr && *s == kRedactedSentinel) {
    if (current == nullptr || current->is_null()) {
      return patchError(ErrorCode::kInvalidArgument,
                        "invalid config: " + displayPath(path) + " holds the redaction placeholder " +
                            std::string(kRedactedSentinel) + " but has no current value to restore");
    }
    v = *current;
    return {};
  }
  if (auto* o = v.if_object()) {
    const auto* co = current != nullptr ? current->if_object() : nullptr;
    for (auto& [k, child] : *o) {
      const auto* c = co != nullptr ? co->if_contains(k) : nullptr;
      if (auto s = restoreInto(child, c, joinPath(path, k)); !s) return s;
    }
  } else if (auto* a = v.if_array()) {
    const auto* ca = current != nullptr ? current->if_array() : nullptr;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const json::value* c = nullptr;
      if (ca != nullptr) {
        // An id-keyed entry restores from the current entry with the same id, else from the same index.
        if (const auto* id = stringId((*a)[i])) {
          for (const auto& e : *ca) {
            if (const auto* eid = stringId(e); eid != nullptr && *eid == *id) c = &e;
          }
        } else if (i < ca->size()) {
          c = &(*ca)[i];
        }
      }
      if (auto s = restoreInto((*a)[i], c, entryPath(path)); !s) return s;
    }
  }
  return {};
}

bool hasEnvReference(std::string_view s) {
  for (std::size_t i = s.find("${"); i != std::string_view::npos; i = s.find("${", i + 2)) {
    if (i == 0 || s[i - 1] != '$') return true;
  }
  return false;
}

void restoreEnvInto(json::value& v, const json::value* source, const json::value* effective) {
  if (source == nullptr || effective == nullptr) return;
  if (v.is_string()) {
    const auto* src = source->if_string();
    if (src != nullptr && hasEnvReference(*src) && *effective == v) v = *source;
    return;
  }
  if (auto* o = v.if_object()) {
    const auto* so = source->if_object();
    const auto* eo = effective->if_object();
    if (so == nullptr || eo == nullptr) return;
    for (auto& [k, child] : *o) restoreEnvInto(child, so->if_contains(k), eo->if_contains(k));
  } else if (auto* a = v.if_array()) {
    const auto* sa = source->if_array();
    const auto* ea = effective->if_array();
    if (sa == nullptr || ea == nullptr || sa->size() != ea->size()) return;
    for (std::size_t i = 0; i < a->size() && i < sa->size(); ++i) restoreEnvInto((*a)[i], &(*sa)[i], &(*ea)[i]);
  }
}

Status includeError(const std::string& path) {
  return patchError(ErrorCode::kFailedPrecondition,
                    "config.patch cannot change " + displayPath(path) +
                        ": it comes from an $include file; edit that file instead (Talon never flattens $include "
                        "files into the root config)");
}

Status checkIncludes(const json::value& source, const json::value& patch, const std::string& path) {
  const auto* so = source.if_object();
  if (so != nullptr && so->contains(kIncludeKey)) return includeError(path);
  const auto* po = patch.if_object();
  if (po == nullptr) return containsInclude(source) ? includeError(path) : Status{};
  if (so == nullptr) return {};
  for (const auto& [key, child] : *po) {
    const auto* s = so->if_contains(key);
    if (s == nullptr) continue;
    std::string childPath = joinPath(path, key);
    if (child.is_object() && s->is_object()) {
      if (auto st = checkIncludes(*s, child, childPath); !st) return st;
    } else if (containsInclude(*s)) {
      return includeError(childPath);
    }
  }
  return {};
}

}  // namespace

json::value applyConfigMergePatch(const json::value& base, const json::value& patch, const ReplacePaths& replacePaths) {
  return mergeAt(base, patch, replacePaths, "");
}

std::vector<std::string> destructiveArrayPatchPaths(const json::value& base, const json::value& patch,
                                                    const json::value& merged, const ReplacePaths& replacePaths) {
  std::vector<std::string> all;
  collectDestructive(base, patch, merged, "", all);
  std::vector<std::string> out;
  for (auto& p : all) {
    if (!replacePaths.contains(p)) out.push_back(std::move(p));
  }
  return out;
}

Status checkPatchIds(const json::value& current, const json::value& patch, const ReplacePaths& replacePaths) {
  return checkIds(current, patch, replacePaths, "");
}

std::vector<std::string> diffConfigPaths(const json::value& prev, const json::value& next) {
  std::vector<std::string> out;
  diffInto(prev, next, "", out);
  std::sort(out.begin(), out.end());
  return out;
}

Result<json::value> restoreRedactedValues(const json::value& submitted, const json::value& current) {
  json::value out = submitted;
  if (auto s = restoreInto(out, &current, ""); !s) return fail(s.error());
  return out;
}

json::value restoreEnvReferences(const json::value& submitted, const json::value& source,
                                 const json::value& effective) {
  json::value out = submitted;
  restoreEnvInto(out, &source, &effective);
  return out;
}

bool containsInclude(const json::value& value) {
  if (const auto* o = value.if_object()) {
    if (o->contains(kIncludeKey)) return true;
    return std::any_of(o->begin(), o->end(), [](const auto& kv) { return containsInclude(kv.value()); });
  }
  if (const auto* a = value.if_array()) return std::any_of(a->begin(), a->end(), containsInclude);
  return false;
}

Status checkPatchKeepsIncludes(const json::value& source, const json::value& patch) {
  return checkIncludes(source, patch, "");
}

}  // namespace talon::config
