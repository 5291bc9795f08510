#include "base/ids.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace talon {
namespace {
// The kernel's CSPRNG (getrandom(2), blocking only until it is first seeded at boot). OpenSSL's DRBG
// would do as well, but instantiating it costs every start about 3 M instructions.
void fillRandom(unsigned char* out, std::size_t n) {
  while (n > 0) {
    ssize_t got = getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::abort();  // no entropy source: nothing safe to do
    }
    out += got;
    n -= static_cast<std::size_t>(got);
  }
}
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

std::string newUuid() {
  std::array<unsigned char, 16> b{};
  fillRandom(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string s;
  s.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 0xf]);
  }
  return s;
}

std::string randomHex(std::size_t bytes) {
  std::vector<unsigned char> b(bytes);
  fillRandom(b.data(), b.size());
  std::string s;
  s.reserve(bytes * 2);
  for (unsigned char c : b) {
    s.push_back(kHex[c >> 4]);
    s.push_back(kHex[c & 0xf]);
  }
  return s;
}

}  // namespace talon
