#include "gateway/http/hook_template.h"

#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <regex>

namespace talon::gateway::http {

namespace {

/// OpenClaw getByPath: segments `name` and `[index]`; a missing step yields nullptr.
const json::value* getByPath(const json::value& input, std::string_view expr) {
  static const std::regex kPart(R"(([^.\[\]]+)|(\[(\d+)\]))");
  const json::value* current = &input;
  std::string s(expr);
  bool any = false;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), kPart); it != std::sregex_iterator(); ++it) {
    any = true;
    const auto& m = *it;
    if (current == nullptr || current->is_null()) return nullptr;
    if (m[1].matched) {
      std::string key = m[1].str();
      if (key == "__proto__" || key == "prototype" || key == "constructor") return nullptr;
      if (!current->is_object()) return nullptr;
      current = current->get_object().if_contains(key);
    } else {
      if (!current->is_array()) return nullptr;
      std::size_t index = std::stoul(m[3].str());
      const auto& a = current->get_array();
      current = index < a.size() ? &a[index] : nullptr;
    }
  }
  return any ? current : nullptr;
}

std::string jsNumber(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e21) return fmt::format("{:.0f}", d);
  return fmt::format("{}", d);
}

std::string renderValue(const json::value* v) {
  if (v == nullptr || v->is_null()) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_bool()) return v->get_bool() ? "true" : "false";
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  if (v->is_double()) return jsNumber(v->get_double());
  return json::serialize(*v);
}

json::value toJson(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

std::string resolve(std::string_view expr, const HookTemplateContext& ctx) {
  if (expr == "path") return ctx.path;
  if (expr == "now") return ctx.now;
  if (expr.rfind("headers.", 0) == 0) {
    auto it = ctx.headers.find(std::string(expr.substr(8)));
    return it == ctx.headers.end() ? std::string() : it->second;
  }
  if (expr.rfind("query.", 0) == 0) {
    json::value q = toJson(ctx.query);
    return renderValue(getByPath(q, expr.substr(6)));
  }
  if (expr.rfind("payload.", 0) == 0) return renderValue(getByPath(ctx.payload, expr.substr(8)));
  return renderValue(getByPath(ctx.payload, expr));
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string formDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hexDigit(s[i + 1]) >= 0 && hexDigit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexDigit(s[i + 1]) * 16 + hexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string renderHookTemplate(std::string_view tmpl, const HookTemplateContext& ctx) {
  static const std::regex kExpr(R"(\{\{\s*([^}]+)\s*\}\})");
  std::string s(tmpl);
  std::string out;
  auto last = s.cbegin();
  for (auto it = std::sregex_iterator(s.begin(), s.end(), kExpr); it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    out.append(last, m[0].first);
    std::string expr = m[1].str();
    auto b = expr.find_first_not_of(" \t\r\n");
    auto e = expr.find_last_not_of(" \t\r\n");
    expr = b == std::string::npos ? std::string() : expr.substr(b, e - b + 1);
    out += resolve(expr, ctx);
    last = m[0].second;
  }
  out.append(last, s.cend());
  return out;
}

bool hasHookTemplate(std::string_view tmpl) {
  static const std::regex kExpr(R"(\{\{\s*[^}]+\s*\}\})");
  return std::regex_search(tmpl.begin(), tmpl.end(), kExpr);
}

std::map<std::string, std::string> parseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string name = formDecode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : formDecode(pair.substr(eq + 1));
    out[name] = std::move(value);
  }
  return out;
}

std::string isoTimestamp(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

}  // namespace talon::gateway::http
