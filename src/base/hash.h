#pragma once
// Cryptographic hashes (libsodium).
#include <string>
#include <string_view>

namespace talon {

/// SHA-256 of `data`, as 64 lower-case hex characters.
std::string sha256Hex(std::string_view data);

}  // namespace talon
