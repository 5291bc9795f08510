#include "gateway/providers/openai_chat_wire.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "base/ascii.h"
#include "base/text.h"
#include "protocol/frames.h"

namespace talon::gateway {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Unexpected<Error> malformed(std::string what) {
  return fail(ErrorCode::kUpstream, "malformed chat completion: " + what, "the model provider sent a malformed answer");
}

/// A tool call's `function.arguments`: a string as OpenAI sends it, or an object (some compatible
/// servers), serialized.
std::optional<std::string> argumentsText(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_object()) return toJson(v);
  if (v.is_null()) return std::string();
  return std::nullopt;
}

/// Text of a `content` field: a string, null, or an array of {type:"text", text} parts.
std::optional<std::string> contentText(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return std::string();
  if (v.is_array()) {
    std::string out;
    for (const auto& part : v.get_array()) {
      if (!part.is_object()) return std::nullopt;
      auto type = getString(part.get_object(), "type");
      auto text = getString(part.get_object(), "text");
      if (type && *type == "text" && text) out.append(*text);
    }
    return out;
  }
  return std::nullopt;
}

/// The choice with index 0 (or the first choice when they carry no index); nullptr when none.
const json::object* firstChoice(const json::array& choices) {
  const json::object* first = nullptr;
  for (const auto& c : choices) {
    if (!c.is_object()) continue;
    const auto& o = c.get_object();
    auto index = getInt(o, "index");
    if (index && *index == 0) return &o;
    if (!index && !first) first = &o;
  }
  return first;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible Low-Level Date
// Algorithms", days_from_civil).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int> parseDigits(std::string_view s, std::size_t minLen, std::size_t maxLen) {
  if (s.size() < minLen || s.size() > maxLen) return std::nullopt;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<unsigned> parseMonth(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned i = 0; i < kMonths.size(); ++i) {
    if (s == kMonths[i]) return i + 1;
  }
  return std::nullopt;
}

bool isDayName(std::string_view s) {
  static constexpr std::array<std::string_view, 14> kDays = {"Mon",      "Tue",    "Wed",      "Thu",     "Fri",
                                                             "Sat",      "Sun",    "Monday",   "Tuesday", "Wednesday",
                                                             "Thursday", "Friday", "Saturday", "Sunday"};
  return std::find(kDays.begin(), kDays.end(), s) != kDays.end();
}

/// "HH:MM:SS" → seconds of the day.
std::optional<int64_t> parseTimeOfDay(std::string_view s) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return std::nullopt;
  auto h = parseDigits(s.substr(0, 2), 2, 2);
  auto m = parseDigits(s.substr(3, 2), 2, 2);
  auto sec = parseDigits(s.substr(6, 2), 2, 2);
  if (!h || !m || !sec || *h > 23 || *m > 59 || *sec > 60) return std::nullopt;
  return *h * 3600 + *m * 60 + *sec;
}

}  // namespace

