#pragma once
// IMAP IDLE (RFC 2177) for the email channel: a connection of its own that libcurl opens, secures and
// logs in (CURLOPT_CONNECT_ONLY: the greeting, CAPABILITY, STARTTLS or implicit TLS, LOGIN/AUTHENTICATE),
// after which Talon speaks the few IMAP lines libcurl has no request for — CAPABILITY, SELECT, IDLE, DONE —
// through curl_easy_send / curl_easy_recv (https://curl.se/libcurl/c/curl_easy_recv.html). The server
// then pushes `* <n> EXISTS` when mail arrives; the channel's worker fetches it with its usual UID SEARCH,
// so a new mail is seen within moments instead of within one poll interval.
//
// Thread rules: an ImapIdleConnection belongs to one thread (the channel's idle thread). The free
// functions are pure and thread-safe.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "net/curl_library.h"

namespace talon::gateway::channels {

/// True when the CAPABILITY list in `line` (`* CAPABILITY …`, or a greeting's `* OK [CAPABILITY …]`) has
/// `capability` (case-insensitive, whole word).
bool imapLineHasCapability(std::string_view line, std::string_view capability);

/// True when `line` is an untagged `* <n> EXISTS` or `* <n> RECENT` (RFC 3501 §7.3.1–2): the mailbox grew.
bool imapLineSignalsNewMail(std::string_view line);

/// The outcome of command `tag` when `line` is its tagged completion: true for OK, false for NO or BAD;
/// nullopt for any other line.
std::optional<bool> imapTaggedResult(std::string_view line, std::string_view tag);

/// `text` as an IMAP quoted string (RFC 3501 §4.3: `"` and `\` escaped).
std::string imapQuoted(std::string_view text);

/// The error of a failed libcurl mail exchange (`rc`, the server's `reply` code, curl's `why`) at `where`
/// ("IMAP host:port"): kUnauthenticated for a refused login, kUnavailable when the server cannot be reached
/// or the connection or TLS fails, kUpstream otherwise (with the reply code when there is one).
Error mailCurlError(CURLcode rc, long reply, std::string_view why, std::string_view where);

/// One raw IMAP connection (see the file comment).
class ImapIdleConnection {
 public:
  using Handle = std::unique_ptr<CURL, void (*)(CURL*)>;

  /// Connects with `handle` (URL imap(s)://host:port/, TLS, credentials and timeouts already set):
  /// libcurl logs in, within the handle's timeout, and hands the socket over. Setting `stop` cuts a slow
  /// login short (kCancelled). Errors: kUnauthenticated when the login is refused, kUnavailable when the
  /// server cannot be reached or TLS fails, kUpstream otherwise; each names `where`.
  static Result<std::unique_ptr<ImapIdleConnection>> open(const net::CurlApi& api, Handle handle, std::string where,
                                                          const std::atomic<bool>& stop);

  /// Sends `command` with a fresh tag ("T1 CAPABILITY") and reads until its tagged completion, calling
  /// `onUntagged` for each other line. Errors: kUpstream when the server answers NO or BAD (with its text),
  /// kUnavailable when the connection fails or `wait` passes without the completion, kCancelled when
  /// `stop` is set.
  Status run(std::string_view command, std::chrono::milliseconds wait, const std::atomic<bool>& stop,
             const std::function<void(std::string_view)>& onUntagged = {});

  /// Sends `line` and CRLF as is ("DONE"). Errors: kUnavailable.
  Status sendLine(std::string_view line);
  /// Sends a tagged command without waiting; returns its tag. Errors: kUnavailable.
  Result<std::string> start(std::string_view command);

  /// The next line from the server (without CRLF), waiting at most `wait` and watching `stop` every
  /// 100 ms. nullopt when `wait` passed or `stop` was set. Errors: kUnavailable when the connection
  /// closed or failed.
  Result<std::optional<std::string>> readLine(std::chrono::milliseconds wait, const std::atomic<bool>& stop);

 private:
  ImapIdleConnection(const net::CurlApi& api, Handle handle, std::string where);
  Status sendAll(std::string_view data);

  const net::CurlApi& api_;
  Handle handle_;
  std::string where_;
  std::string buffer_;  // received bytes not yet returned as lines
  int nextTag_ = 1;
};

}  // namespace talon::gateway::channels
