#pragma once
// Cryptographic hashes (libsodium).
#include <sodium/crypto_hash_sha256.h>

#include <string>
#include <string_view>

namespace talon {

/// SHA-256 (FIPS 180-4) of `data`, as 64 lower-case hex characters.
std::string sha256Hex(std::string_view data);

/// SHA-256 of data given in pieces (a file read in chunks): update() any number of times, then
/// finishHex() once. Not thread-safe; one object per digest.
class Sha256Digest {
 public:
  Sha256Digest();
  void update(std::string_view data);
  /// The digest as 64 lower-case hex characters; the object is spent afterwards.
  std::string finishHex();

 private:
  crypto_hash_sha256_state state_;
};

}  // namespace talon
