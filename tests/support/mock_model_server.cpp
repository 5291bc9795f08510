#include "support/mock_model_server.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>

namespace talon::mock {

namespace {

namespace asio = boost::asio;

// ---------------------------------------------------------------------------------------------------
// Script parsing.

Unexpected<Error> scriptError(std::string where, std::string what) {
  return fail(ErrorCode::kInvalidArgument, fmt::format("mock script: {}: {}", where, what));
}

Status checkKeys(const json::object& o, std::initializer_list<std::string_view> allowed, const std::string& where) {
  for (const auto& kv : o) {
    if (std::find(allowed.begin(), allowed.end(), kv.key()) == allowed.end()) {
      return scriptError(where, fmt::format("unknown key \"{}\"", std::string_view(kv.key())));
    }
  }
  return {};
}

Status readString(const json::object& o, std::string_view key, std::optional<std::string>& out,
                  const std::string& where) {
  auto it = o.find(key);
  if (it == o.end()) return {};
  if (!it->value().is_string()) return scriptError(where, fmt::format("\"{}\" must be a string", key));
  out = std::string(it->value().get_string());
  return {};
}

Status readString(const json::object& o, std::string_view key, std::string& out, const std::string& where) {
  std::optional<std::string> v;
  if (auto st = readString(o, key, v, where); !st) return st;
  if (v) out = std::move(*v);
  return {};
}

Status readBool(const json::object& o, std::string_view key, std::optional<bool>& out, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end()) return {};
  if (!it->value().is_bool()) return scriptError(where, fmt::format("\"{}\" must be true or false", key));
  out = it->value().get_bool();
  return {};
}

Status readBool(const json::object& o, std::string_view key, bool& out, const std::string& where) {
  std::optional<bool> v;
  if (auto st = readBool(o, key, v, where); !st) return st;
  if (v) out = *v;
  return {};
}

Status readInt(const json::object& o, std::string_view key, std::optional<int64_t>& out, int64_t min,
               const std::string& where) {
  auto it = o.find(key);
  if (it == o.end()) return {};
  auto v = it->value().if_int64();
  std::optional<int64_t> n;
  if (v) n = *v;
  if (auto u = it->value().if_uint64(); u && *u <= static_cast<uint64_t>(INT64_MAX)) n = static_cast<int64_t>(*u);
  if (!n || *n < min) return scriptError(where, fmt::format("\"{}\" must be an integer >= {}", key, min));
  out = n;
  return {};
}

template <class T>
Status readInt(const json::object& o, std::string_view key, T& out, int64_t min, const std::string& where) {
  std::optional<int64_t> v;
  if (auto st = readInt(o, key, v, min, where); !st) return st;
  if (v) out = static_cast<T>(*v);
  return {};
}

#define MOCK_TRY(expr)                                                \
  do {                                                                \
    if (auto st_ = (expr); !st_) return fail(std::move(st_).error()); \
  } while (0)

Result<MockMatch> parseMatch(const json::object& o, const std::string& where) {
  MOCK_TRY(checkKeys(o,
                     {"lastRole", "lastUserContains", "lastToolContains", "systemContains", "anyMessageContains",
                      "model", "hasTools", "stream"},
                     where));
  MockMatch m;
  MOCK_TRY(readString(o, "lastRole", m.lastRole, where));
  MOCK_TRY(readString(o, "lastUserContains", m.lastUserContains, where));
  MOCK_TRY(readString(o, "lastToolContains", m.lastToolContains, where));
  MOCK_TRY(readString(o, "systemContains", m.systemContains, where));
  MOCK_TRY(readString(o, "anyMessageContains", m.anyMessageContains, where));
  MOCK_TRY(readString(o, "model", m.model, where));
  MOCK_TRY(readBool(o, "hasTools", m.hasTools, where));
  MOCK_TRY(readBool(o, "stream", m.stream, where));
  return m;
}

Status parseReply(const json::object& o, MockRule& r, const std::string& where) {
  MOCK_TRY(checkKeys(
      o, {"text", "chunks", "toolCalls", "argumentChunks", "finishReason", "usage", "nonStream", "raw", "contentType"},
      where));
  MOCK_TRY(readString(o, "text", r.text, where));
  MOCK_TRY(readInt(o, "chunks", r.chunks, 1, where));
  MOCK_TRY(readInt(o, "argumentChunks", r.argumentChunks, 1, where));
  MOCK_TRY(readString(o, "finishReason", r.finishReason, where));
  MOCK_TRY(readBool(o, "nonStream", r.nonStream, where));
  MOCK_TRY(readString(o, "raw", r.raw, where));
  MOCK_TRY(readString(o, "contentType", r.rawContentType, where));
  if (auto it = o.find("usage"); it != o.end()) {
    if (!it->value().is_object()) return scriptError(where, "\"usage\" must be an object");
    const auto& u = it->value().get_object();
    MOCK_TRY(checkKeys(u, {"prompt_tokens", "completion_tokens"}, where + ".usage"));
    MOCK_TRY(readInt(u, "prompt_tokens", r.promptTokens, 0, where + ".usage"));
    MOCK_TRY(readInt(u, "completion_tokens", r.completionTokens, 0, where + ".usage"));
  }
  if (auto it = o.find("toolCalls"); it != o.end()) {
    if (!it->value().is_array()) return scriptError(where, "\"toolCalls\" must be an array");
    for (std::size_t i = 0; i < it->value().get_array().size(); ++i) {
      const auto& tv = it->value().get_array()[i];
      std::string w = fmt::format("{}.toolCalls[{}]", where, i);
      if (!tv.is_object()) return scriptError(w, "must be an object");
      const auto& t = tv.get_object();
      MOCK_TRY(checkKeys(t, {"id", "name", "arguments"}, w));
      MockToolCall call;
      MOCK_TRY(readString(t, "id", call.id, w));
      MOCK_TRY(readString(t, "name", call.name, w));
      if (call.name.empty()) return scriptError(w, "\"name\" is required");
      if (auto a = t.find("arguments"); a != t.end()) {
        call.arguments = a->value().is_string() ? std::string(a->value().get_string()) : toJson(a->value());
      } else {
        call.arguments = "{}";
      }
      r.toolCalls.push_back(std::move(call));
    }
  }
  return {};
}

Result<MockRule> parseRule(const json::value& v, std::size_t index) {
  std::string where = fmt::format("rules[{}]", index);
  if (!v.is_object()) return scriptError(where, "a rule must be an object");
  const auto& o = v.get_object();
  MOCK_TRY(checkKeys(o,
                     {"match", "times", "delayMs", "chunkDelayMs", "status", "error", "retryAfter", "retryAfterMs",
                      "malformed", "hang", "noDone", "streamError", "reply", "comment"},
                     where));
  MockRule r;
  if (auto it = o.find("match"); it != o.end()) {
    if (!it->value().is_object()) return scriptError(where, "\"match\" must be an object");
    auto m = parseMatch(it->value().get_object(), where + ".match");
    if (!m) return fail(std::move(m).error());
    r.match = std::move(*m);
  }
  MOCK_TRY(readInt(o, "times", r.times, 1, where));
  MOCK_TRY(readInt(o, "delayMs", r.delayMs, 0, where));
  MOCK_TRY(readInt(o, "chunkDelayMs", r.chunkDelayMs, 0, where));
  MOCK_TRY(readInt(o, "status", r.status, 100, where));
  if (r.status > 599) return scriptError(where, "\"status\" must be an HTTP status");
  if (auto it = o.find("error"); it != o.end()) {
    if (!it->value().is_object()) return scriptError(where, "\"error\" must be an object");
    const auto& e = it->value().get_object();
    MOCK_TRY(checkKeys(e, {"message", "type", "code"}, where + ".error"));
    MOCK_TRY(readString(e, "message", r.errorMessage, where + ".error"));
    MOCK_TRY(readString(e, "type", r.errorType, where + ".error"));
    MOCK_TRY(readString(e, "code", r.errorCode, where + ".error"));
  }
  if (auto it = o.find("retryAfter"); it != o.end()) {
    if (it->value().is_string()) {
      r.retryAfter = std::string(it->value().get_string());
    } else if (it->value().is_number()) {
      r.retryAfter = toJson(it->value());
    } else {
      return scriptError(where, "\"retryAfter\" must be seconds or an HTTP-date string");
    }
  }
  MOCK_TRY(readInt(o, "retryAfterMs", r.retryAfterMs, 0, where));
  MOCK_TRY(readBool(o, "malformed", r.malformed, where));
  MOCK_TRY(readBool(o, "hang", r.hang, where));
  MOCK_TRY(readBool(o, "noDone", r.noDone, where));
  MOCK_TRY(readString(o, "streamError", r.streamError, where));
  if (auto it = o.find("reply"); it != o.end()) {
    if (!it->value().is_object()) return scriptError(where, "\"reply\" must be an object");
    MOCK_TRY(parseReply(it->value().get_object(), r, where + ".reply"));
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------
// Reading requests.

/// The text of a message's content: a string or an array of {type:"text", text} parts.
std::string contentText(const json::object& message) {
  auto it = message.find("content");
  if (it == message.end()) return {};
  if (it->value().is_string()) return std::string(it->value().get_string());
  std::string out;
  if (it->value().is_array()) {
    for (const auto& part : it->value().get_array()) {
      if (!part.is_object()) continue;
      if (auto t = getString(part.get_object(), "text")) out.append(*t);
    }
  }
  return out;
}

struct RequestView {
  std::string model;
  bool stream = false;
  bool includeUsage = false;
  bool hasTools = false;
  std::vector<std::pair<std::string, std::string>> messages;  // role, text
  std::size_t promptBytes = 0;
};

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

bool matches(const MockMatch& m, const RequestView& r) {
  if (m.model && *m.model != r.model) return false;
  if (m.stream && *m.stream != r.stream) return false;
  if (m.hasTools && *m.hasTools != r.hasTools) return false;
  if (m.lastRole && (r.messages.empty() || r.messages.back().first != *m.lastRole)) return false;
  auto lastOf = [&](std::string_view role) -> const std::string* {
    for (auto it = r.messages.rbegin(); it != r.messages.rend(); ++it) {
      if (it->first == role) return &it->second;
    }
    return nullptr;
  };
  if (m.lastUserContains) {
    const std::string* t = lastOf("user");
    if (!t || !contains(*t, *m.lastUserContains)) return false;
  }
  if (m.lastToolContains) {
    const std::string* t = lastOf("tool");
    if (!t || !contains(*t, *m.lastToolContains)) return false;
  }
  if (m.systemContains) {
    auto it = std::find_if(r.messages.begin(), r.messages.end(),
                           [](const auto& msg) { return msg.first == "system" || msg.first == "developer"; });
    if (it == r.messages.end() || !contains(it->second, *m.systemContains)) return false;
  }
  if (m.anyMessageContains) {
    if (std::none_of(r.messages.begin(), r.messages.end(),
                     [&](const auto& msg) { return contains(msg.second, *m.anyMessageContains); })) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Writing answers.

/// Splits `s` into `n` pieces of about equal size, never inside a UTF-8 sequence.
std::vector<std::string> splitUtf8(const std::string& s, int n) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::size_t pieces = std::max(1, n);
  std::size_t pos = 0;
  for (std::size_t i = 1; i <= pieces && pos < s.size(); ++i) {
    std::size_t end = i == pieces ? s.size() : s.size() * i / pieces;
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) ++end;
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

std::string_view defaultErrorMessage(int status) {
  switch (status) {
    case 400:
      return "Invalid request.";
    case 401:
      return "Incorrect API key provided.";
    case 403:
      return "You are not allowed to access this resource.";
    case 404:
      return "The model does not exist or you do not have access to it.";
    case 429:
      return "Rate limit reached for requests.";
    case 500:
      return "The server had an error while processing your request. Sorry about that!";
    case 503:
      return "The engine is currently overloaded, please try again later.";
    default:
      return "Mock error.";
  }
}

std::string_view defaultErrorType(int status) {
  if (status == 429) return "requests";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

std::string errorBody(std::string_view message, std::string_view type, std::string_view code) {
  json::object err{{"message", message}, {"type", type}, {"param", nullptr}};
  if (code.empty()) {
    err["code"] = nullptr;
  } else {
    err["code"] = code;
  }
  return toJson(json::object{{"error", std::move(err)}});
}

net::HttpResponse jsonResponse(int status, std::string body, net::Headers headers = {}) {
  net::HttpResponse r;
  r.status = status;
  r.contentType = "application/json";
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

/// Builds the events of one streamed answer, each a complete "data: ...\n\n".
class ChunkWriter {
 public:
  ChunkWriter(std::string id, int64_t created, std::string model, bool includeUsage)
      : id_(std::move(id)), created_(created), model_(std::move(model)), includeUsage_(includeUsage) {}

  void delta(json::object delta, json::value finishReason = nullptr) {
    json::object choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}};
    choice["finish_reason"] = std::move(finishReason);
    json::object chunk = head();
    chunk["choices"] = json::array{std::move(choice)};
    if (includeUsage_) chunk["usage"] = nullptr;
    events.push_back("data: " + toJson(chunk) + "\n\n");
  }
  void usage(int64_t prompt, int64_t completion) {
    json::object chunk = head();
    chunk["choices"] = json::array{};
    chunk["usage"] = json::object{
        {"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
    events.push_back("data: " + toJson(chunk) + "\n\n");
  }
  void raw(std::string event) { events.push_back(std::move(event)); }

  std::vector<std::string> events;

 private:
  json::object head() const {
    return json::object{{"id", id_},
                        {"object", "chat.completion.chunk"},
                        {"created", created_},
                        {"model", model_},
                        {"system_fingerprint", "fp_mock"}};
  }
  std::string id_;
  int64_t created_;
  std::string model_;
  bool includeUsage_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------------
// The server.

struct MockModelServer::State : std::enable_shared_from_this<MockModelServer::State> {
  State(asio::io_context& io, MockModelOptions opts) : io(io), options(std::move(opts)) {
    for (std::size_t i = 0; i < options.script.rules.size(); ++i) used.emplace_back(0);
  }
  ~State() {
    if (log) std::fclose(log);
  }

  asio::io_context& io;
  MockModelOptions options;
  std::deque<std::atomic<int64_t>> used;  // per rule: matching requests so far
  std::atomic<uint64_t> seq{0};
  std::FILE* log = nullptr;
  mutable std::mutex mu;
  std::vector<MockRequest> recorded;            // guarded by mu
  std::vector<net::ResponseStreamPtr> hanging;  // guarded by mu
  bool stopped = false;                         // guarded by mu

  void onHttp(const net::HttpExchangePtr& ex) {
    const net::HttpRequest& req = ex->request();
    bool chat = req.path == "/v1/chat/completions" || req.path == "/chat/completions";
    bool models = req.path == "/v1/models" || req.path == "/models";
    if (!chat && !models) {
      ex->respond(jsonResponse(404, errorBody(fmt::format("Unknown request URL: {} {}.", req.method, req.path),
                                              "invalid_request_error", "unknown_url")));
      return;
    }
    uint64_t n = ++seq;
    record(n, req);
    if (!options.script.apiKey.empty() && req.header("authorization") != "Bearer " + options.script.apiKey) {
      ex->respond(jsonResponse(401, errorBody(defaultErrorMessage(401), "invalid_request_error", "invalid_api_key")));
      return;
    }
    if (models) {
      if (req.method != "GET") {
        ex->respond(jsonResponse(405, errorBody("Method not allowed.", "invalid_request_error", "")));
        return;
      }
      json::array data;
      for (const auto& id : options.script.models) {
        data.push_back(
            json::object{{"id", id}, {"object", "model"}, {"created", 1700000000}, {"owned_by", "talon-mock"}});
      }
      ex->respond(jsonResponse(200, toJson(json::object{{"object", "list"}, {"data", std::move(data)}})));
      return;
    }
    if (req.method != "POST") {
      ex->respond(jsonResponse(405, errorBody("Method not allowed.", "invalid_request_error", "")));
      return;
    }
    onChat(ex, n);
  }

  void record(uint64_t n, const net::HttpRequest& req) {
    if (!log && !options.recordRequests) return;
    std::lock_guard lock(mu);
    if (options.recordRequests) recorded.push_back(MockRequest{req.method, req.path, req.headers, req.body});
    if (log) {
      json::object headers;
      for (const auto& [k, v] : req.headers) {
        std::string key = k;
        std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
        headers[key] = v;
      }
      json::object line{{"seq", n}, {"method", req.method}, {"path", req.path}, {"headers", std::move(headers)}};
      if (auto body = parseJson(req.body)) {
        line["body"] = std::move(*body);
      } else {
        line["body"] = req.body;
      }
      std::string text = toJson(line);
      text.push_back('\n');
      std::fwrite(text.data(), 1, text.size(), log);
      std::fflush(log);
    }
  }

  void onChat(const net::HttpExchangePtr& ex, uint64_t n) {
    auto body = parseJson(ex->request().body);
    if (!body || !body->is_object()) {
      ex->respond(jsonResponse(
          400, errorBody("We could not parse the JSON body of your request.", "invalid_request_error", "")));
      return;
    }
    const auto& o = body->get_object();
    RequestView view;
    view.model = std::string(getString(o, "model").value_or(""));
    view.stream = getBool(o, "stream").value_or(false);
    if (const auto* so = getObject(o, "stream_options"))
      view.includeUsage = getBool(*so, "include_usage").value_or(false);
    if (const auto* tools = getArray(o, "tools")) view.hasTools = !tools->empty();
    const auto* messages = getArray(o, "messages");
    if (!messages || view.model.empty()) {
      ex->respond(jsonResponse(
          400, errorBody(messages ? "you must provide a model parameter" : "'messages' is a required property",
                         "invalid_request_error", "")));
      return;
    }
    for (const auto& m : *messages) {
      if (!m.is_object()) continue;
      std::string text = contentText(m.get_object());
      view.promptBytes += text.size();
      view.messages.emplace_back(std::string(getString(m.get_object(), "role").value_or("")), std::move(text));
    }
    const MockRule* rule = nullptr;
    for (std::size_t i = 0; i < options.script.rules.size(); ++i) {
      const MockRule& r = options.script.rules[i];
      if (!matches(r.match, view)) continue;
      if (r.times && used[i].fetch_add(1) >= *r.times) continue;
      rule = &r;
      break;
    }
    if (!rule) {
      ex->respond(
          jsonResponse(500, errorBody("mock: no script rule matched the request", "server_error", "no_rule_matched")));
      return;
    }
    if (rule->delayMs > 0) {
      auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(rule->delayMs));
      timer->async_wait([self = shared_from_this(), timer, ex, rule, view = std::move(view), n](auto) {
        self->answer(ex, *rule, view, n);
      });
      return;
    }
    answer(ex, *rule, view, n);
  }

  void answer(const net::HttpExchangePtr& ex, const MockRule& rule, const RequestView& view, uint64_t n) {
    if (rule.status < 200 || rule.status > 299) {
      net::Headers headers;
      if (rule.retryAfter) headers.emplace_back("Retry-After", *rule.retryAfter);
      if (rule.retryAfterMs) headers.emplace_back("retry-after-ms", std::to_string(*rule.retryAfterMs));
      std::string message =
          rule.errorMessage.empty() ? std::string(defaultErrorMessage(rule.status)) : rule.errorMessage;
      std::string type = rule.errorType.empty() ? std::string(defaultErrorType(rule.status)) : rule.errorType;
      std::string code = rule.errorCode;
      if (code.empty() && rule.status == 401) code = "invalid_api_key";
      if (code.empty() && rule.status == 429) code = "rate_limit_exceeded";
      ex->respond(jsonResponse(rule.status, errorBody(message, type, code), std::move(headers)));
      return;
    }
    if (rule.hang) {
      auto stream = ex->startStream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
      std::lock_guard lock(mu);
      if (stopped) {
        stream->end();
      } else {
        std::erase_if(hanging, [](const net::ResponseStreamPtr& h) { return h->closed(); });  // clients gone
        hanging.push_back(std::move(stream));
      }
      return;
    }
    if (rule.raw) {
      stream(ex, rule.rawContentType, splitUtf8(*rule.raw, rule.chunks), rule.chunkDelayMs);
      return;
    }

    const std::string id = fmt::format("chatcmpl-mock-{}", n);
    const int64_t created = static_cast<int64_t>(std::time(nullptr));
    std::vector<MockToolCall> calls = rule.toolCalls;
    std::size_t completionBytes = rule.text.size();
    for (std::size_t i = 0; i < calls.size(); ++i) {
      if (calls[i].id.empty()) calls[i].id = fmt::format("call_mock_{}_{}", n, i);
      completionBytes += calls[i].name.size() + calls[i].arguments.size();
    }
    const int64_t promptTokens = rule.promptTokens.value_or(std::max<int64_t>(1, view.promptBytes / 4));
    const int64_t completionTokens = rule.completionTokens.value_or(std::max<int64_t>(1, completionBytes / 4));
    const std::string finish = rule.finishReason.value_or(calls.empty() ? "stop" : "tool_calls");

    if (!view.stream || rule.nonStream) {
      json::object message{{"role", "assistant"}};
      if (rule.text.empty() && !calls.empty()) {
        message["content"] = nullptr;
      } else {
        message["content"] = rule.text;
      }
      message["refusal"] = nullptr;
      if (!calls.empty()) {
        json::array tc;
        for (const auto& c : calls) {
          tc.push_back(json::object{{"id", c.id},
                                    {"type", "function"},
                                    {"function", json::object{{"name", c.name}, {"arguments", c.arguments}}}});
        }
        message["tool_calls"] = std::move(tc);
      }
      message["annotations"] = json::array{};
      json::object completion{
          {"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", view.model},
          {"choices",
           json::array{json::object{
               {"index", 0}, {"message", std::move(message)}, {"logprobs", nullptr}, {"finish_reason", finish}}}},
          {"usage", json::object{{"prompt_tokens", promptTokens},
                                 {"completion_tokens", completionTokens},
                                 {"total_tokens", promptTokens + completionTokens}}},
          {"system_fingerprint", "fp_mock"}};
      ex->respond(jsonResponse(200, toJson(completion)));
      return;
    }

    ChunkWriter w(id, created, view.model, view.includeUsage);
    json::object first{{"role", "assistant"}};
    if (rule.text.empty() && !calls.empty()) {
      first["content"] = nullptr;
    } else {
      first["content"] = "";
    }
    first["refusal"] = nullptr;
    w.delta(std::move(first));
    if (rule.malformed) {
      w.raw("data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,garbage\n\n");
      w.raw("data: [DONE]\n\n");
    } else {
      for (auto& piece : splitUtf8(rule.text, rule.chunks)) w.delta(json::object{{"content", piece}});
      for (std::size_t i = 0; i < calls.size(); ++i) {
        const auto& c = calls[i];
        json::object fn{{"name", c.name}, {"arguments", ""}};
        w.delta(json::object{{"tool_calls", json::array{json::object{
                                                {"index", i}, {"id", c.id}, {"type", "function"}, {"function", fn}}}}});
        for (auto& piece : splitUtf8(c.arguments, rule.argumentChunks)) {
          w.delta(json::object{{"tool_calls", json::array{json::object{
                                                  {"index", i}, {"function", json::object{{"arguments", piece}}}}}}});
        }
      }
      if (rule.streamError) {
        w.raw("data: " + errorBody(*rule.streamError, "server_error", "") + "\n\n");
      } else {
        w.delta(json::object{}, json::value(finish));
        if (view.includeUsage) w.usage(promptTokens, completionTokens);
        if (!rule.noDone) w.raw("data: [DONE]\n\n");
      }
    }
    stream(ex, "text/event-stream", std::move(w.events), rule.chunkDelayMs);
  }

  /// Sends `pieces` as the body. Without a delay: one response with Content-Length (the fastest path
  /// for benchmarks; the bytes are the same event stream). With one: a chunked response, one chunk
  /// per piece, `delayMs` apart.
  void stream(const net::HttpExchangePtr& ex, const std::string& contentType, std::vector<std::string> pieces,
              int64_t delayMs) {
    if (delayMs <= 0) {
      net::HttpResponse r;
      r.contentType = contentType;
      r.headers = {{"Cache-Control", "no-cache"}};
      for (auto& p : pieces) r.body += p;
      ex->respond(std::move(r));
      return;
    }
    auto s = ex->startStream(200, contentType, {{"Cache-Control", "no-cache"}});
    send(s, std::make_shared<std::vector<std::string>>(std::move(pieces)), delayMs);
  }

  /// Writes `pieces` in order, `delayMs` apart, and ends the stream.
  void send(const net::ResponseStreamPtr& stream, std::shared_ptr<std::vector<std::string>> pieces, int64_t delayMs,
            std::size_t from = 0) {
    if (from >= pieces->size() || stream->closed()) {
      stream->end();
      return;
    }
    stream->write((*pieces)[from]);
    if (from + 1 == pieces->size()) {
      stream->end();
      return;
    }
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(delayMs));
    timer->async_wait([self = shared_from_this(), timer, stream, pieces, delayMs, from](auto) {
      self->send(stream, pieces, delayMs, from + 1);
    });
  }

  void stop() {
    std::vector<net::ResponseStreamPtr> streams;
    {
      std::lock_guard lock(mu);
      stopped = true;
      streams.swap(hanging);
    }
    for (auto& s : streams) s->end();
  }
};

Result<MockScript> parseMockScript(const json::value& script) {
  MockScript out;
  if (script.is_null()) {
    MockRule r;
    r.text = "ok";
    out.rules.push_back(std::move(r));
    return out;
  }
  const json::array* rules = nullptr;
  if (script.is_array()) {
    rules = &script.get_array();
  } else if (script.is_object()) {
    const auto& o = script.get_object();
    MOCK_TRY(checkKeys(o, {"rules", "models", "apiKey", "comment"}, "script"));
    rules = getArray(o, "rules");
    if (!rules) return scriptError("script", "\"rules\" must be an array");
    MOCK_TRY(readString(o, "apiKey", out.apiKey, "script"));
    if (auto it = o.find("models"); it != o.end()) {
      if (!it->value().is_array()) return scriptError("script", "\"models\" must be an array of strings");
      out.models.clear();
      for (const auto& m : it->value().get_array()) {
        if (!m.is_string()) return scriptError("script", "\"models\" must be an array of strings");
        out.models.emplace_back(m.get_string());
      }
    }
  } else {
    return scriptError("script", "must be an array of rules or an object with \"rules\"");
  }
  for (std::size_t i = 0; i < rules->size(); ++i) {
    auto r = parseRule((*rules)[i], i);
    if (!r) return fail(std::move(r).error());
    out.rules.push_back(std::move(*r));
  }
  return out;
}

MockModelServer::MockModelServer(std::shared_ptr<State> state, net::ServerPtr server)
    : state_(std::move(state)), server_(std::move(server)) {}

MockModelServer::~MockModelServer() { stop(); }

Result<std::unique_ptr<MockModelServer>> MockModelServer::create(asio::io_context& io, MockModelOptions options) {
  auto state = std::make_shared<State>(io, std::move(options));
  if (state->options.logPath) {
    state->log = std::fopen(state->options.logPath->c_str(), "ae");
    if (!state->log) {
      return fail(ErrorCode::kIo,
                  fmt::format("cannot open {}: {}", state->options.logPath->string(), std::strerror(errno)));
    }
  }
  net::ServerOptions so;
  so.bindAddresses = {state->options.host};
  so.port = state->options.port;
  net::ServerHandlers handlers;
  handlers.onHttp = [state](net::HttpExchangePtr ex) { state->onHttp(ex); };
  auto server = net::Server::create(io, std::move(so), std::move(handlers));
  if (!server) return fail(std::move(server).error());
  return std::unique_ptr<MockModelServer>(new MockModelServer(std::move(state), std::move(*server)));
}

uint16_t MockModelServer::port() const { return server_->port(); }

std::string MockModelServer::baseUrl() const {
  const std::string& host = state_->options.host;
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}/v1", v6 ? "[" : "", host, v6 ? "]" : "", port());
}

uint64_t MockModelServer::requestCount() const { return state_->seq.load(); }

std::vector<MockRequest> MockModelServer::requests() const {
  std::lock_guard lock(state_->mu);
  return state_->recorded;
}

void MockModelServer::stop() {
  state_->stop();
  server_->stop();
}

}  // namespace talon::mock