std::optional<std::string_view> findHeader(const net::Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreAsciiCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string encodeChatRequestBody(const ModelRequest& request, const ChatRequestEncoding& encoding) {
  // Written as text: a turn offers every tool's schema on every call, and building a json::object
  // copied each schema into the body only to serialize and free it.
  std::string out;
  std::size_t estimate = 256 + request.model.size();
  for (const auto& m : request.messages) estimate += 64 + m.content.size();
  for (const auto& t : request.tools) estimate += 64 + t.name.size() + t.description.size() + t.parametersJson().size();
  out.reserve(estimate);
  out += R"({"model":)";
  protocol::appendJsonString(out, request.model);
  out += R"(,"messages":[)";
  bool firstMessage = true;
  for (const auto& m : request.messages) {
    if (!firstMessage) out += ',';
    firstMessage = false;
    out += R"({"role":)";
    protocol::appendJsonString(out, m.role);
    if (m.role == "assistant") {
      out += R"(,"content":)";
      if (m.content.empty() && !m.toolCalls.empty()) {
        out += "null";
      } else {
        protocol::appendJsonString(out, m.content);
      }
      if (!m.toolCalls.empty()) {
        out += R"(,"tool_calls":[)";
        bool firstCall = true;
        for (const auto& tc : m.toolCalls) {
          if (!firstCall) out += ',';
          firstCall = false;
          out += R"({"id":)";
          protocol::appendJsonString(out, tc.id);
          out += R"(,"type":"function","function":{"name":)";
          protocol::appendJsonString(out, tc.name);
          out += R"(,"arguments":)";
          protocol::appendJsonString(out, tc.argumentsJson.empty() ? std::string_view("{}") : tc.argumentsJson);
          out += "}}";
        }
        out += ']';
      }
    } else if (m.role == "tool") {
      out += R"(,"tool_call_id":)";
      protocol::appendJsonString(out, m.toolCallId);
      out += R"(,"content":)";
      protocol::appendJsonString(out, m.content);
    } else {
      out += R"(,"content":)";
      protocol::appendJsonString(out, m.content);
    }
    out += '}';
  }
  out += ']';
  if (!request.tools.empty()) {
    out += R"(,"tools":[)";
    bool firstTool = true;
    for (const auto& t : request.tools) {
      if (!firstTool) out += ',';
      firstTool = false;
      out += R"({"type":"function","function":{"name":)";
      protocol::appendJsonString(out, t.name);
      if (!t.description.empty()) {
        out += R"(,"description":)";
        protocol::appendJsonString(out, t.description);
      }
      out += R"(,"parameters":)";
      out += t.parametersJson();
      out += "}}";
    }
    out += ']';
  }
  if (auto limit = request.maxTokens ? std::optional<int64_t>(*request.maxTokens) : encoding.defaultMaxTokens) {
    out += ',';
    protocol::appendJsonString(out, encoding.maxTokensField);
    out += ':';
    out += std::to_string(*limit);
  }
  if (request.temperature) {
    out += R"(,"temperature":)";
    out += json::serialize(json::value(*request.temperature));
  }
  out += encoding.stream ? R"(,"stream":true,"stream_options":{"include_usage":true}})" : R"(,"stream":false})";
  return out;
}

json::object encodeChatRequest(const ModelRequest& request, const ChatRequestEncoding& encoding) {
  auto parsed = parseJson(encodeChatRequestBody(request, encoding));
  // The body is built from escaped strings and serialized values: it always parses to an object.
  return parsed && parsed->is_object() ? std::move(parsed->get_object()) : json::object{};
}

Result<std::string> ChatStreamAccumulator::applyChunk(const json::value& chunk) {
  if (!chunk.is_object()) return malformed("stream chunk is not an object");
  const auto& obj = chunk.get_object();
  if (auto it = obj.find("usage"); it != obj.end() && it->value().is_object()) {
    usage_ = decodeUsage(it->value().get_object());
  }
  auto choicesIt = obj.find("choices");
  if (choicesIt == obj.end() || choicesIt->value().is_null()) return std::string();
  if (!choicesIt->value().is_array()) return malformed("`choices` is not an array");
  const json::object* choice = firstChoice(choicesIt->value().get_array());
  if (!choice) return std::string();
  if (auto fr = getString(*choice, "finish_reason")) finishReason_.assign(*fr);
  auto deltaIt = choice->find("delta");
  if (deltaIt == choice->end() || deltaIt->value().is_null()) return std::string();
  if (!deltaIt->value().is_object()) return malformed("`delta` is not an object");
  const auto& delta = deltaIt->value().get_object();

  std::string added;
  if (auto it = delta.find("content"); it != delta.end()) {
    auto text = contentText(it->value());
    if (!text) return malformed("`delta.content` has an unexpected type");
    added = std::move(*text);
    text_.append(added);
  }
  if (auto it = delta.find("tool_calls"); it != delta.end() && !it->value().is_null()) {
    if (!it->value().is_array()) return malformed("`delta.tool_calls` is not an array");
    for (const auto& tcv : it->value().get_array()) {
      if (!tcv.is_object()) return malformed("a `delta.tool_calls` entry is not an object");
      const auto& tc = tcv.get_object();
      auto index = getInt(tc, "index");
      auto id = getString(tc, "id");
      PendingCall* target = nullptr;
      if (index) {
        auto found =
            std::find_if(calls_.begin(), calls_.end(), [&](const PendingCall& p) { return p.index == *index; });
        if (found != calls_.end()) target = &*found;
      } else if (!calls_.empty() && !(id && !id->empty() && *id != calls_.back().call.id)) {
        target = &calls_.back();
      }
      if (!target) {
        int64_t next = 0;
        for (const auto& p : calls_) next = std::max(next, p.index + 1);
        calls_.push_back(PendingCall{index.value_or(next), ToolCall{}});
        target = &calls_.back();
      }
      if (id && !id->empty() && target->call.id.empty()) target->call.id.assign(*id);
      if (auto fnIt = tc.find("function"); fnIt != tc.end() && !fnIt->value().is_null()) {
        if (!fnIt->value().is_object()) return malformed("`tool_calls[].function` is not an object");
        const auto& fn = fnIt->value().get_object();
        if (auto name = getString(fn, "name"); name && !name->empty() && target->call.name.empty()) {
          target->call.name.assign(*name);
        }
        if (auto argIt = fn.find("arguments"); argIt != fn.end()) {
          auto args = argumentsText(argIt->value());
          if (!args) return malformed("`tool_calls[].function.arguments` has an unexpected type");
          target->call.argumentsJson.append(*args);
        }
      }
    }
  }
  return added;
}

ModelResponse ChatStreamAccumulator::response() const {
  ModelResponse r;
  r.text = text_;
  r.finishReason = finishReason_;
  r.usage = usage_;
  std::vector<PendingCall> calls = calls_;
  std::stable_sort(calls.begin(), calls.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  for (auto& p : calls) {
    if (p.call.id.empty()) p.call.id = fmt::format("call_{}", p.index);
    r.toolCalls.push_back(std::move(p.call));
  }
  return r;
}

TokenUsage decodeUsage(const json::object& usage) {
  TokenUsage u;
  u.inputTokens = getInt(usage, "prompt_tokens").value_or(0);
  u.outputTokens = getInt(usage, "completion_tokens").value_or(0);
  return u;
}

Result<ModelResponse> decodeChatCompletion(const json::value& body) {
  if (!body.is_object()) return malformed("body is not an object");
  const auto* choices = getArray(body.get_object(), "choices");
  if (!choices) return malformed("no `choices` array");
  const json::object* choice = firstChoice(*choices);
  if (!choice) return malformed("no choices[0]");
  const auto* message = getObject(*choice, "message");
  if (!message) return malformed("no choices[0].message");
  ModelResponse r;
  if (auto it = message->find("content"); it != message->end()) {
    auto text = contentText(it->value());
    if (!text) return malformed("`message.content` has an unexpected type");
    r.text = std::move(*text);
  }
  if (auto it = message->find("tool_calls"); it != message->end() && !it->value().is_null()) {
    if (!it->value().is_array()) return malformed("`message.tool_calls` is not an array");
    for (const auto& tcv : it->value().get_array()) {
      if (!tcv.is_object()) return malformed("a `message.tool_calls` entry is not an object");
      const auto& tc = tcv.get_object();
      ToolCall call;
      call.id = std::string(getString(tc, "id").value_or(""));
      if (const auto* fn = getObject(tc, "function")) {
        call.name = std::string(getString(*fn, "name").value_or(""));
        if (auto argIt = fn->find("arguments"); argIt != fn->end()) {
          auto args = argumentsText(argIt->value());
          if (!args) return malformed("`tool_calls[].function.arguments` has an unexpected type");
          call.argumentsJson = std::move(*args);
        }
      }
      if (call.id.empty()) call.id = fmt::format("call_{}", r.toolCalls.size());
      r.toolCalls.push_back(std::move(call));
    }
  }
  r.finishReason = std::string(getString(*choice, "finish_reason").value_or(""));
  if (const auto* usage = getObject(body.get_object(), "usage")) r.usage = decodeUsage(*usage);
  return r;
}

std::optional<std::string> errorMessageOf(const json::value& body) {
  if (!body.is_object()) return std::nullopt;
  const auto& o = body.get_object();
  if (auto it = o.find("error"); it != o.end()) {
    if (it->value().is_string()) return std::string(it->value().get_string());
    if (it->value().is_object()) {
      if (auto m = getString(it->value().get_object(), "message")) return std::string(*m);
      return toJson(it->value());
    }
  }
  if (auto m = getString(o, "message")) return std::string(*m);
  return std::nullopt;
}

std::optional<int64_t> parseHttpDateMs(std::string_view text) {
  // Tokenize on spaces, commas and (for the RFC 850 form) dashes.
  std::vector<std::string_view> tokens;
  std::size_t start = std::string_view::npos;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    bool sep = i == text.size() || text[i] == ' ' || text[i] == ',' || text[i] == '-';
    if (sep) {
      if (start != std::string_view::npos) tokens.push_back(text.substr(start, i - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = i;
    }
  }
  std::optional<int> day, year;
  std::optional<unsigned> month;
  std::optional<int64_t> tod;
  if (tokens.size() == 6 && isDayName(tokens[0]) && tokens[5] == "GMT") {
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" or RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" (a
    // two-digit year below 70 is 20xx).
    day = parseDigits(tokens[1], 2, 2);
    month = parseMonth(tokens[2]);
    const std::size_t yearLen = tokens[3].size();
    if (yearLen == 2 || yearLen == 4) year = parseDigits(tokens[3], yearLen, yearLen);
    if (year && yearLen == 2) year = *year + (*year < 70 ? 2000 : 1900);
    tod = parseTimeOfDay(tokens[4]);
  } else if (tokens.size() == 5 && isDayName(tokens[0])) {
    // asctime "Sun Nov  6 08:49:37 1994".
    month = parseMonth(tokens[1]);
    day = parseDigits(tokens[2], 1, 2);
    tod = parseTimeOfDay(tokens[3]);
    year = parseDigits(tokens[4], 4, 4);
  } else {
    return std::nullopt;
  }
  if (!day || !month || !year || !tod) return std::nullopt;
  const int d = *day;
  if (d < 1 || d > 31) return std::nullopt;
  int64_t days = daysFromCivil(year.value(), month.value(), static_cast<unsigned>(d));
  return (days * 86400 + tod.value()) * 1000;
}

std::optional<int64_t> retryAfterMs(const net::Headers& headers, int64_t nowMs) {
  auto parseNumber = [](std::string_view s) -> std::optional<double> {
    s = trim(s);
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v) || v < 0) {
      return std::nullopt;
    }
    return v;
  };
  if (auto ms = findHeader(headers, "retry-after-ms")) {
    if (auto v = parseNumber(*ms)) return static_cast<int64_t>(std::llround(*v));
  }
  if (auto ra = findHeader(headers, "retry-after")) {
    if (auto v = parseNumber(*ra)) return static_cast<int64_t>(std::llround(*v * 1000));
    if (auto at = parseHttpDateMs(trim(*ra))) return std::max<int64_t>(0, *at - nowMs);
  }
  return std::nullopt;
}

Error chatHttpError(std::string_view providerId, int status, const net::Headers& headers, std::string_view body,
                    int64_t nowMs) {
  std::string vendorMessage;
  std::string vendorCode;
  if (auto parsed = parseJson(body)) {
    if (auto m = errorMessageOf(*parsed)) vendorMessage = *m;
    if (parsed->is_object()) {
      if (const auto* err = getObject(parsed->get_object(), "error")) {
        if (auto code = getString(*err, "code")) {
          vendorCode.assign(*code);
        } else if (auto type = getString(*err, "type")) {
          vendorCode.assign(*type);
        }
      }
    }
  }
  if (vendorMessage.empty()) vendorMessage = body.empty() ? "(empty body)" : printablePrefix(body, 200);

  ErrorCode code = ErrorCode::kUpstream;
  std::string_view external = "the model provider answered with an error";
  if (status == 401 || status == 403) {
    code = ErrorCode::kUnauthenticated;
    external = "the model provider rejected the credentials";
  } else if (status == 429) {
    code = ErrorCode::kResourceExhausted;
    external = "the model provider is rate limiting requests";
  } else if (status >= 500 && status <= 599) {
    code = ErrorCode::kUnavailable;
    external = "the model provider is unavailable";
  } else if (status == 400 || status == 404 || status == 413 || status == 422) {
    code = ErrorCode::kInvalidArgument;
    external = "the model provider rejected the request";
  } else if (status == 408) {
    code = ErrorCode::kDeadlineExceeded;
    external = "the model provider timed out";
  }
  Error e(code, fmt::format("provider {}: HTTP {}: {}", providerId, status, vendorMessage), std::string(external));
  e.details["provider"] = providerId;
  e.details["httpStatus"] = status;
  if (!vendorCode.empty()) e.details["vendorCode"] = vendorCode;
  if (code == ErrorCode::kResourceExhausted || code == ErrorCode::kUnavailable) {
    if (auto ms = retryAfterMs(headers, nowMs)) e.retryAfterMs = *ms;
  }
  return e;
}

}  // namespace talon::gateway
