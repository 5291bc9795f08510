#include "gateway/channels/email/email_channel.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "config/email_settings.h"
#include "gateway/channels/account_settings.h"
#include "gateway/channels/email/email_mime.h"
#include "gateway/channels/email/imap_idle.h"
#include "net/curl_library.h"

namespace talon::gateway::channels {

namespace {

constexpr std::size_t kEmailMaxTextChars = 100000;
constexpr std::size_t kMaxReferences = 20;  // ids kept in a reply's References (the root and the latest)

/// `s` percent-encoded for a URL path segment (RFC 3986 unreserved characters kept).
std::string pathSegment(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string hostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

/// A random Message-ID at the sender's domain (RFC 5322 §3.6.4: unique; 128 random bits).
std::string newMessageId(std::string_view from) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto domain = from.substr(from.find('@') + 1);
  return fmt::format("{:016x}{:016x}.talon@{}", rng(), rng(), domain);
}

size_t appendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

struct Upload {
  std::string data;
  std::size_t offset = 0;
};

size_t readUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* u = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, u->data.size() - u->offset);
  std::memcpy(buffer, u->data.data() + u->offset, n);
  u->offset += n;
  return n;
}

/// The UIDs of an untagged `* SEARCH 3 4 7` response (RFC 3501 §7.2.5), ascending.
std::vector<uint64_t> searchUids(std::string_view response) {
  std::vector<uint64_t> out;
  std::size_t pos = 0;
  while ((pos = response.find("* SEARCH", pos)) != std::string_view::npos) {
    pos += 8;
    const auto end = response.find('\n', pos);
    std::string_view line = response.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && !std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(line.data() + i, line.data() + line.size(), v);
      if (ec != std::errc()) break;
      out.push_back(v);
      i = static_cast<std::size_t>(p - line.data());
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// The number after `item` in an untagged `* STATUS "box" (UIDVALIDITY 123 …)` response; 0 when absent.
uint64_t statusNumber(std::string_view response, std::string_view item) {
  const auto at = response.find(item);
  if (at == std::string_view::npos) return 0;
  std::size_t i = at + item.size();
  while (i < response.size() && response[i] == ' ') ++i;
  uint64_t v = 0;
  std::from_chars(response.data() + i, response.data() + response.size(), v);
  return v;
}

/// The outcome of one curl exchange.
struct Exchange {
  CURLcode rc = CURLE_OK;
  long reply = 0;
  std::string why;
};

Error exchangeError(const Exchange& e, std::string_view where) { return mailCurlError(e.rc, e.reply, e.why, where); }

}  // namespace

Result<EmailSettings> EmailSettings::parse(std::string_view accountId, const json::object& settings) {
  static const std::set<std::string, std::less<>> kKnown = {
      "imapUrl",      "imapUsername", "imapPassword", "mailbox",        "pollSeconds", "smtpUrl", "smtpUsername",
      "smtpPassword", "from",         "caFile",       "allowPlaintext", "enabled",     "name",    "idle"};
  for (const auto& kv : settings) {
    if (!kKnown.contains(kv.key()))
      return fail(invalidAccountSetting("email", accountId, kv.key(), "is not an email channel setting"));
  }
  EmailSettings s;
  auto str = [&](std::string_view key, std::string& out, bool required) -> Status {
    const auto* v = settings.if_contains(key);
    if (v != nullptr && !v->is_null()) {
      if (!v->is_string()) return fail(invalidAccountSetting("email", accountId, key, "must be a string"));
      out = std::string(v->as_string());
    }
    if (required && out.empty()) return fail(invalidAccountSetting("email", accountId, key, "is required"));
    return {};
  };
  std::string imapUrl, smtpUrl;
  for (auto [key, out, required] :
       {std::tuple{"imapUrl", &imapUrl, true}, std::tuple{"imapUsername", &s.imapUsername, true},
        std::tuple{"imapPassword", &s.imapPassword, true}, std::tuple{"mailbox", &s.mailbox, false},
        std::tuple{"smtpUrl", &smtpUrl, true}, std::tuple{"smtpUsername", &s.smtpUsername, false},
        std::tuple{"smtpPassword", &s.smtpPassword, false}, std::tuple{"from", &s.from, true},
        std::tuple{"name", &s.fromName, false}, std::tuple{"caFile", &s.caFile, false}}) {
    if (auto st = str(key, *out, required); !st) return fail(st.error());
  }
  auto imap = config::parseMailServerUrl("imap", imapUrl);
  if (!imap) return fail(invalidAccountSetting("email", accountId, "imapUrl", imap.error().message));
  s.imap = std::move(*imap);
  auto smtp = config::parseMailServerUrl("smtp", smtpUrl);
  if (!smtp) return fail(invalidAccountSetting("email", accountId, "smtpUrl", smtp.error().message));
  s.smtp = std::move(*smtp);
  if (s.mailbox.empty() || std::any_of(s.mailbox.begin(), s.mailbox.end(), [](char c) {
        return static_cast<unsigned char>(c) < ' ' || c == '"' || c == '\\';
      })) {
    return fail(invalidAccountSetting("email", accountId, "mailbox",
                                      "must be a mailbox name (no quotes, backslashes or control characters)"));
  }
  if (!config::isMailAddress(s.from))
    return fail(invalidAccountSetting("email", accountId, "from", "must be a bare address (name@example.com)"));
  s.from = std::string(s.from);
  std::transform(s.from.begin(), s.from.end(), s.from.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!s.smtpPassword.empty() && s.smtpUsername.empty()) {
    return fail(invalidAccountSetting("email", accountId, "smtpPassword", "needs smtpUsername (AUTH needs both)"));
  }
  if (const auto* v = settings.if_contains("pollSeconds"); v != nullptr && !v->is_null()) {
    if (!v->is_int64() || v->as_int64() < 1 || v->as_int64() > 3600) {
      return fail(invalidAccountSetting("email", accountId, "pollSeconds", "must be an integer from 1 to 3600"));
    }
    s.pollSeconds = static_cast<int>(v->as_int64());
  }
  if (const auto* v = settings.if_contains("allowPlaintext"); v != nullptr && !v->is_null()) {
    if (!v->is_bool())
      return fail(invalidAccountSetting("email", accountId, "allowPlaintext", "must be true or false"));
    s.allowPlaintext = v->as_bool();
  }
  if (const auto* v = settings.if_contains("idle"); v != nullptr && !v->is_null()) {
    if (!v->is_bool()) return fail(invalidAccountSetting("email", accountId, "idle", "must be true or false"));
    s.idle = v->as_bool();
  }
  if (!s.caFile.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(s.caFile, ec)) {
      return fail(invalidAccountSetting("email", accountId, "caFile", "\"" + s.caFile + "\" is not a regular file"));
    }
  }
  return s;
}

