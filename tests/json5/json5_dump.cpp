// talon_json5_dump FILE: parses FILE with Talon's JSON5 parser and prints the value as canonical JSON
// (keys sorted, no white space) on stdout, exit 0; on a syntax error prints "file:line:col: message" on
// stderr, exit 1. NaN and +/-Infinity, which JSON cannot represent, print as the strings "NaN",
// "Infinity" and "-Infinity". Used by compare.mjs to check the parser against the `json5` npm package.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "base/file_io.h"
#include "base/json.h"
#include "config/json5.h"

namespace {

talon::json::value replaceNonFinite(const talon::json::value& v) {
  namespace json = talon::json;
  if (v.is_double()) {
    double d = v.get_double();
    if (std::isnan(d)) return json::value("NaN");
    if (std::isinf(d)) return json::value(d > 0 ? "Infinity" : "-Infinity");
    return v;
  }
  if (v.is_array()) {
    json::array out;
    for (const auto& item : v.get_array()) out.push_back(replaceNonFinite(item));
    return out;
  }
  if (v.is_object()) {
    json::object out;
    for (const auto& kv : v.get_object()) out[kv.key()] = replaceNonFinite(kv.value());
    return out;
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: talon_json5_dump FILE\n";
    return 2;
  }
  auto text = talon::readFile(argv[1]);
  if (!text) {
    std::cerr << text.error().toString() << "\n";
    return 2;
  }
  auto doc = talon::config::parseJson5(*text, argv[1]);
  if (!doc) {
    std::cerr << doc.error().message << "\n";
    return 1;
  }
  std::cout << talon::toCanonicalJson(replaceNonFinite(doc->value)) << "\n";
  return 0;
}
