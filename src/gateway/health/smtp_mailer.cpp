#include "gateway/health/smtp_mailer.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>

#include "net/curl_library.h"

namespace talon::gateway::health {

namespace {

/// A header value on one line: CR, LF and other control characters become spaces.
std::string headerValue(std::string_view v) {
  std::string out(v);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < ' ' && c != '\t') c = ' ';
  }
  return out;
}

bool isAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// A non-ASCII subject as RFC 2047 "B" encoded-words (RFC 5322 headers are ASCII): pieces of at most
/// 45 bytes, cut between UTF-8 characters, so each word stays under RFC 2047's 75 characters; the words
/// are folded onto continuation lines.
std::string subjectValue(std::string_view subject) {
  std::string v = headerValue(subject);
  if (isAscii(v)) return v;
  std::string out;
  std::size_t pos = 0;
  while (pos < v.size()) {
    std::size_t n = std::min<std::size_t>(45, v.size() - pos);
    while (pos + n < v.size() && n > 0 && (static_cast<unsigned char>(v[pos + n]) & 0xC0) == 0x80) --n;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(std::string_view(v).substr(pos, n)) + "?=";
    pos += n;
  }
  return out;
}

std::string rfc5322Date(int64_t nowMs) {
  std::time_t t = static_cast<std::time_t>(nowMs / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} +0000", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/// Body lines with CRLF ends (any of CRLF, LF or CR in the input).
std::string crlfLines(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 32 + 2);
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\r') {
      if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
      out += "\r\n";
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

struct Upload {
  std::string data;
  std::size_t offset = 0;
};

size_t readUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* u = static_cast<Upload*>(user);
  std::size_t n = std::min(size * count, u->data.size() - u->offset);
  std::memcpy(buffer, u->data.data() + u->offset, n);
  u->offset += n;
  return n;
}

}  // namespace

std::string renderMail(const MailMessage& m, int64_t nowMs, const std::string& messageId) {
  std::string out;
  out += "Date: " + rfc5322Date(nowMs) + "\r\n";
  out += "From: <" + headerValue(m.from) + ">\r\n";
  out += "To: <" + headerValue(m.to) + ">\r\n";
  out += "Subject: " + subjectValue(m.subject) + "\r\n";
  out += "Message-ID: <" + headerValue(messageId) + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  for (const auto& [name, value] : m.headers) out += headerValue(name) + ": " + headerValue(value) + "\r\n";
  out += "\r\n";
  out += crlfLines(m.body);
  return out;
}

Status sendMail(const SmtpSettings& smtp, const MailMessage& message, int64_t nowMs) {
  if (smtp.host.empty()) return fail(ErrorCode::kInvalidArgument, "no SMTP host");
  if (message.from.empty() || message.to.empty()) {
    return fail(ErrorCode::kInvalidArgument, "a mail needs a sender and a recipient");
  }
  auto api = net::curlApi();
  if (!api) return fail(api.error());
  const net::CurlApi& c = **api;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(c.easyInit(), c.easyCleanup);
  if (!curl) return fail(ErrorCode::kInternal, "curl_easy_init failed");
  const bool implicitTls = smtp.security == "tls";
  const int port = smtp.port != 0 ? smtp.port : implicitTls ? 465 : smtp.security == "none" ? 25 : 587;
  const std::string host = smtp.host.find(':') != std::string::npos ? "[" + smtp.host + "]" : smtp.host;
  const std::string url = fmt::format("{}://{}:{}", implicitTls ? "smtps" : "smtp", host, port);
  const std::string from = "<" + message.from + ">";
  std::string domain = message.from.substr(message.from.find('@') + 1);
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> rcpt(c.slistAppend(nullptr, ("<" + message.to + ">").c_str()),
                                                          c.slistFreeAll);
  Upload upload{renderMail(message, nowMs, fmt::format("{}.talon-alert@{}", nowMs, domain)), 0};
  char errorBuffer[CURL_ERROR_SIZE] = {0};
  CURL* h = curl.get();
  c.easySetopt(h, CURLOPT_URL, url.c_str());
  c.easySetopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  c.easySetopt(h, CURLOPT_USE_SSL, smtp.security == "none" ? CURLUSESSL_NONE : CURLUSESSL_ALL);
  c.easySetopt(h, CURLOPT_MAIL_FROM, from.c_str());
  c.easySetopt(h, CURLOPT_MAIL_RCPT, rcpt.get());
  c.easySetopt(h, CURLOPT_UPLOAD, 1L);
  c.easySetopt(h, CURLOPT_READFUNCTION, readUpload);
  c.easySetopt(h, CURLOPT_READDATA, &upload);
  c.easySetopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload.data.size()));
  c.easySetopt(h, CURLOPT_NOSIGNAL, 1L);
  c.easySetopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(smtp.timeout.count()));
  c.easySetopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(smtp.timeout.count(), 10'000)));
  c.easySetopt(h, CURLOPT_ERRORBUFFER, errorBuffer);
  if (!smtp.username.empty()) {
    c.easySetopt(h, CURLOPT_USERNAME, smtp.username.c_str());
    c.easySetopt(h, CURLOPT_PASSWORD, smtp.password.c_str());
  }
  const CURLcode rc = c.easyPerform(h);
  if (rc == CURLE_OK) return {};
  long reply = 0;
  c.easyGetinfo(h, CURLINFO_RESPONSE_CODE, &reply);
  const std::string why = errorBuffer[0] != '\0' ? std::string(errorBuffer) : std::string(c.easyStrerror(rc));
  const std::string where = fmt::format("SMTP {}:{}", smtp.host, port);
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return fail(ErrorCode::kDeadlineExceeded, fmt::format("{}: timed out: {}", where, why));
    case CURLE_LOGIN_DENIED:
      return fail(ErrorCode::kUnauthenticated, fmt::format("{}: authentication refused: {}", where, why));
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_USE_SSL_FAILED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_GOT_NOTHING:
      return fail(ErrorCode::kUnavailable, fmt::format("{}: {}", where, why));
    default:
      if (reply >= 400)
        return fail(ErrorCode::kUpstream, fmt::format("{}: the server answered {}: {}", where, reply, why));
      return fail(ErrorCode::kUnavailable, fmt::format("{}: {}", where, why));
  }
}

}  // namespace talon::gateway::health
