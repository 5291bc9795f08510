#pragma once
// Recorded model-API bodies under src/gateway/providers/testdata/, for the provider tests.
#include <gtest/gtest.h>

#include <string>

#include "base/file_io.h"

namespace talon::testing {

/// The content of src/gateway/providers/testdata/<name>; "" (and a test failure) when it cannot be read.
/// Needs TALON_SOURCE_DIR (set for every module's test executable).
inline std::string providerTestdata(const std::string& name) {
  auto text = readFile(std::string(TALON_SOURCE_DIR) + "/src/gateway/providers/testdata/" + name);
  EXPECT_TRUE(text) << name;
  return text ? *text : std::string();
}

}  // namespace talon::testing
