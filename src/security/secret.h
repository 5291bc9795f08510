#pragma once
// A secret value (a gateway token, a password) that cannot be printed by accident, is compared in
// constant time and is wiped from memory when it goes away.
#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <memory>
#include <ostream>
#include <string_view>

namespace talon::security {

/// Holds a secret's bytes. It never prints: there is no operator<< (deleted), no toString(), and
/// fmt/spdlog format it as "***" (as does GoogleTest's PrintTo). The few places that must hand the
/// bytes on (an outbound Authorization header, a vault write) call reveal().
///
/// equals() compares SHA-256 digests with CRYPTO_memcmp, so neither the position of the first differing
/// byte nor the secret's length shows in the time it takes. The bytes live in a heap buffer of their
/// own that is wiped with OPENSSL_cleanse on destruction and on assignment; a moved-from Secret is empty.
///
/// Thread rules: a value type; const methods may be called from several threads at once.
class Secret {
 public:
  /// An empty secret (empty() is true; equals("") is true).
  Secret() = default;
  /// Copies `value` into a buffer of its own. The caller's copy is left alone (wipe it if it matters).
  explicit Secret(std::string_view value);
  Secret(const Secret& other);
  Secret(Secret&& other) noexcept;
  Secret& operator=(const Secret& other);
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  /// True when the secret has no bytes.
  bool empty() const { return size_ == 0; }

  /// The secret's bytes, valid while this Secret lives and is not assigned to. Every call site is a
  /// place where the secret leaves this type: keep them few and never log what it returns.
  std::string_view reveal() const { return {data_.get(), size_}; }

  /// Constant-time comparison with `offered` (a credential from a client): compares SHA-256 digests
  /// with CRYPTO_memcmp. The time depends on the length of `offered` only (hashing it), never on the
  /// secret's bytes or length.
  bool equals(std::string_view offered) const;
  /// Constant-time comparison of two secrets (digests compared with CRYPTO_memcmp).
  bool equals(const Secret& other) const;

  /// Streaming a Secret is a compile error: reveal() it explicitly if it really must be written.
  friend std::ostream& operator<<(std::ostream&, const Secret&) = delete;
  /// GoogleTest's printer: "***", so a failed assertion never shows the secret.
  friend void PrintTo(const Secret&, std::ostream* os) { *os << "***"; }

 private:
  static constexpr std::size_t kDigestBytes = 32;  // SHA-256
  void assign(std::string_view value);
  void wipe() noexcept;

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  /// SHA-256 of the bytes (of "" when empty), computed once so equals() hashes only the offered value.
  std::array<unsigned char, kDigestBytes> digest_ = emptyDigest();
  static std::array<unsigned char, kDigestBytes> emptyDigest();
};

}  // namespace talon::security

/// fmt (and so spdlog) prints every Secret as "***".
template <>
struct fmt::formatter<talon::security::Secret> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const talon::security::Secret&, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format("***", ctx);
  }
};
