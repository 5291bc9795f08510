#pragma once
// A person on the XMPP server, for the XMPP channel's tests: a libstrophe client logged in as
// `<user>@localhost/peer` over plaintext loopback (tests/support/prosody_server.h), sending messages,
// joining rooms and collecting the messages with a body that arrive. libstrophe runs on the test thread:
// each wait drives xmpp_run_once() and `pump` (the gateway's manual executors) until its condition holds
// or a safety net runs out.
//
// Thread rules: one test thread drives it (libstrophe is not thread-safe).
#include <strophe.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>

namespace talon::testing {

class XmppTestClient {
 public:
  struct Message {
    std::string from;
    std::string type;
    std::string body;
    bool delayed = false;  // carries a urn:xmpp:delay stamp (offline storage, room history)
  };

  /// A client for `user@localhost` with `password`, connecting to 127.0.0.1:`port`; not yet connected.
  XmppTestClient(std::string user, std::string password, uint16_t port)
      : jid_(std::move(user) + "@localhost"), password_(std::move(password)), port_(port) {
    xmpp_initialize();
    ctx_ = xmpp_ctx_new(nullptr, nullptr);
  }
  ~XmppTestClient() {
    close();
    xmpp_ctx_free(ctx_);
  }
  XmppTestClient(const XmppTestClient&) = delete;
  XmppTestClient& operator=(const XmppTestClient&) = delete;

  /// Logs in (a fresh stream) and sends initial presence; true once the session is established.
  bool connect(const std::function<void()>& pump = {}) {
    close();
    conn_ = xmpp_conn_new(ctx_);
    xmpp_conn_set_flags(conn_, XMPP_CONN_FLAG_DISABLE_SM);
    const std::string full = jid_ + "/peer";
    xmpp_conn_set_jid(conn_, full.c_str());
    xmpp_conn_set_pass(conn_, password_.c_str());
    xmpp_handler_add(conn_, onMessage, nullptr, "message", nullptr, this);
    xmpp_handler_add(conn_, onPresence, nullptr, "presence", nullptr, this);
    state_ = kConnecting;
    if (xmpp_connect_client(conn_, "127.0.0.1", port_, onConnection, this) != XMPP_EOK) return false;
    if (!wait([&] { return state_ != kConnecting; }, pump) || state_ != kConnected) return false;
    xmpp_stanza_t* presence = xmpp_presence_new(ctx_);
    xmpp_send(conn_, presence);
    xmpp_stanza_release(presence);
    return true;
  }

  /// True while the stream is up (run the loop to notice a drop).
  bool connected() const { return state_ == kConnected; }

  /// Sends a message with `body` to `to` (`type` "chat" or "groupchat").
  void send(const std::string& to, const std::string& body, const std::string& type = "chat") {
    xmpp_stanza_t* m = xmpp_message_new(ctx_, type.c_str(), to.c_str(), nullptr);
    xmpp_message_set_body(m, body.c_str());
    xmpp_send(conn_, m);
    xmpp_stanza_release(m);
    run(20);
  }

  /// Joins `room` as `nick` (no history); true once the room confirms (status 110).
  bool join(const std::string& room, const std::string& nick, const std::function<void()>& pump = {}) {
    xmpp_stanza_t* presence = xmpp_presence_new(ctx_);
    const std::string to = room + "/" + nick;
    xmpp_stanza_set_to(presence, to.c_str());
    xmpp_stanza_t* x = xmpp_stanza_new(ctx_);
    xmpp_stanza_set_name(x, "x");
    xmpp_stanza_set_ns(x, "http://jabber.org/protocol/muc");
    xmpp_stanza_add_child_ex(presence, x, 0);
    xmpp_send(conn_, presence);
    xmpp_stanza_release(presence);
    return wait([&] { return joined_.contains(to); }, pump);
  }

  /// Sends an IQ get holding an empty <`name` xmlns=`ns`/> to `to` and waits for the answer: its type
  /// ("result", "error") and, for an error, its condition ("error/service-unavailable"); "" when none came.
  std::string query(const std::string& to, const std::string& name, const std::string& ns,
                    const std::function<void()>& pump = {}) {
    const std::string id = "q" + std::to_string(++queries_);
    xmpp_stanza_t* iq = xmpp_iq_new(ctx_, "get", id.c_str());
    xmpp_stanza_set_to(iq, to.c_str());
    xmpp_stanza_t* child = xmpp_stanza_new(ctx_);
    xmpp_stanza_set_name(child, name.c_str());
    xmpp_stanza_set_ns(child, ns.c_str());
    xmpp_stanza_add_child_ex(iq, child, 0);
    answer_.clear();
    xmpp_id_handler_add(conn_, onAnswer, id.c_str(), this);
    xmpp_send(conn_, iq);
    xmpp_stanza_release(iq);
    wait([&] { return !answer_.empty(); }, pump);
    return answer_;
  }

