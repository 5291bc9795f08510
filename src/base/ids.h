#pragma once
// Identifiers and random secrets, from OpenSSL's CSPRNG.
#include <cstddef>
#include <string>

namespace talon {

/// A random RFC 9562 version-4 UUID in lower-case canonical form ("1af7d80a-17bf-4bac-b2a1-abe8d6ca00ae").
std::string newUuid();
/// `bytes` random bytes as lower-case hex (2*bytes characters). Used for tokens and nonces.
std::string randomHex(std::size_t bytes);

}  // namespace talon
