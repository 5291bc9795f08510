#include "config/located_value.h"

#include <unordered_map>
#include <utility>

namespace talon::config {

const LocatedMember* LocatedValue::findMember(std::string_view key) const {
  for (const auto& m : members) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

LocatedMember* LocatedValue::findMember(std::string_view key) {
  for (auto& m : members) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

void LocatedValue::setMember(std::string key, SourceLocation keyLocation, LocatedValue value) {
  if (LocatedMember* existing = findMember(key)) {
    existing->keyLocation = std::move(keyLocation);
    existing->value = std::move(value);
    return;
  }
  members.push_back(LocatedMember{std::move(key), std::move(keyLocation), std::move(value)});
}

LocatedValue LocatedValue::makeObject(SourceLocation location) {
  LocatedValue v;
  v.kind = Kind::kObject;
  v.location = std::move(location);
  return v;
}

LocatedValue LocatedValue::makeArray(SourceLocation location) {
  LocatedValue v;
  v.kind = Kind::kArray;
  v.location = std::move(location);
  return v;
}

LocatedValue LocatedValue::makeScalar(json::value s, SourceLocation location) {
  LocatedValue v;
  v.kind = Kind::kScalar;
  v.scalar = std::move(s);
  v.location = std::move(location);
  return v;
}

json::value toJsonValue(const LocatedValue& v) {
  switch (v.kind) {
    case LocatedValue::Kind::kObject: {
      json::object o;
      o.reserve(v.members.size());
      for (const auto& m : v.members) o[m.key] = toJsonValue(m.value);
      return o;
    }
    case LocatedValue::Kind::kArray: {
      json::array a;
      a.reserve(v.items.size());
      for (const auto& item : v.items) a.push_back(toJsonValue(item));
      return a;
    }
    case LocatedValue::Kind::kScalar:
      break;
  }
  return v.scalar;
}

void collectSourceMap(const LocatedValue& v, const std::string& path, SourceMap& map) {
  if (path.empty()) map.set(path, v.location);
  if (v.isObject()) {
    for (const auto& m : v.members) {
      std::string child = appendPathKey(path, m.key);
      map.set(child, m.keyLocation);
      collectSourceMap(m.value, child, map);
    }
  } else if (v.isArray()) {
    for (std::size_t i = 0; i < v.items.size(); ++i) {
      std::string child = appendPathIndex(path, i);
      map.set(child, v.items[i].location);
      collectSourceMap(v.items[i], child, map);
    }
  }
}

std::string_view javaScriptTypeName(const LocatedValue& v) {
  if (v.kind != LocatedValue::Kind::kScalar) return "object";
  switch (v.scalar.kind()) {
    case json::kind::string:
      return "string";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "number";
    default:
      return "object";  // null
  }
}

namespace {
bool isBlockedKey(std::string_view key) { return key == "__proto__" || key == "prototype" || key == "constructor"; }

// OpenClaw's sanitizePlainObject: drops blocked keys at every object depth (arrays are kept as is).
LocatedValue sanitize(LocatedValue v) {
  if (!v.isObject()) return v;
  std::vector<LocatedMember> kept;
  kept.reserve(v.members.size());
  for (auto& m : v.members) {
    if (isBlockedKey(m.key)) continue;
    m.value = sanitize(std::move(m.value));
    kept.push_back(std::move(m));
  }
  v.members = std::move(kept);
  return v;
}
}  // namespace

LocatedValue deepMergeLocated(LocatedValue target, LocatedValue source) {
  if (target.isArray() && source.isArray()) {
    for (auto& item : source.items) target.items.push_back(std::move(item));
    return target;
  }
  if (!target.isObject() || !source.isObject()) return source;
  LocatedValue merged = sanitize(std::move(target));
  // Key -> position in merged.members, so that merging two large objects (a fleet inventory's thousands of
  // agents split over `$include` files) stays linear instead of searching the members for every key.
  std::unordered_map<std::string, std::size_t> index;
  index.reserve(merged.members.size() + source.members.size());
  for (std::size_t i = 0; i < merged.members.size(); ++i) index.emplace(merged.members[i].key, i);
  for (auto& m : source.members) {
    if (isBlockedKey(m.key)) continue;
    auto found = index.find(m.key);
    LocatedMember* current = found == index.end() ? nullptr : &merged.members[found->second];
    auto set = [&](LocatedValue value) {
      if (current != nullptr) {
        current->keyLocation = m.keyLocation;
        current->value = std::move(value);
        return;
      }
      index.emplace(m.key, merged.members.size());
      merged.members.push_back(LocatedMember{m.key, m.keyLocation, std::move(value)});
    };
    if (m.value.isObject()) {
      if (current != nullptr && current->value.isObject()) {
        current->value = deepMergeLocated(std::move(current->value), std::move(m.value));
      } else {
        set(sanitize(std::move(m.value)));
      }
    } else if (current != nullptr && current->value.isArray() && m.value.isArray()) {
      for (auto& item : m.value.items) current->value.items.push_back(std::move(item));
    } else {
      set(std::move(m.value));
    }
  }
  return merged;
}

}  // namespace talon::config
