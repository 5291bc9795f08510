#include "base/json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace talon {

Result<json::value> parseJson(std::string_view text) { return parseJson(text, json::storage_ptr()); }

Result<json::value> parseJson(std::string_view text, json::storage_ptr storage) {
  // The parser's working stack starts in this buffer (it spills to the heap only for deep or large
  // documents): a parser of its own otherwise grows its stack from the heap at every call.
  unsigned char stack[2048];
  json::parser p(json::storage_ptr(), json::parse_options(), stack, sizeof stack);
  p.reset(std::move(storage));
  boost::system::error_code ec;
  std::size_t n = p.write(text.data(), text.size(), ec);  // also fails on trailing non-whitespace
  if (ec) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("invalid JSON at byte {}: {}", n, ec.message()),
                "invalid JSON");
  }
  return p.release();
}

namespace {
void prettyInto(std::string& out, const json::value& v, int indent) {
  auto pad = [&](int n) { out.append(static_cast<std::size_t>(n) * 2, ' '); };
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& kv : o) {
        if (!first) out += ",\n";
        first = false;
        pad(indent + 1);
        out += json::serialize(json::value(kv.key()));
        out += ": ";
        prettyInto(out, kv.value(), indent + 1);
      }
      out += "\n";
      pad(indent);
      out += "}";
      return;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ",\n";
        pad(indent + 1);
        prettyInto(out, a[i], indent + 1);
      }
      out += "\n";
      pad(indent);
      out += "]";
      return;
    }
    default:
      out += json::serialize(v);
  }
}

void canonicalInto(std::string& out, const json::value& v) {
  if (v.is_object()) {
    const auto& o = v.get_object();
    std::vector<const json::key_value_pair*> kvs;
    kvs.reserve(o.size());
    for (const auto& kv : o) kvs.push_back(&kv);
    std::sort(kvs.begin(), kvs.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
    out += '{';
    for (std::size_t i = 0; i < kvs.size(); ++i) {
      if (i) out += ',';
      out += json::serialize(json::value(kvs[i]->key()));
      out += ':';
      canonicalInto(out, kvs[i]->value());
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    const auto& a = v.get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (i) out += ',';
      canonicalInto(out, a[i]);
    }
    out += ']';
  } else {
    out += json::serialize(v);
  }
}
}  // namespace

std::string toPrettyJson(const json::value& v) {
  std::string out;
  prettyInto(out, v, 0);
  out += '\n';
  return out;
}

std::string toCanonicalJson(const json::value& v) {
  std::string out;
  canonicalInto(out, v);
  return out;
}

std::optional<std::string_view> getString(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  const auto& s = it->value().get_string();
  return std::string_view(s.data(), s.size());
}

std::optional<int64_t> getInt(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v.get_uint64());
  if (v.is_double()) {
    // Only a whole number inside int64's range converts: casting anything else (1e70, NaN) is undefined.
    const double d = v.get_double();
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && std::trunc(d) == d) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

std::optional<bool> getBool(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_bool()) return std::nullopt;
  return it->value().get_bool();
}

const json::object* getObject(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_object() ? &it->value().get_object() : nullptr;
}

const json::array* getArray(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_array() ? &it->value().get_array() : nullptr;
}

}  // namespace talon
