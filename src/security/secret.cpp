#include "security/secret.h"

#include <openssl/crypto.h>
#include <sodium/crypto_hash_sha256.h>

#include <cstdlib>
#include <cstring>

namespace talon::security {
namespace {

using Digest = std::array<unsigned char, 32>;

// libsodium's SHA-256: no initialisation, no failure (OpenSSL 3's EVP_Digest would load its providers
// at the first secret, about 5 M instructions of every start).
Digest sha256(std::string_view data) {
  static_assert(sizeof(Digest) == crypto_hash_sha256_BYTES);
  Digest out{};
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

}  // namespace

std::array<unsigned char, Secret::kDigestBytes> Secret::emptyDigest() {
  static const Digest kEmpty = sha256({});
  return kEmpty;
}

Secret::Secret(std::string_view value) { assign(value); }

Secret::Secret(const Secret& other) { assign(other.reveal()); }

Secret::Secret(Secret&& other) noexcept : data_(std::move(other.data_)), size_(other.size_), digest_(other.digest_) {
  other.size_ = 0;
  other.digest_ = emptyDigest();
}

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) assign(other.reveal());
  return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = std::move(other.data_);
    size_ = other.size_;
    digest_ = other.digest_;
    other.size_ = 0;
    other.digest_ = emptyDigest();
  }
  return *this;
}

Secret::~Secret() { wipe(); }

void Secret::assign(std::string_view value) {
  // Copy first: `value` may view this very Secret's buffer (self-assignment through reveal()).
  std::unique_ptr<char[]> fresh;
  if (!value.empty()) {
    fresh = std::make_unique<char[]>(value.size());
    std::memcpy(fresh.get(), value.data(), value.size());
  }
  const Digest digest = sha256(value);
  wipe();
  data_ = std::move(fresh);
  size_ = value.size();
  digest_ = digest;
}

void Secret::wipe() noexcept {
  if (data_) OPENSSL_cleanse(data_.get(), size_);
  data_.reset();
  size_ = 0;
  OPENSSL_cleanse(digest_.data(), digest_.size());
  digest_ = emptyDigest();
}

bool Secret::equals(std::string_view offered) const {
  const Digest theirs = sha256(offered);
  return CRYPTO_memcmp(theirs.data(), digest_.data(), digest_.size()) == 0;
}

bool Secret::equals(const Secret& other) const {
  return CRYPTO_memcmp(other.digest_.data(), digest_.data(), digest_.size()) == 0;
}

}  // namespace talon::security
