#include "config/source_map.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

namespace talon::config {

std::string SourceLocation::toString() const {
  if (!known()) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

namespace {
bool isPlainSegment(std::string_view key) {
  if (key.empty()) return false;
  auto isStart = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$'; };
  auto isRest = [&](char c) { return isStart(c) || (c >= '0' && c <= '9') || c == ':' || c == '-'; };
  if (!isStart(key[0])) return false;
  for (char c : key.substr(1)) {
    if (!isRest(c)) return false;
  }
  return true;
}
}  // namespace

std::string appendPathKey(std::string_view path, std::string_view key) {
  std::string out(path);
  if (isPlainSegment(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += '[';
    out += boost::json::serialize(boost::json::value(boost::json::string_view(key.data(), key.size())));
    out += ']';
  }
  return out;
}

std::string appendPathIndex(std::string_view path, std::size_t index) {
  std::string out(path);
  out += '[';
  out += std::to_string(index);
  out += ']';
  return out;
}

std::string displayPath(std::string_view path) { return path.empty() ? "<root>" : std::string(path); }

void SourceMap::set(std::string path, SourceLocation location) {
  entries_.insert_or_assign(std::move(path), std::move(location));
}

const SourceLocation* SourceMap::find(std::string_view path) const {
  auto it = entries_.find(std::string(path));
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace talon::config
