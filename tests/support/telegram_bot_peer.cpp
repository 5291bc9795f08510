#include "support/telegram_bot_peer.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "net/server.h"

namespace talon::testing {

namespace {

net::HttpResponse answer(int status, const json::object& body) {
  net::HttpResponse r;
  r.status = status;
  r.contentType = "application/json";
  r.body = json::serialize(body);
  return r;
}

json::object okBody(json::value result) {
  json::object o;
  o["ok"] = true;
  o["result"] = std::move(result);
  return o;
}

json::object errorBody(int code, std::string_view description, std::optional<int64_t> retryAfter = std::nullopt) {
  json::object o;
  o["ok"] = false;
  o["error_code"] = code;
  o["description"] = description;
  if (retryAfter) o["parameters"] = json::object{{"retry_after", *retryAfter}};
  return o;
}

/// Parameters from the query string (no percent-decoding: the tests' clients send JSON bodies).
json::object queryParams(std::string_view query) {
  json::object out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos) out[pair.substr(0, eq)] = pair.substr(eq + 1);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return out;
}

/// Unicode code points of UTF-8 text (Telegram counts the text limit in characters).
std::size_t codePoints(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

struct TelegramBotPeer::Impl {
  struct Injected {
    int code;
    std::string description;
    std::optional<int64_t> retryAfter;
  };
  struct HeldPoll {
    net::HttpExchangePtr exchange;
    int64_t offset = 0;
    std::shared_ptr<boost::asio::steady_timer> timer;
    std::size_t callIndex = 0;
  };

  explicit Impl(TelegramBotPeerOptions o) : options(std::move(o)) {}

  /// The server's I/O thread.
  struct Io {
    boost::asio::io_context context;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
        boost::asio::make_work_guard(context)};
    std::thread thread;
    boost::asio::io_context& io() { return context; }
    void start() {
      thread = std::thread([this] { context.run(); });
    }
    void stop() {
      work.reset();
      context.stop();
      if (thread.joinable()) thread.join();
    }
  };

  TelegramBotPeerOptions options;
  Io io;
  mutable std::mutex mu;
  mutable std::condition_variable answered;  // notified after every answer
  net::ServerPtr server;
  uint16_t port = 0;
  std::deque<json::object> updates;  // queued, not yet confirmed
  int64_t nextUpdateId = 1000;
  int64_t nextMessageId = 1;
  std::optional<HeldPoll> held;
  std::map<std::string, std::deque<Injected>> injected;
  std::vector<Call> calls;
  std::vector<json::object> sent;
  std::string webhook;

  Status listen() {
    net::ServerOptions o;
    o.bindAddresses = {"127.0.0.1"};
    o.port = port;
    net::ServerHandlers h;
    h.onHttp = [this](net::HttpExchangePtr ex) { onHttp(std::move(ex)); };
    auto s = net::Server::create(io.io(), o, std::move(h));
    if (!s) return fail(s.error());
    std::lock_guard lock(mu);
    server = std::move(*s);
    port = server->port();
    return {};
  }

  json::object botUser() const {
    return json::object{
        {"id", options.botId}, {"is_bot", true}, {"first_name", "Talon Test"}, {"username", options.botUsername}};
  }

  /// Records the call and answers it (with `mu` held; the exchange is answered after unlocking).
  void finish(std::unique_lock<std::mutex>& lock, const net::HttpExchangePtr& ex, std::size_t callIndex, int status,
              const json::object& body) {
    calls[callIndex].status = status;
    calls[callIndex].answered = true;
    lock.unlock();
    ex->respond(answer(status, body));
    answered.notify_all();
    lock.lock();
  }

  /// Confirmed updates (id < offset) are forgotten; the rest, up to 100, are the answer.
  json::array pending(int64_t offset) {
    while (!updates.empty() && offset > 0 && updates.front().at("update_id").as_int64() < offset) updates.pop_front();
    json::array out;
    for (const auto& u : updates) {
      if (out.size() == 100) break;
      out.push_back(u);
    }
    return out;
  }

  void onHttp(net::HttpExchangePtr ex) {
    const net::HttpRequest& req = ex->request();
    std::unique_lock lock(mu);
    // /bot<token>/<method>
    std::string_view path = req.path;
    std::string method;
    std::string token;
    if (path.starts_with("/bot")) {
      auto slash = path.find('/', 4);
      if (slash != std::string_view::npos) {
        token = std::string(path.substr(4, slash - 4));
        method = std::string(path.substr(slash + 1));
      }
    }
    json::object params = queryParams(req.query);
    if (!req.body.empty()) {
      boost::system::error_code ec;
      json::value body = json::parse(req.body, ec);
      if (!ec && body.is_object()) {
        for (const auto& kv : body.as_object()) params[kv.key()] = kv.value();
      }
    }
    calls.push_back(Call{method, params, 200});
    const std::size_t index = calls.size() - 1;
    if (method.empty()) return finish(lock, ex, index, 404, errorBody(404, "Not Found"));
    if (token != options.token) return finish(lock, ex, index, 401, errorBody(401, "Unauthorized"));
    if (auto it = injected.find(method); it != injected.end() && !it->second.empty()) {
      Injected e = it->second.front();
      it->second.pop_front();
      return finish(lock, ex, index, e.code, errorBody(e.code, e.description, e.retryAfter));
    }
    if (method == "getMe") return finish(lock, ex, index, 200, okBody(botUser()));
    if (method == "getUpdates") return getUpdates(lock, ex, index, params);
    if (method == "sendMessage" || method == "editMessageText") return sendMessage(lock, ex, index, method, params);
    if (method == "sendChatAction") {
      if (!params.contains("chat_id") || !params.contains("action")) {
        return finish(lock, ex, index, 400, errorBody(400, "Bad Request: chat_id and action are required"));
      }
      return finish(lock, ex, index, 200, okBody(true));
    }
    if (method == "setWebhook") {
      auto url = params.if_contains("url");
      webhook = url && url->is_string() ? std::string(url->as_string()) : "";
      json::object body = okBody(true);
      body["description"] = webhook.empty() ? "Webhook was deleted" : "Webhook was set";
      return finish(lock, ex, index, 200, body);
    }
    if (method == "deleteWebhook") {
      json::object body = okBody(true);
      body["description"] = webhook.empty() ? "Webhook is already deleted" : "Webhook was deleted";
      webhook.clear();
      return finish(lock, ex, index, 200, body);
    }
    return finish(lock, ex, index, 404, errorBody(404, "Not Found"));
  }

  void getUpdates(std::unique_lock<std::mutex>& lock, const net::HttpExchangePtr& ex, std::size_t index,
                  const json::object& params) {
    if (!webhook.empty()) {
      return finish(lock, ex, index, 409,
                    errorBody(409,
                              "Conflict: can't use getUpdates method while webhook is active; use "
                              "deleteWebhook to delete the webhook first"));
    }
    if (held) {  // a newer poll ends the older one
      HeldPoll old = std::move(*held);
      held.reset();
      old.timer->cancel();
      finish(lock, old.exchange, old.callIndex, 409,
             errorBody(409,
                       "Conflict: terminated by other getUpdates request; make sure that only one bot "
                       "instance is running"));
    }
    const int64_t offset =
        params.contains("offset") && params.at("offset").is_int64() ? params.at("offset").as_int64() : 0;
    const int64_t timeout =
        params.contains("timeout") && params.at("timeout").is_int64() ? params.at("timeout").as_int64() : 0;
    json::array ready = pending(offset);
    if (!ready.empty() || timeout <= 0) return finish(lock, ex, index, 200, okBody(std::move(ready)));
    HeldPoll poll{ex, offset, std::make_shared<boost::asio::steady_timer>(io.io()), index};
    poll.timer->expires_after(std::chrono::seconds(timeout));
    poll.timer->async_wait([this, timer = poll.timer](const boost::system::error_code& ec) {
      if (ec) return;
      std::unique_lock lock(mu);
      if (!held || held->timer != timer) return;
      HeldPoll p = std::move(*held);
      held.reset();
      finish(lock, p.exchange, p.callIndex, 200, okBody(json::array{}));
    });
    held = std::move(poll);
  }

  void sendMessage(std::unique_lock<std::mutex>& lock, const net::HttpExchangePtr& ex, std::size_t index,
                   const std::string& method, const json::object& params) {
    const json::value* chatId = params.if_contains("chat_id");
    const json::value* text = params.if_contains("text");
    if (!chatId) return finish(lock, ex, index, 400, errorBody(400, "Bad Request: chat_id is empty"));
    if (!text || !text->is_string() || text->as_string().empty()) {
      return finish(lock, ex, index, 400, errorBody(400, "Bad Request: message text is empty"));
    }
    if (codePoints(text->as_string()) > 4096) {
      return finish(lock, ex, index, 400, errorBody(400, "Bad Request: message is too long"));
    }
    int64_t id = 0;
    if (chatId->is_int64()) {
      id = chatId->as_int64();
    } else if (chatId->is_string()) {
      try {
        id = std::stoll(std::string(chatId->as_string()));
      } catch (...) {
        return finish(lock, ex, index, 400, errorBody(400, "Bad Request: chat not found"));
      }
    }
    json::object message;
    if (method == "editMessageText") {
      const json::value* mid = params.if_contains("message_id");
      if (!mid || !mid->is_int64()) {
        return finish(lock, ex, index, 400, errorBody(400, "Bad Request: message identifier is not specified"));
      }
      message["message_id"] = mid->as_int64();
      message["edit_date"] = static_cast<int64_t>(std::time(nullptr));
    } else {
      message["message_id"] = nextMessageId++;
    }
    message["from"] = botUser();
    message["chat"] = json::object{{"id", id}, {"type", id < 0 ? "supergroup" : "private"}};
    message["date"] = static_cast<int64_t>(std::time(nullptr));
    message["text"] = text->as_string();
    if (auto t = params.if_contains("message_thread_id")) message["message_thread_id"] = *t;
    if (method == "sendMessage") sent.push_back(params);
    return finish(lock, ex, index, 200, okBody(std::move(message)));
  }

  int64_t push(json::object message) {
    std::unique_lock lock(mu);
    if (!message.contains("message_id")) message["message_id"] = nextMessageId++;
    if (!message.contains("date")) message["date"] = static_cast<int64_t>(std::time(nullptr));
    const int64_t id = nextUpdateId++;
    updates.push_back(json::object{{"update_id", id}, {"message", std::move(message)}});
    if (held) {
      HeldPoll p = std::move(*held);
      held.reset();
      p.timer->cancel();
      json::array ready = pending(p.offset);
      finish(lock, p.exchange, p.callIndex, 200, okBody(std::move(ready)));
    }
    return id;
  }
};

Result<std::unique_ptr<TelegramBotPeer>> TelegramBotPeer::create(TelegramBotPeerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto s = impl->listen(); !s) return fail(s.error());
  impl->io.start();
  return std::unique_ptr<TelegramBotPeer>(new TelegramBotPeer(std::move(impl)));
}

