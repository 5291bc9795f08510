#include "base/hash.h"

#include <sodium/crypto_hash_sha256.h>

namespace talon {

std::string sha256Hex(std::string_view data) {
  // libsodium's SHA-256 (FIPS 180-4) needs no initialisation; OpenSSL 3's EVP_Digest loads its
  // providers on first use, which cost every start about 5 M instructions.
  unsigned char md[crypto_hash_sha256_BYTES];
  constexpr unsigned int len = crypto_hash_sha256_BYTES;
  crypto_hash_sha256(md, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

}  // namespace talon