  /// Whether `occupant` (room/nick) is present in a room we joined.
  bool sees(const std::string& occupant) const { return occupants_.contains(occupant); }

  /// Waits for the next message with a body.
  std::optional<Message> next(const std::function<void()>& pump = {},
                              std::chrono::milliseconds safetyNet = std::chrono::seconds(15)) {
    if (!wait([&] { return !inbox_.empty(); }, pump, safetyNet)) return std::nullopt;
    Message m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }

  /// Runs the loop for `ms` and says whether no message arrived.
  bool inboxEmpty(int ms = 100) {
    run(ms);
    return inbox_.empty();
  }

  /// Runs the loop until `done` holds (true) or the safety net runs out (false).
  bool wait(const std::function<bool()>& done, const std::function<void()>& pump = {},
            std::chrono::milliseconds safetyNet = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + safetyNet;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pump) pump();
      if (done()) return true;
      xmpp_run_once(ctx_, 5);
    }
    return done();
  }

  void close() {
    if (conn_ == nullptr) return;
    if (state_ == kConnected) {
      xmpp_disconnect(conn_);
      wait([&] { return state_ != kConnected; }, {}, std::chrono::seconds(2));
    }
    xmpp_conn_release(conn_);
    conn_ = nullptr;
    state_ = kClosed;
    joined_.clear();
    occupants_.clear();
  }

 private:
  enum State { kClosed, kConnecting, kConnected };

  void run(int ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline) xmpp_run_once(ctx_, 5);
  }

  static void onConnection(xmpp_conn_t*, xmpp_conn_event_t event, int, xmpp_stream_error_t*, void* self) {
    static_cast<XmppTestClient*>(self)->state_ = event == XMPP_CONN_CONNECT ? kConnected : kClosed;
  }
  static int onAnswer(xmpp_conn_t*, xmpp_stanza_t* stanza, void* self) {
    auto& c = *static_cast<XmppTestClient*>(self);
    const char* type = xmpp_stanza_get_type(stanza);
    c.answer_ = type ? type : "?";
    xmpp_stanza_t* error = xmpp_stanza_get_child_by_name(stanza, "error");
    xmpp_stanza_t* condition = error ? xmpp_stanza_get_children(error) : nullptr;
    if (condition != nullptr && xmpp_stanza_get_name(condition) != nullptr) {
      c.answer_ += std::string("/") + xmpp_stanza_get_name(condition);
    }
    return 0;
  }
  static int onMessage(xmpp_conn_t*, xmpp_stanza_t* stanza, void* self) {
    auto& c = *static_cast<XmppTestClient*>(self);
    char* body = xmpp_message_get_body(stanza);
    if (body == nullptr) return 1;
    Message m;
    m.body = body;
    xmpp_free(c.ctx_, body);
    const char* from = xmpp_stanza_get_from(stanza);
    const char* type = xmpp_stanza_get_type(stanza);
    m.from = from ? from : "";
    m.type = type ? type : "";
    m.delayed = xmpp_stanza_get_child_by_name_and_ns(stanza, "delay", "urn:xmpp:delay") != nullptr;
    c.inbox_.push_back(std::move(m));
    return 1;
  }
  static int onPresence(xmpp_conn_t*, xmpp_stanza_t* stanza, void* self) {
    auto& c = *static_cast<XmppTestClient*>(self);
    const char* from = xmpp_stanza_get_from(stanza);
    const char* type = xmpp_stanza_get_type(stanza);
    if (from == nullptr) return 1;
    const bool gone = type != nullptr && std::string(type) == "unavailable";
    if (gone) {
      c.occupants_.erase(from);
    } else if (type == nullptr) {
      c.occupants_.insert(from);
    }
    xmpp_stanza_t* x = xmpp_stanza_get_child_by_name_and_ns(stanza, "x", "http://jabber.org/protocol/muc#user");
    for (xmpp_stanza_t* s = x ? xmpp_stanza_get_children(x) : nullptr; s != nullptr; s = xmpp_stanza_get_next(s)) {
      const char* name = xmpp_stanza_get_name(s);
      const char* code = xmpp_stanza_get_attribute(s, "code");
      if (name && code && std::string(name) == "status" && std::string(code) == "110" && !gone) c.joined_.insert(from);
    }
    return 1;
  }

  std::string jid_;
  std::string password_;
  uint16_t port_;
  xmpp_ctx_t* ctx_ = nullptr;
  xmpp_conn_t* conn_ = nullptr;
  State state_ = kClosed;
  std::deque<Message> inbox_;
  std::set<std::string> joined_;
  std::set<std::string> occupants_;
  int queries_ = 0;
  std::string answer_;
};

}  // namespace talon::testing