/// Everything the worker shares with the channel's callers.
struct EmailChannel::State : std::enable_shared_from_this<EmailChannel::State> {
  using Callback = std::function<void(Status)>;
  struct PendingSend {
    OutboundMessage message;
    Callback onSent;
  };
  /// What a reply in a thread needs from the thread's latest inbound mail.
  struct ThreadInfo {
    std::string lastMessageId;
    std::vector<std::string> references;  // the thread's ids, oldest first, including lastMessageId
    std::string subject;
  };

  State(const ChannelContext& context, EmailSettings s, EmailTiming t)
      : accountId(context.accountId),
        executors(context.executors),
        clock(context.clock),
        settings(std::move(s)),
        timing(t) {
    health.sinceMs = clock->nowMs();
  }

  const std::string accountId;
  const Executors executors;
  const ClockPtr clock;
  const EmailSettings settings;
  const EmailTiming timing;

  mutable std::mutex mu;
  std::condition_variable wake;
  bool started = false;
  bool stopped = false;
  bool pollNow = true;
  std::deque<PendingSend> sends;
  std::vector<Callback> probes;
  ChannelHealth health;
  bool lastPollFailed = false;
  std::string smtpProblem;  // the last SMTP failure, until a send succeeds
  std::thread worker;
  std::thread idler;                  // the IDLE connection's thread (settings.idle)
  std::atomic<bool> idleStop{false};  // tells the idle thread to leave

  // Worker-only state (no lock needed: only the worker thread touches it).
  uint64_t uidValidity = 0;                      // the mailbox's UIDVALIDITY at the last poll (RFC 3501 §2.3.1.1)
  uint64_t lastUid = 0;                          // the highest UID handed on under it (a guard; \Seen is the record)
  std::map<std::string, ThreadInfo> threads;     // "<peer>\n<thread id>" → the thread's latest mail
  std::map<std::string, std::string> sentRoots;  // a reply's Message-ID (as emailThreadId) → its thread id

