#include "gateway/channels/email/imap_idle.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace talon::gateway::channels {
namespace {

constexpr auto kImapReadStep = std::chrono::milliseconds(100);
/// A server line longer than this is not IMAP we can use: the connection is dropped.
constexpr std::size_t kImapMaxLineBytes = 64 * 1024;

bool imapIequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

bool imapLineHasCapability(std::string_view line, std::string_view capability) {
  std::size_t at = 0;
  bool listed = false;  // past the word CAPABILITY
  while (at < line.size()) {
    while (at < line.size() && (line[at] == ' ' || line[at] == '[' || line[at] == ']')) ++at;
    std::size_t end = at;
    while (end < line.size() && line[end] != ' ' && line[end] != ']') ++end;
    const std::string_view word = line.substr(at, end - at);
    if (listed && imapIequals(word, capability)) return true;
    if (imapIequals(word, "CAPABILITY")) listed = true;
    if (end < line.size() && line[end] == ']') listed = false;
    at = end;
  }
  return false;
}

bool imapLineSignalsNewMail(std::string_view line) {
  if (line.size() < 4 || line.substr(0, 2) != "* ") return false;
  std::size_t i = 2;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(line.data() + i, line.data() + line.size(), n);
  if (ec != std::errc{} || end == line.data() + i) return false;
  std::string_view rest = line.substr(static_cast<std::size_t>(end - line.data()));
  if (rest.empty() || rest[0] != ' ') return false;
  rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r')) rest.remove_suffix(1);
  return imapIequals(rest, "EXISTS") || imapIequals(rest, "RECENT");
}

std::optional<bool> imapTaggedResult(std::string_view line, std::string_view tag) {
  if (line.size() <= tag.size() + 1 || line.substr(0, tag.size()) != tag || line[tag.size()] != ' ') return {};
  std::string_view rest = line.substr(tag.size() + 1);
  const std::string_view word = rest.substr(0, rest.find(' '));
  if (imapIequals(word, "OK")) return true;
  if (imapIequals(word, "NO") || imapIequals(word, "BAD")) return false;
  return {};
}

std::string imapQuoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

Error mailCurlError(CURLcode rc, long reply, std::string_view why, std::string_view where) {
  const std::string what = fmt::format("{}: {}", where, why);
  switch (rc) {
    case CURLE_LOGIN_DENIED:
      return Error{ErrorCode::kUnauthenticated, fmt::format("{}: login refused: {}", where, why)};
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_USE_SSL_FAILED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
      return Error{ErrorCode::kUnavailable, what};
    default:
      if (reply >= 400) {
        return Error{ErrorCode::kUpstream, fmt::format("{}: the server answered {}: {}", where, reply, why)};
      }
      return Error{ErrorCode::kUpstream, what};
  }
}

ImapIdleConnection::ImapIdleConnection(const net::CurlApi& api, Handle handle, std::string where)
    : api_(api), handle_(std::move(handle)), where_(std::move(where)) {}

Result<std::unique_ptr<ImapIdleConnection>> ImapIdleConnection::open(const net::CurlApi& api, Handle handle,
                                                                     std::string where, const std::atomic<bool>& stop) {
  char errorBuffer[CURL_ERROR_SIZE] = {0};
  api.easySetopt(handle.get(), CURLOPT_ERRORBUFFER, errorBuffer);
  api.easySetopt(handle.get(), CURLOPT_CONNECT_ONLY, 1L);
  // libcurl asks this during the connect and login (about once a second, and on every socket event); a
  // non-zero answer aborts them (CURLE_ABORTED_BY_CALLBACK).
  using Progress = int (*)(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
  Progress progress = [](void* flag, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<const std::atomic<bool>*>(flag)->load() ? 1 : 0;
  };
  api.easySetopt(handle.get(), CURLOPT_NOPROGRESS, 0L);
  api.easySetopt(handle.get(), CURLOPT_XFERINFOFUNCTION, progress);
  api.easySetopt(handle.get(), CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(&stop));
  const CURLcode rc = api.easyPerform(handle.get());
  api.easySetopt(handle.get(), CURLOPT_NOPROGRESS, 1L);
  long reply = 0;
  api.easyGetinfo(handle.get(), CURLINFO_RESPONSE_CODE, &reply);
  const std::string why = errorBuffer[0] != '\0' ? errorBuffer : api.easyStrerror(rc);
  api.easySetopt(handle.get(), CURLOPT_ERRORBUFFER, nullptr);
  if (rc == CURLE_ABORTED_BY_CALLBACK) return fail(ErrorCode::kCancelled, where + ": stopped while logging in");
  if (rc != CURLE_OK) return fail(mailCurlError(rc, reply, why, where));
  return std::unique_ptr<ImapIdleConnection>(new ImapIdleConnection(api, std::move(handle), std::move(where)));
}

Status ImapIdleConnection::sendAll(std::string_view data) {
  while (!data.empty()) {
    std::size_t sent = 0;
    const CURLcode rc = api_.easySend(handle_.get(), data.data(), data.size(), &sent);
    if (rc == CURLE_AGAIN) {
      curl_socket_t fd = CURL_SOCKET_BAD;
      api_.easyGetinfo(handle_.get(), CURLINFO_ACTIVESOCKET, &fd);
      pollfd p{static_cast<int>(fd), POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(kImapReadStep.count()));
      continue;
    }
    if (rc != CURLE_OK) {
      return fail(ErrorCode::kUnavailable, fmt::format("{}: sending failed: {}", where_, api_.easyStrerror(rc)));
    }
    data.remove_prefix(sent);
  }
  return {};
}

Status ImapIdleConnection::sendLine(std::string_view line) { return sendAll(std::string(line) + "\r\n"); }

Result<std::string> ImapIdleConnection::start(std::string_view command) {
  std::string tag = "T" + std::to_string(nextTag_++);
  if (auto s = sendLine(tag + " " + std::string(command)); !s) return fail(s.error());
  return tag;
}

Result<std::optional<std::string>> ImapIdleConnection::readLine(std::chrono::milliseconds wait,
                                                                const std::atomic<bool>& stop) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (auto eol = buffer_.find("\r\n"); eol != std::string::npos) {
      std::string line = buffer_.substr(0, eol);
      buffer_.erase(0, eol + 2);
      return std::optional<std::string>(std::move(line));
    }
    if (buffer_.size() > kImapMaxLineBytes) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("{}: a server line longer than {} bytes", where_, kImapMaxLineBytes));
    }
    if (stop.load()) return std::optional<std::string>{};
    // Ask libcurl first: TLS may hold decrypted bytes that the socket no longer shows as readable.
    char chunk[4096];
    std::size_t got = 0;
    const CURLcode rc = api_.easyRecv(handle_.get(), chunk, sizeof chunk, &got);
    if (rc == CURLE_OK) {
      if (got == 0) return fail(ErrorCode::kUnavailable, fmt::format("{}: the server closed the connection", where_));
      buffer_.append(chunk, got);
      continue;
    }
    if (rc != CURLE_AGAIN) {
      return fail(ErrorCode::kUnavailable, fmt::format("{}: receiving failed: {}", where_, api_.easyStrerror(rc)));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::optional<std::string>{};
    curl_socket_t fd = CURL_SOCKET_BAD;
    api_.easyGetinfo(handle_.get(), CURLINFO_ACTIVESOCKET, &fd);
    if (fd == CURL_SOCKET_BAD) return fail(ErrorCode::kUnavailable, fmt::format("{}: the connection is gone", where_));
    const auto step = std::min<std::chrono::milliseconds>(
        kImapReadStep,
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) + std::chrono::milliseconds(1));
    pollfd p{static_cast<int>(fd), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(step.count()));
  }
}

Status ImapIdleConnection::run(std::string_view command, std::chrono::milliseconds wait, const std::atomic<bool>& stop,
                               const std::function<void(std::string_view)>& onUntagged) {
  auto tag = start(command);
  if (!tag) return fail(tag.error());
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return fail(ErrorCode::kUnavailable, fmt::format("{}: no answer to {} within {} ms", where_,
                                                       command.substr(0, command.find(' ')), wait.count()));
    }
    auto line = readLine(left, stop);
    if (!line) return fail(line.error());
    if (!*line) {
      if (stop.load()) return fail(ErrorCode::kCancelled, "stopped");
      continue;
    }
    if (auto done = imapTaggedResult(**line, *tag)) {
      if (*done) return {};
      return fail(ErrorCode::kUpstream,
                  fmt::format("{}: {} refused: {}", where_, command.substr(0, command.find(' ')), **line));
    }
    if (onUntagged) onUntagged(**line);
  }
}

}  // namespace talon::gateway::channels
