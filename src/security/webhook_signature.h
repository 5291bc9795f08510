#pragma once
// Talon's webhook signature scheme (docs/webhooks.md, "Signatures"), used both ways: inbound hooks may
// authenticate with it (`hooks.signing`) and outbound webhook deliveries carry it.
//
//   X-Talon-Timestamp: <unix time, whole seconds>
//   X-Talon-Signature: sha256=<lower-case hex of HMAC-SHA256(secret, "<timestamp>.<raw body>")>
//
// The timestamp is inside the signed bytes, so a captured request cannot be re-dated; a receiver
// refuses timestamps outside its tolerance (the replay window) and, within it, a signature it has
// already accepted. The same construction as Stripe's and Slack's signed requests, with Talon's header
// names. OpenClaw has no equivalent (its hooks take a shared token only).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "security/secret.h"

namespace talon::security {

inline constexpr std::string_view kWebhookTimestampHeader = "X-Talon-Timestamp";
inline constexpr std::string_view kWebhookSignatureHeader = "X-Talon-Signature";

/// The X-Talon-Signature value for `body` sent at `timestampSeconds` (unix seconds):
/// "sha256=" + hex(HMAC-SHA256(secret, "<timestampSeconds>.<body>")).
std::string signWebhook(std::string_view secret, int64_t timestampSeconds, std::string_view body);

/// What WebhookVerifier::verify found.
enum class SignatureCheck {
  kValid,      // signed with the secret, fresh, not seen before
  kMissing,    // no timestamp or no signature header
  kMalformed,  // a timestamp that is not an integer, or a signature not of the form sha256=<64 hex>
  kStale,      // the timestamp is further from now than the tolerance
  kMismatch,   // not signed with the secret (or the body was changed)
  kReplayed,   // a valid signature already accepted within the window
};

/// Stable name of a check result for logs, audit details and metrics ("valid", "missing", "malformed",
/// "stale", "mismatch", "replayed").
std::string_view signatureCheckName(SignatureCheck check);

/// Checks signed requests against one secret and remembers accepted signatures for the length of the
/// window, so each signed request is accepted once. Thread-safe (one mutex); time from the clock.
class WebhookVerifier {
 public:
  /// At most this many accepted signatures are remembered; past it the oldest are forgotten (they can
  /// then be replayed until their timestamp leaves the window: a bounded-memory trade-off).
  static constexpr std::size_t kMaxRemembered = 100'000;

  /// `toleranceSeconds` > 0: the largest |now - timestamp| accepted.
  WebhookVerifier(Secret secret, int64_t toleranceSeconds, ClockPtr clock);

  /// Checks one request: the two header values as received (empty when absent) and the raw body. The
  /// signature is compared in constant time (CRYPTO_memcmp of equal-length digests).
  SignatureCheck verify(std::string_view timestampHeader, std::string_view signatureHeader, std::string_view body);

 private:
  void forgetExpired(int64_t nowMs);

  const Secret secret_;
  const int64_t toleranceSeconds_;
  ClockPtr clock_;
  std::mutex mu_;
  /// Accepted signature → when it may be forgotten (ms; its timestamp + tolerance).
  std::map<std::string, int64_t, std::less<>> seen_;
  std::multimap<int64_t, std::string> byExpiry_;
};

}  // namespace talon::security