  std::mutex sinkMu;
  ChannelSink* sink = nullptr;
  std::deque<routing::InboundMessage> inbox;  // guarded by mu
  bool draining = false;                      // guarded by mu

  std::chrono::milliseconds pollInterval() const {
    return timing.pollInterval.count() > 0 ? timing.pollInterval
                                           : std::chrono::milliseconds(settings.pollSeconds * 1000);
  }

  void setStateLocked(ChannelHealth::State s, std::string detail) {
    if (health.state != s) health.sinceMs = clock->nowMs();
    health.state = s;
    health.detail = std::move(detail);
  }

  /// The state the last IMAP poll and SMTP submission say (mu held).
  void settleStateLocked() {
    if (stopped) return setStateLocked(ChannelHealth::State::kStopped, "");
    if (lastPollFailed) return;  // the poll's own state and detail stand
    if (!smtpProblem.empty()) return setStateLocked(ChannelHealth::State::kDegraded, smtpProblem);
    setStateLocked(ChannelHealth::State::kConnected, "");
  }

  void post(Callback cb, Status result) {
    if (!cb) return;
    executors.io([cb = std::move(cb), result = std::move(result)]() mutable { cb(std::move(result)); });
  }

  /// A curl handle with the account's TLS, credentials and timeouts for `url`.
  using Handle = std::unique_ptr<CURL, void (*)(CURL*)>;
  Result<Handle> handle(const net::CurlApi& c, const std::string& url, const std::string& username,
                        const std::string& password, bool implicitTls) const {
    Handle h(c.easyInit(), c.easyCleanup);
    if (!h) return fail(ErrorCode::kInternal, "curl_easy_init failed");
    CURL* e = h.get();
    c.easySetopt(e, CURLOPT_URL, url.c_str());
    c.easySetopt(e, CURLOPT_PROTOCOLS_STR, "imap,imaps,smtp,smtps");
    c.easySetopt(e, CURLOPT_USE_SSL,
                 implicitTls               ? CURLUSESSL_ALL
                 : settings.allowPlaintext ? CURLUSESSL_TRY
                                           : CURLUSESSL_ALL);
    if (!settings.caFile.empty()) c.easySetopt(e, CURLOPT_CAINFO, settings.caFile.c_str());
    c.easySetopt(e, CURLOPT_NOSIGNAL, 1L);
    c.easySetopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timing.timeout.count()));
    c.easySetopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(timing.timeout.count(), 10000)));
    if (!username.empty()) {
      c.easySetopt(e, CURLOPT_USERNAME, username.c_str());
      c.easySetopt(e, CURLOPT_PASSWORD, password.c_str());
    }
    return h;
  }

  static Exchange perform(const net::CurlApi& c, CURL* e) {
    char errorBuffer[CURL_ERROR_SIZE] = {0};
    c.easySetopt(e, CURLOPT_ERRORBUFFER, errorBuffer);
    Exchange out;
    out.rc = c.easyPerform(e);
    c.easyGetinfo(e, CURLINFO_RESPONSE_CODE, &out.reply);
    if (out.rc != CURLE_OK) out.why = errorBuffer[0] != '\0' ? errorBuffer : c.easyStrerror(out.rc);
    c.easySetopt(e, CURLOPT_ERRORBUFFER, nullptr);
    return out;
  }

  std::string imapBase() const {
    return fmt::format("{}://{}:{}/", settings.imap.implicitTls ? "imaps" : "imap", hostForUrl(settings.imap.host),
                       settings.imap.port);
  }
  std::string imapWhere() const { return fmt::format("IMAP {}:{}", settings.imap.host, settings.imap.port); }

  // --- IMAP IDLE (imap_idle.h) ---------------------------------------------------------------------------

  /// Asks the worker for a poll now (new mail, or a fresh IDLE connection that may have missed some).
  void requestPoll() {
    std::lock_guard lock(mu);
    pollNow = true;
    wake.notify_all();
  }

  /// Waits `d`, or less when stopping.
  void idlePause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);  // stop() sets idleStop under mu and notifies `wake`
    wake.wait_for(lock, d, [&] { return idleStop.load(); });
  }

  /// The idle thread: IDLE sessions, each until its connection fails, with a growing pause (1 s up to the
  /// poll interval) between them; the timed poll covers the gaps. Leaves for good when the server has no
  /// IDLE. Never touches the worker's state except through requestPoll().
  void idleLoop() {
    auto pause = std::chrono::milliseconds(1000);
    std::string lastProblem;
    while (!idleStop.load()) {
      bool established = false;
      Status st = idleSession(established);
      if (idleStop.load()) return;
      if (!st && st.error().code == ErrorCode::kUnsupported) {
        spdlog::info("email[{}]: {}; new mail is seen by polling every {} ms", accountId, st.error().message,
                     pollInterval().count());
        return;
      }
      if (established) pause = std::chrono::milliseconds(1000);
      const std::string problem = st ? std::string("the IDLE connection ended") : st.error().message;
      if (problem != lastProblem) {
        spdlog::warn("email[{}]: IMAP IDLE: {}; polling every {} ms until it is back", accountId, problem,
                     pollInterval().count());
        lastProblem = problem;
      }
      if (!st && st.error().code == ErrorCode::kUnauthenticated) {
        // A refused login does not fix itself: wait long (the timed poll reports the account's health and
        // notices a fixed password), so as not to add to the server's failed-login penalty.
        idlePause(std::max(pollInterval(), std::chrono::milliseconds(60'000)));
        continue;
      }
      idlePause(pause);
      pause = std::min(pause * 2, std::max(pollInterval(), std::chrono::milliseconds(1000)));
    }
  }

  /// One IDLE connection: log in, CAPABILITY (kUnimplemented without IDLE), SELECT the mailbox, then IDLE
  /// renewed every timing.idleRefresh; each `* n EXISTS` / `RECENT` ends the IDLE and asks for a poll.
  /// `established` turns true once IDLE runs. Returns when the connection fails or on stop.
  Status idleSession(bool& established) {
    auto api = net::curlApi();
    if (!api) return fail(api.error());
    auto h = handle(**api, imapBase(), settings.imapUsername, settings.imapPassword, settings.imap.implicitTls);
    if (!h) return fail(h.error());
    auto conn = ImapIdleConnection::open(**api, std::move(*h), imapWhere(), idleStop);
    if (!conn) return fail(conn.error());
    ImapIdleConnection& c = **conn;
    bool hasIdle = false;
    if (auto st = c.run("CAPABILITY", timing.timeout, idleStop,
                        [&](std::string_view line) { hasIdle = hasIdle || imapLineHasCapability(line, "IDLE"); });
        !st) {
      return st;
    }
    if (!hasIdle) return fail(ErrorCode::kUnsupported, imapWhere() + " does not offer IMAP IDLE");
    if (auto st = c.run("SELECT " + imapQuoted(settings.mailbox), timing.timeout, idleStop); !st) return st;
    established = true;
    spdlog::info("email[{}]: waiting for new mail in IMAP IDLE on {}", accountId, imapWhere());
    requestPoll();  // mail that came while no IDLE was running
    while (!idleStop.load()) {
      auto tag = c.start("IDLE");
      if (!tag) return fail(tag.error());
      bool newMail = false;
      bool idling = false;
      const auto renewAt = std::chrono::steady_clock::now() + timing.idleRefresh;
      while (!idleStop.load() && !newMail) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= renewAt) break;
        const auto wait =
            idling ? std::chrono::duration_cast<std::chrono::milliseconds>(renewAt - now)
                   : std::min(timing.timeout, std::chrono::duration_cast<std::chrono::milliseconds>(renewAt - now));
        auto line = c.readLine(wait, idleStop);
        if (!line) return fail(line.error());
        if (!*line) {
          if (!idling && !idleStop.load()) {
            return fail(ErrorCode::kUnavailable, imapWhere() + ": no answer to IDLE within the timeout");
          }
          continue;
        }
        const std::string& text = **line;
        if (!text.empty() && text[0] == '+') {
          idling = true;
        } else if (imapLineSignalsNewMail(text)) {
          newMail = true;
        } else if (auto done = imapTaggedResult(text, *tag)) {
          // The server ended the IDLE on its own (NO/BAD: refused; OK: it gave up waiting).
          if (!*done) return fail(ErrorCode::kUpstream, imapWhere() + ": IDLE refused: " + text);
          break;
        } else if (text.rfind("* BYE", 0) == 0) {
          return fail(ErrorCode::kUnavailable, imapWhere() + ": the server ended the session: " + text);
        }
      }
      if (newMail) requestPoll();
      if (idleStop.load()) return {};
      if (auto st = c.sendLine("DONE"); !st) return st;
      // Read to the IDLE's completion (more EXISTS lines may come first).
      for (;;) {
        auto line = c.readLine(timing.timeout, idleStop);
        if (!line) return fail(line.error());
        if (!*line) {
          if (idleStop.load()) return {};
          return fail(ErrorCode::kUnavailable, imapWhere() + ": no answer to DONE within the timeout");
        }
        if (imapLineSignalsNewMail(**line)) requestPoll();
        if (auto done = imapTaggedResult(**line, *tag)) {
          if (!*done) return fail(ErrorCode::kUpstream, imapWhere() + ": IDLE ended with " + **line);
          break;
        }
      }
    }
    return {};
  }

  // --- the worker ---------------------------------------------------------------------------------------

  void run() {
    auto next = std::chrono::steady_clock::now();
    std::unique_lock lock(mu);
    while (!stopped) {
      wake.wait_until(lock, next, [&] {
        return stopped || pollNow || !sends.empty() || !probes.empty() || std::chrono::steady_clock::now() >= next;
      });
      if (stopped) break;
      if (!sends.empty()) {
        PendingSend s = std::move(sends.front());
        sends.pop_front();
        lock.unlock();
        Status result = submit(s.message);
        lock.lock();
        if (result) {
          ++health.sent;
          health.lastOutboundAtMs = clock->nowMs();
          smtpProblem.clear();
        } else {
          ++health.sendFailures;
          if (result.error().code != ErrorCode::kInvalidArgument) smtpProblem = result.error().message;
          spdlog::warn("email[{}]: a reply to {} was not sent: {}", accountId, s.message.peer.id,
                       result.error().message);
        }
        settleStateLocked();
        post(std::move(s.onSent), std::move(result));
        continue;
      }
      if (!probes.empty()) {
        auto waiting = std::move(probes);
        probes.clear();
        lock.unlock();
        Status result = checkMailbox();
        lock.lock();
        for (auto& cb : waiting) post(std::move(cb), result);
        continue;
      }
      if (pollNow || std::chrono::steady_clock::now() >= next) {
        pollNow = false;
        if (lastPollFailed) ++health.reconnects;
        lock.unlock();
        poll();
        lock.lock();
        next = std::chrono::steady_clock::now() + pollInterval();
      }
    }
    for (auto& s : sends) {
      ++health.sendFailures;
      post(std::move(s.onSent), fail(ErrorCode::kCancelled, "the email channel stopped"));
    }
    sends.clear();
    for (auto& cb : probes) post(std::move(cb), fail(ErrorCode::kCancelled, "the email channel stopped"));
    probes.clear();
  }

  /// Records a poll's outcome: ok (`error` null) or the failure.
  void pollDone(const Error* error) {
    std::lock_guard lock(mu);
    if (stopped) return;
    if (error == nullptr) {
      if (lastPollFailed) spdlog::info("email[{}]: {} reachable again", accountId, imapWhere());
      lastPollFailed = false;
      health.authenticated = true;
      health.circuitOpen = false;
      settleStateLocked();
      return;
    }
    if (!lastPollFailed || health.detail != error->message) {
      spdlog::warn("email[{}]: {}; trying again in {} ms", accountId, error->message, pollInterval().count());
    }
    lastPollFailed = true;
    if (error->code == ErrorCode::kUnauthenticated) {
      health.authenticated = false;
      setStateLocked(ChannelHealth::State::kDegraded, error->message);
    } else if (error->code == ErrorCode::kUnavailable) {
      health.authenticated = false;
      setStateLocked(ChannelHealth::State::kDisconnected, error->message);
    } else {
      // Logged in, but the server refused the command (an unknown mailbox, …).
      setStateLocked(ChannelHealth::State::kDegraded, error->message);
    }
  }

  /// `STATUS "<mailbox>" (UIDNEXT)`: login and mailbox check (probe).
  Status checkMailbox() {
    auto api = net::curlApi();
    if (!api) return fail(api.error());
    auto h = handle(**api, imapBase(), settings.imapUsername, settings.imapPassword, settings.imap.implicitTls);
    if (!h) return fail(h.error());
    std::string body;
    const std::string command = "STATUS \"" + settings.mailbox + "\" (UIDNEXT)";
    (*api)->easySetopt(h->get(), CURLOPT_CUSTOMREQUEST, command.c_str());
    (*api)->easySetopt(h->get(), CURLOPT_WRITEFUNCTION, appendBody);
    (*api)->easySetopt(h->get(), CURLOPT_WRITEDATA, &body);
    auto e = perform(**api, h->get());
    if (e.rc != CURLE_OK) {
      auto error = exchangeError(e, imapWhere());
      pollDone(&error);
      return fail(std::move(error));
    }
    pollDone(nullptr);
    return {};
  }

  /// One poll: the unseen UIDs, then each new message in UID order.
  void poll() {
    auto api = net::curlApi();
    if (!api) {
      pollDone(&api.error());
      return;
    }
    const net::CurlApi& c = **api;
    const std::string mailboxUrl = imapBase() + pathSegment(settings.mailbox);
    auto h = handle(c, mailboxUrl, settings.imapUsername, settings.imapPassword, settings.imap.implicitTls);
    if (!h) {
      pollDone(&h.error());
      return;
    }
    // STATUS first (no mailbox selected): a new UIDVALIDITY means the UIDs seen so far mean nothing.
    std::string status;
    const std::string statusCommand = "STATUS \"" + settings.mailbox + "\" (UIDVALIDITY)";
    c.easySetopt(h->get(), CURLOPT_URL, imapBase().c_str());
    c.easySetopt(h->get(), CURLOPT_CUSTOMREQUEST, statusCommand.c_str());
    c.easySetopt(h->get(), CURLOPT_WRITEFUNCTION, appendBody);
    c.easySetopt(h->get(), CURLOPT_WRITEDATA, &status);
    auto e = perform(c, h->get());
    if (e.rc != CURLE_OK) {
      const Error error = exchangeError(e, imapWhere());
      pollDone(&error);
      return;
    }
    if (const uint64_t validity = statusNumber(status, "UIDVALIDITY"); validity != uidValidity) {
      uidValidity = validity;
      lastUid = 0;
    }
    std::string body;
    c.easySetopt(h->get(), CURLOPT_URL, mailboxUrl.c_str());
    c.easySetopt(h->get(), CURLOPT_CUSTOMREQUEST, "UID SEARCH UNSEEN");
    c.easySetopt(h->get(), CURLOPT_WRITEDATA, &body);
    e = perform(c, h->get());
    if (e.rc != CURLE_OK) {
      const Error error = exchangeError(e, imapWhere());
      pollDone(&error);
      return;
    }
    pollDone(nullptr);
    for (uint64_t uid : searchUids(body)) {
      {
        std::lock_guard lock(mu);
        if (stopped) return;
      }
      if (uid <= lastUid) continue;
      // The same handle: libcurl reuses the logged-in connection (the mailbox is selected again by UID URL).
      std::string raw;
      const std::string url = mailboxUrl + "/;UID=" + std::to_string(uid);
      c.easySetopt(h->get(), CURLOPT_URL, url.c_str());
      c.easySetopt(h->get(), CURLOPT_CUSTOMREQUEST, nullptr);
      c.easySetopt(h->get(), CURLOPT_WRITEDATA, &raw);
      auto f = perform(c, h->get());
      if (f.rc != CURLE_OK) {
        const Error error = exchangeError(f, fmt::format("{} (fetching UID {})", imapWhere(), uid));
        pollDone(&error);
        return;
      }
      lastUid = uid;
      handleMail(uid, raw);
    }
  }

  void handleMail(uint64_t uid, const std::string& raw) {
    auto mail = parseEmail(raw);
    if (!mail) {
      spdlog::warn("email[{}]: dropped message UID {}: {}", accountId, uid, mail.error().message);
      return;
    }
    {
      std::lock_guard lock(mu);
      health.lastInboundAtMs = clock->nowMs();
    }
    if (mail->fromAddress == settings.from) {
      spdlog::info("email[{}]: dropped message UID {}: it is from the account's own address", accountId, uid);
      return;
    }
    if (mail->autoSubmitted) {
      spdlog::info("email[{}]: dropped message UID {} from {}: sent automatically (Auto-Submitted / Precedence)",
                   accountId, uid, mail->fromAddress);
      return;
    }
    if (!config::isMailAddress(mail->fromAddress)) {
      spdlog::warn("email[{}]: dropped message UID {}: \"{}\" is not a usable address", accountId, uid,
                   mail->fromAddress);
      return;
    }
    // The thread: a reply to one of our replies belongs to the thread that reply answered.
    std::string root = emailThreadId(emailThreadRoot(*mail));
    if (auto it = sentRoots.find(root); it != sentRoots.end()) root = it->second;
    std::string text = emailAgentText(*mail);
    if (text.empty()) text = mail->subject;
    if (text.empty()) {
      spdlog::info("email[{}]: dropped message UID {} from {}: no text, subject or attachment", accountId, uid,
                   mail->fromAddress);
      return;
    }
    ThreadInfo info;
    info.lastMessageId = mail->messageId;
    info.references = mail->references;
    if (info.references.empty() && !mail->inReplyTo.empty()) info.references.push_back(mail->inReplyTo);
    if (!mail->messageId.empty()) info.references.push_back(mail->messageId);
    info.subject = mail->subject;
    threads[mail->fromAddress + "\n" + root] = std::move(info);

    routing::InboundMessage m;
    m.channel = "email";
    m.accountId = accountId;
    m.peer = routing::Peer{routing::PeerKind::kDirect, mail->fromAddress};
    m.sender = mail->fromAddress;
    m.text = std::move(text);
    if (!root.empty()) m.threadId = root;
    spdlog::info("email[{}]: mail UID {} from {} ({} attachment(s), thread {})", accountId, uid, mail->fromAddress,
                 mail->attachments.size(), root.empty() ? "-" : root);
    std::lock_guard lock(mu);
    ++health.received;
    inbox.push_back(std::move(m));
    if (!draining) {
      draining = true;
      std::weak_ptr<State> weak = weak_from_this();
      executors.io([weak] {
        if (auto state = weak.lock()) state->drainInbox();
      });
    }
  }

  void drainInbox() {
    while (true) {
      routing::InboundMessage m;
      {
        std::lock_guard lock(mu);
        if (inbox.empty()) {
          draining = false;
          return;
        }
        m = std::move(inbox.front());
        inbox.pop_front();
      }
      std::lock_guard sinkLock(sinkMu);
      if (sink) sink->onInbound("email", std::move(m));
    }
  }

  /// Renders and submits one reply (worker thread).
  Status submit(const OutboundMessage& message) {
    if (!config::isMailAddress(message.peer.id)) {
      return fail(ErrorCode::kInvalidArgument, "peer \"" + message.peer.id + "\" is not a mail address");
    }
    OutgoingEmail mail;
    mail.from = settings.from;
    mail.fromName = settings.fromName;
    mail.to = message.peer.id;
    mail.text = message.text;
    mail.messageId = newMessageId(settings.from);
    mail.dateMs = clock->nowMs();
    const std::string root = message.threadId.value_or("");
    if (auto it = threads.find(message.peer.id + "\n" + root); it != threads.end()) {
      mail.inReplyTo = it->second.lastMessageId;
      auto refs = it->second.references;
      if (refs.size() > kMaxReferences) refs.erase(refs.begin() + 1, refs.end() - (kMaxReferences - 1));
      mail.references = std::move(refs);
      mail.subject = replySubject(it->second.subject);
    } else {
      if (!root.empty()) {
        mail.inReplyTo = root;
        mail.references = {root};
      }
      mail.subject = settings.fromName.empty() ? "Message from Talon" : "Message from " + settings.fromName;
    }
    auto api = net::curlApi();
    if (!api) return fail(api.error());
    const net::CurlApi& c = **api;
    const std::string url = fmt::format("{}://{}:{}", settings.smtp.implicitTls ? "smtps" : "smtp",
                                        hostForUrl(settings.smtp.host), settings.smtp.port);
    auto h = handle(c, url, settings.smtpUsername, settings.smtpPassword, settings.smtp.implicitTls);
    if (!h) return fail(h.error());
    const std::string from = "<" + settings.from + ">";
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> rcpt(c.slistAppend(nullptr, ("<" + mail.to + ">").c_str()),
                                                            c.slistFreeAll);
    auto rendered = buildEmail(mail);
    if (!rendered) return fail(rendered.error());
    Upload upload{std::move(*rendered), 0};
    CURL* e = h->get();
    c.easySetopt(e, CURLOPT_MAIL_FROM, from.c_str());
    c.easySetopt(e, CURLOPT_MAIL_RCPT, rcpt.get());
    c.easySetopt(e, CURLOPT_UPLOAD, 1L);
    c.easySetopt(e, CURLOPT_READFUNCTION, readUpload);
    c.easySetopt(e, CURLOPT_READDATA, &upload);
    c.easySetopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload.data.size()));
    auto result = perform(c, e);
    if (result.rc != CURLE_OK) {
      return fail(exchangeError(result, fmt::format("SMTP {}:{}", settings.smtp.host, settings.smtp.port)));
    }
    if (!root.empty()) sentRoots[emailThreadId(mail.messageId)] = root;
    spdlog::info("email[{}]: reply {} sent to {}", accountId, mail.messageId, mail.to);
    return {};
  }
};