TelegramBotPeer::TelegramBotPeer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TelegramBotPeer::~TelegramBotPeer() {
  stop();
  impl_->io.stop();
}

std::string TelegramBotPeer::apiRoot() const {
  std::lock_guard lock(impl_->mu);
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

const TelegramBotPeerOptions& TelegramBotPeer::options() const { return impl_->options; }

int64_t TelegramBotPeer::pushMessage(json::object message) { return impl_->push(std::move(message)); }

int64_t TelegramBotPeer::pushPrivateText(int64_t fromId, std::string text) {
  json::object m;
  m["from"] = json::object{{"id", fromId}, {"is_bot", false}, {"first_name", "User"}};
  m["chat"] = json::object{{"id", fromId}, {"type", "private"}, {"first_name", "User"}};
  m["text"] = std::move(text);
  return pushMessage(std::move(m));
}

int64_t TelegramBotPeer::pushGroupText(int64_t chatId, int64_t fromId, std::string text, json::array entities,
                                       std::optional<int64_t> messageThreadId, bool forum) {
  json::object m;
  m["from"] = json::object{{"id", fromId}, {"is_bot", false}, {"first_name", "Member"}};
  json::object chat{{"id", chatId}, {"type", "supergroup"}, {"title", "Test group"}};
  if (forum) chat["is_forum"] = true;
  m["chat"] = std::move(chat);
  m["text"] = std::move(text);
  if (!entities.empty()) m["entities"] = std::move(entities);
  if (messageThreadId) {
    m["message_thread_id"] = *messageThreadId;
    m["is_topic_message"] = true;
  }
  return pushMessage(std::move(m));
}

void TelegramBotPeer::failNext(const std::string& method, int errorCode, std::string description, int count,
                               std::optional<int64_t> retryAfter) {
  std::lock_guard lock(impl_->mu);
  for (int i = 0; i < count; ++i) impl_->injected[method].push_back(Impl::Injected{errorCode, description, retryAfter});
}

void TelegramBotPeer::stop() {
  net::ServerPtr server;
  std::optional<Impl::HeldPoll> held;
  {
    std::lock_guard lock(impl_->mu);
    server = std::move(impl_->server);
    held = std::move(impl_->held);
    impl_->held.reset();
  }
  if (server) server->stop();
  if (held) {
    // Released on the I/O thread after the shutdown was queued (net::Server may still answer it 500).
    held->timer->cancel();
    boost::asio::post(impl_->io.io(), [h = std::move(*held)] {});
  }
}

Status TelegramBotPeer::restart() {
  stop();
  return impl_->listen();
}

std::vector<TelegramBotPeer::Call> TelegramBotPeer::calls() const {
  std::lock_guard lock(impl_->mu);
  return impl_->calls;
}

std::vector<TelegramBotPeer::Call> TelegramBotPeer::calls(const std::string& method) const {
  std::lock_guard lock(impl_->mu);
  std::vector<Call> out;
  for (const auto& c : impl_->calls) {
    if (c.method == method) out.push_back(c);
  }
  return out;
}

bool TelegramBotPeer::waitForCalls(const std::string& method, std::size_t n,
                                   std::chrono::milliseconds realTimeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->answered.wait_for(lock, realTimeout, [&] {
    std::size_t count = 0;
    for (const auto& c : impl_->calls) count += c.method == method && c.answered;
    return count >= n;
  });
}

std::vector<json::object> TelegramBotPeer::sentMessages() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sent;
}

std::string TelegramBotPeer::webhookUrl() const {
  std::lock_guard lock(impl_->mu);
  return impl_->webhook;
}

}  // namespace talon::testing
