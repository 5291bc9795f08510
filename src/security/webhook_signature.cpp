#include "security/webhook_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace talon::security {

namespace {

constexpr std::string_view kPrefix = "sha256=";

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string signWebhook(std::string_view secret, int64_t timestampSeconds, std::string_view body) {
  std::string message = std::to_string(timestampSeconds);
  message.push_back('.');
  message.append(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &len);
  return std::string(kPrefix) + hex(digest, len);
}

std::string_view signatureCheckName(SignatureCheck check) {
  switch (check) {
    case SignatureCheck::kValid:
      return "valid";
    case SignatureCheck::kMissing:
      return "missing";
    case SignatureCheck::kMalformed:
      return "malformed";
    case SignatureCheck::kStale:
      return "stale";
    case SignatureCheck::kMismatch:
      return "mismatch";
    case SignatureCheck::kReplayed:
      return "replayed";
  }
  return "unknown";
}

WebhookVerifier::WebhookVerifier(Secret secret, int64_t toleranceSeconds, ClockPtr clock)
    : secret_(std::move(secret)), toleranceSeconds_(toleranceSeconds), clock_(std::move(clock)) {}

SignatureCheck WebhookVerifier::verify(std::string_view timestampHeader, std::string_view signatureHeader,
                                       std::string_view body) {
  timestampHeader = trimmed(timestampHeader);
  signatureHeader = trimmed(signatureHeader);
  if (timestampHeader.empty() || signatureHeader.empty()) return SignatureCheck::kMissing;
  int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestampHeader.data(), timestampHeader.data() + timestampHeader.size(), ts);
  if (ec != std::errc() || end != timestampHeader.data() + timestampHeader.size() || ts < 0) {
    return SignatureCheck::kMalformed;
  }
  if (signatureHeader.size() != kPrefix.size() + 64 || signatureHeader.substr(0, kPrefix.size()) != kPrefix) {
    return SignatureCheck::kMalformed;
  }
  int64_t nowMs = clock_->nowMs();
  int64_t nowSeconds = nowMs / 1000;
  // Bounded before subtracting: a huge timestamp cannot overflow.
  if (ts > nowSeconds + toleranceSeconds_ || ts < nowSeconds - toleranceSeconds_) return SignatureCheck::kStale;
  std::string expected = signWebhook(secret_.reveal(), ts, body);
  // Lower-case hex is what signWebhook writes; an upper-case digest from a sender is accepted too.
  std::string offered(signatureHeader);
  for (char& c : offered) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  if (CRYPTO_memcmp(expected.data(), offered.data(), expected.size()) != 0) return SignatureCheck::kMismatch;

  std::lock_guard lock(mu_);
  forgetExpired(nowMs);
  if (seen_.count(expected) != 0) return SignatureCheck::kReplayed;
  if (seen_.size() >= kMaxRemembered && !byExpiry_.empty()) {
    seen_.erase(byExpiry_.begin()->second);
    byExpiry_.erase(byExpiry_.begin());
  }
  int64_t expiresMs = (ts + toleranceSeconds_) * 1000 + 1000;
  seen_.emplace(expected, expiresMs);
  byExpiry_.emplace(expiresMs, std::move(expected));
  return SignatureCheck::kValid;
}

void WebhookVerifier::forgetExpired(int64_t nowMs) {
  while (!byExpiry_.empty() && byExpiry_.begin()->first <= nowMs) {
    seen_.erase(byExpiry_.begin()->second);
    byExpiry_.erase(byExpiry_.begin());
  }
}

}  // namespace talon::security
