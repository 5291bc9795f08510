#pragma once
// Named operator tokens (docs/security.md "Operator tokens"): bearer credentials bound to an operator
// role (security/operator_roles.h), created and revoked with `talon tokens`. Only the SHA-256 of a token
// is stored. A name is unique among tokens that are not revoked; creating a name whose token was
// revoked or has expired replaces that row.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// One token, as stored.
struct OperatorTokenRecord {
  std::string name;         // 1..64 of [A-Za-z0-9._-]
  std::string role;         // the role name it was created with
  std::string tokenHash;    // SHA-256 hex of the token
  std::string tokenPrefix;  // first characters of the token, for display
  std::string createdBy;    // audit actor of the creator ("cli:1000")
  int64_t createdAtMs = 0;
  int64_t expiresAtMs = 0;  // 0: never
  int64_t revokedAtMs = 0;  // 0: active
  int64_t lastUsedAtMs = 0;

  /// True when not revoked and not expired at `nowMs`.
  bool activeAt(int64_t nowMs) const { return revokedAtMs == 0 && (expiresAtMs == 0 || nowMs < expiresAtMs); }
};

/// True when `name` is a valid token name: 1..64 characters of [A-Za-z0-9._-].
bool isValidOperatorTokenName(std::string_view name);

/// Reads and writes of operator tokens. A view over a Store (cheap to copy; the store must outlive it).
/// Reads: any thread; each sees every write whose commit was reported before it began.
class OperatorTokenRepository {
 public:
  explicit OperatorTokenRepository(Store& store) : store_(&store) {}

  /// Adds to `batch`: insert `record`. An existing row of the same name is replaced only when it is
  /// revoked or expired at record.createdAtMs. Errors when applied: kInvalidArgument (invalid name,
  /// empty role or hash), kAlreadyExists (an active token has the name, or the hash is taken).
  static void create(WriteBatch& batch, OperatorTokenRecord record);
  /// Adds to `batch`: mark the active token `name` revoked at `nowMs`. `revoked` (not null) is set to
  /// true when a token was revoked, false when no active token has the name (not an error).
  static void revoke(WriteBatch& batch, std::string name, int64_t nowMs, std::shared_ptr<bool> revoked);
  /// Adds to `batch`: set last_used_at_ms of `name` to `nowMs`.
  static void touch(WriteBatch& batch, std::string name, int64_t nowMs);

  /// The token whose hash is `tokenHash` (revoked and expired ones included); nullopt when none.
  /// Errors: kFailedPrecondition after Store::close(), kIo for database failures.
  Result<std::optional<OperatorTokenRecord>> findByHash(const std::string& tokenHash) const;
  /// The token named `name`; nullopt when none. Errors: as findByHash().
  Result<std::optional<OperatorTokenRecord>> find(const std::string& name) const;
  /// Every token, by name. Errors: as findByHash().
  Result<std::vector<OperatorTokenRecord>> list() const;

 private:
  Store* store_;
};

}  // namespace talon::store