EmailChannel::EmailChannel(std::shared_ptr<State> state) : state_(std::move(state)) {}

EmailChannel::~EmailChannel() { stop(); }

Result<std::unique_ptr<EmailChannel>> EmailChannel::create(const ChannelContext& context, EmailSettings settings,
                                                           EmailTiming timing) {
  if (!context.executors.io || !context.clock) {
    return fail(ErrorCode::kFailedPrecondition, "the email channel needs the gateway's executors and clock");
  }
  auto state = std::make_shared<State>(context, std::move(settings), timing);
  return std::unique_ptr<EmailChannel>(new EmailChannel(std::move(state)));
}

Result<ChannelPtr> EmailChannel::fromContext(const ChannelContext& context) {
  auto settings = EmailSettings::parse(context.accountId, context.settings);
  if (!settings) return fail(settings.error());
  auto channel = create(context, std::move(*settings));
  if (!channel) return fail(channel.error());
  return ChannelPtr(std::move(*channel));
}

Status EmailChannel::start(ChannelSink& sink) {
  // GMime is opened with dlopen on first use (gmime_library.h): without it the channel cannot read a mail,
  // so its start fails with the library's name, package and reason (kUnavailable: retried by the channel
  // manager, so installing the package is enough).
  if (Status mime = emailMimeAvailable(); !mime) return mime;
  {
    std::lock_guard sinkLock(state_->sinkMu);
    state_->sink = &sink;
  }
  std::lock_guard lock(state_->mu);
  if (state_->started) return fail(ErrorCode::kFailedPrecondition, "the email channel was already started");
  state_->started = true;
  state_->setStateLocked(ChannelHealth::State::kStarting, "starting");
  state_->worker = std::thread([state = state_] { state->run(); });
  if (state_->settings.idle) state_->idler = std::thread([state = state_] { state->idleLoop(); });
  return {};
}

