#include "base/hash.h"

namespace talon {
namespace {

std::string hashHex(const unsigned char (&md)[crypto_hash_sha256_BYTES]) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(crypto_hash_sha256_BYTES * 2);
  for (unsigned char c : md) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

}  // namespace

std::string sha256Hex(std::string_view data) {
  // libsodium's SHA-256 (FIPS 180-4) needs no initialisation; OpenSSL 3's EVP_Digest loads its
  // providers on first use, which cost every start about 5 M instructions.
  unsigned char md[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(md, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return hashHex(md);
}

Sha256Digest::Sha256Digest() { crypto_hash_sha256_init(&state_); }

void Sha256Digest::update(std::string_view data) {
  crypto_hash_sha256_update(&state_, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

std::string Sha256Digest::finishHex() {
  unsigned char md[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state_, md);
  return hashHex(md);
}

}  // namespace talon