void EmailChannel::stop() {
  std::thread worker;
  std::thread idler;
  {
    std::lock_guard lock(state_->mu);
    if (!state_->stopped) {
      state_->stopped = true;
      state_->health.authenticated = false;
      state_->setStateLocked(ChannelHealth::State::kStopped, "");
      state_->wake.notify_all();
    }
    state_->idleStop = true;
    worker = std::move(state_->worker);
    idler = std::move(state_->idler);
  }
  if (idler.joinable()) idler.join();
  if (worker.joinable()) worker.join();
  std::lock_guard sinkLock(state_->sinkMu);
  state_->sink = nullptr;
}

void EmailChannel::send(OutboundMessage message, std::function<void(Status)> onSent) {
  auto& s = *state_;
  std::lock_guard lock(s.mu);
  if (s.stopped || !s.started) {
    ++s.health.sendFailures;
    return s.post(std::move(onSent),
                  fail(s.stopped ? ErrorCode::kCancelled : ErrorCode::kUnavailable,
                       s.stopped ? "the email channel is stopped" : "the email channel is not started"));
  }
  s.sends.push_back(State::PendingSend{std::move(message), std::move(onSent)});
  s.wake.notify_all();
}

Status EmailChannel::restart() {
  std::lock_guard lock(state_->mu);
  auto& s = *state_;
  if (!s.started || s.stopped) return fail(ErrorCode::kFailedPrecondition, "the email channel is not running");
  ++s.health.reconnects;
  s.pollNow = true;
  s.wake.notify_all();
  return {};
}

void EmailChannel::probe(std::function<void(Status)> done) {
  auto& s = *state_;
  std::lock_guard lock(s.mu);
  if (s.stopped || !s.started) {
    return s.post(std::move(done), fail(ErrorCode::kUnavailable, "the email channel is not running"));
  }
  s.probes.push_back(std::move(done));
  s.wake.notify_all();
}

ChannelHealth EmailChannel::health() const {
  std::lock_guard lock(state_->mu);
  return state_->health;
}

ChannelCapabilities EmailChannel::capabilities() const {
  ChannelCapabilities c;
  c.maxTextChars = kEmailMaxTextChars;
  c.typing = false;
  return c;
}

}  // namespace talon::gateway::channels
