#include "config/json5.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace talon::config {
namespace {

json::value parseOk(std::string_view text) {
  auto r = parseJson5(text, "t.json5");
  EXPECT_TRUE(r) << (r ? "" : r.error().message) << "\ninput: " << text;
  return r ? r->value : json::value();
}

Json5Error parseErr(std::string_view text) {
  auto r = parseJson5Located(text, "t.json5");
  EXPECT_FALSE(r) << "expected a syntax error for: " << text;
  return r ? Json5Error{} : r.error();
}

// --- values ------------------------------------------------------------------------------------------

TEST(Json5, ParsesPlainJson) {
  json::value v = parseOk(R"({"a": [1, 2.5, "x", true, false, null], "b": {}})");
  EXPECT_EQ(toCanonicalJson(v), R"({"a":[1,2.5E0,"x",true,false,null],"b":{}})");
}

TEST(Json5, TopLevelScalars) {
  EXPECT_EQ(parseOk("42").as_int64(), 42);
  EXPECT_EQ(parseOk("'s'").as_string(), "s");
  EXPECT_TRUE(parseOk("null").is_null());
  EXPECT_EQ(parseOk(" true ").as_bool(), true);
  EXPECT_TRUE(parseOk("[]").as_array().empty());
}

TEST(Json5, CommentsAnywhere) {
  json::value v = parseOk(R"(// leading
  /* block */ { // after brace
    a /* between key and colon */ : /* before value */ 1, // trailing
    /* multi
       line */ b: 2,
  } // end
  /* end block */)");
  EXPECT_EQ(toCanonicalJson(v), R"({"a":1,"b":2})");
  EXPECT_EQ(parseOk("1 // no newline at end").as_int64(), 1);
  EXPECT_EQ(parseOk("/**/1/***/").as_int64(), 1);
  EXPECT_EQ(parseOk("/* a ** b * / */ 2").as_int64(), 2);
}

TEST(Json5, TrailingCommas) {
  EXPECT_EQ(toCanonicalJson(parseOk("{a: 1,}")), R"({"a":1})");
  EXPECT_EQ(toCanonicalJson(parseOk("[1, 2,]")), "[1,2]");
  EXPECT_EQ(toCanonicalJson(parseOk("[[],{},]")), "[[],{}]");
}

TEST(Json5, UnquotedKeys) {
  json::value v = parseOk(R"({$dollar: 1, _under: 2, camelCase9: 3, null: 4, true: 5, Infinity: 6, NaN: 7})");
  EXPECT_EQ(toCanonicalJson(v), R"({"$dollar":1,"Infinity":6,"NaN":7,"_under":2,"camelCase9":3,"null":4,"true":5})");
}

TEST(Json5, UnicodeIdentifiers) {
  // Letters from other scripts, a combining mark and ZWNJ/ZWJ as continuation characters.
  json::value v = parseOk("{ñame: 1, ключ: 2, 名前: 3, a\u0301b: 4, a\u200Cb: 5, ǅx: 6, ⅷ: 7}");
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("ñame").as_int64(), 1);
  EXPECT_EQ(o.at("ключ").as_int64(), 2);
  EXPECT_EQ(o.at("名前").as_int64(), 3);
  EXPECT_EQ(o.at("a\u0301b").as_int64(), 4);
  EXPECT_EQ(o.at("a\u200Cb").as_int64(), 5);
  EXPECT_EQ(o.at("ǅx").as_int64(), 6);  // Lt
  EXPECT_EQ(o.at("ⅷ").as_int64(), 7);   // Nl
  // Astral letter (U+1D49C MATHEMATICAL SCRIPT CAPITAL A).
  EXPECT_EQ(parseOk("{\U0001D49C: 1}").as_object().at("\U0001D49C").as_int64(), 1);
}

TEST(Json5, IdentifierEscapes) {
  json::value v = parseOk(R"({\u0061bc: 1, a\u0062c2: 2, \u0024x: 3, \u005F: 4, \u00F1: 5})");
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("abc").as_int64(), 1);
  EXPECT_EQ(o.at("abc2").as_int64(), 2);
  EXPECT_EQ(o.at("$x").as_int64(), 3);
  EXPECT_EQ(o.at("_").as_int64(), 4);
  EXPECT_EQ(o.at("ñ").as_int64(), 5);
}

TEST(Json5, QuotedKeysAndStrings) {
  // Adjacent strings are not concatenated.
  parseErr(R"({'a': 'it''s'})");
  json::value w = parseOk(R"({'single': 'it\'s', "double": "say \"hi\"", 'mixed "q"': "it's", '': 0})");
  const auto& o = w.as_object();
  EXPECT_EQ(o.at("single").as_string(), "it's");
  EXPECT_EQ(o.at("double").as_string(), "say \"hi\"");
  EXPECT_EQ(o.at("mixed \"q\"").as_string(), "it's");
  EXPECT_EQ(o.at("").as_int64(), 0);
}

TEST(Json5, StringEscapes) {
  json::value v = parseOk(R"(['\b\f\n\r\t\v', '\0', '\x41\x7e\xFF', '\u0041\u00e9\u4e2d', '\uD83D\uDE00',
                             '\a\c\d\/\\\'\"\ ', '\q\w\z\é'])");
  const auto& a = v.as_array();
  EXPECT_EQ(a[0].as_string(), "\b\f\n\r\t\v");
  EXPECT_EQ(std::string(a[1].as_string()), std::string("\0", 1));
  EXPECT_EQ(a[2].as_string(), "A~\u00FF");
  EXPECT_EQ(a[3].as_string(), "A\u00E9\u4E2D");
  EXPECT_EQ(a[4].as_string(), "\U0001F600");
  EXPECT_EQ(a[5].as_string(), "acd/\\'\" ");
  EXPECT_EQ(a[6].as_string(), "qwz\u00E9");
}

TEST(Json5, LineContinuations) {
  EXPECT_EQ(parseOk("'a\\\nb'").as_string(), "ab");
  EXPECT_EQ(parseOk("'a\\\r\nb'").as_string(), "ab");
  EXPECT_EQ(parseOk("'a\\\rb'").as_string(), "ab");
  EXPECT_EQ(parseOk("'a\\\u2028b'").as_string(), "ab");
  EXPECT_EQ(parseOk("'a\\\u2029b'").as_string(), "ab");
}

TEST(Json5, RawSeparatorsAndControlCharactersInStrings) {
  EXPECT_EQ(parseOk("'a\u2028b\u2029c'").as_string(), "a\u2028b\u2029c");
  EXPECT_EQ(parseOk("'tab\there'").as_string(), "tab\there");
}

TEST(Json5, ExtraWhiteSpace) {
  // VT, FF, NBSP, BOM, LS, PS, and Zs (OGHAM SPACE MARK, EN QUAD, IDEOGRAPHIC SPACE).
  json::value v = parseOk("\uFEFF\v\f\u00A0{\u2028a\u2029:\u1680\u2000 1\u3000,\u202F}\u205F");
  EXPECT_EQ(toCanonicalJson(v), R"({"a":1})");
}

TEST(Json5, Numbers) {
  EXPECT_EQ(parseOk("0").as_int64(), 0);
  EXPECT_EQ(parseOk("-0").as_int64(), 0);
  EXPECT_EQ(parseOk("+7").as_int64(), 7);
  EXPECT_EQ(parseOk("0x1F").as_int64(), 31);
  EXPECT_EQ(parseOk("0XaB").as_int64(), 171);
  EXPECT_EQ(parseOk("-0x10").as_int64(), -16);
  EXPECT_EQ(parseOk("+0x10").as_int64(), 16);
  EXPECT_DOUBLE_EQ(parseOk(".5").as_double(), 0.5);
  EXPECT_DOUBLE_EQ(parseOk("5.").as_double(), 5.0);
  EXPECT_DOUBLE_EQ(parseOk("-.5e1").as_double(), -5.0);
  EXPECT_DOUBLE_EQ(parseOk("+1.5E-2").as_double(), 0.015);
  EXPECT_DOUBLE_EQ(parseOk("1e3").as_double(), 1000.0);
  EXPECT_DOUBLE_EQ(parseOk("5.e2").as_double(), 500.0);
  EXPECT_TRUE(parseOk("1.0").is_double());
}

TEST(Json5, IntegersThatFitInt64StayIntegers) {
  EXPECT_EQ(parseOk("9223372036854775807").as_int64(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parseOk("-9223372036854775808").as_int64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(parseOk("0x7FFFFFFFFFFFFFFF").as_int64(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parseOk("-0x8000000000000000").as_int64(), std::numeric_limits<int64_t>::min());
  json::value big = parseOk("9223372036854775808");
  ASSERT_TRUE(big.is_double());
  EXPECT_DOUBLE_EQ(big.as_double(), 9223372036854775808.0);
  json::value bigHex = parseOk("0xFFFFFFFFFFFFFFFF");
  ASSERT_TRUE(bigHex.is_double());
  EXPECT_DOUBLE_EQ(bigHex.as_double(), 18446744073709551615.0);
  json::value hugeHex = parseOk("0x10000000000000000000000");  // 2^88
  ASSERT_TRUE(hugeHex.is_double());
  EXPECT_DOUBLE_EQ(hugeHex.as_double(), std::ldexp(1.0, 88));
  // 2^64 + 2^11 + 1 rounds up (sticky bit beyond the first 16 hex digits).
  EXPECT_DOUBLE_EQ(parseOk("0x10000000000000801").as_double(), std::ldexp(1.0, 64) + std::ldexp(1.0, 12));
}

TEST(Json5, InfinityNaNAndOverflow) {
  EXPECT_TRUE(std::isinf(parseOk("Infinity").as_double()));
  EXPECT_GT(parseOk("+Infinity").as_double(), 0);
  EXPECT_LT(parseOk("-Infinity").as_double(), 0);
  EXPECT_TRUE(std::isnan(parseOk("NaN").as_double()));
  EXPECT_TRUE(std::isnan(parseOk("-NaN").as_double()));
  EXPECT_TRUE(std::isnan(parseOk("+NaN").as_double()));
  EXPECT_TRUE(std::isinf(parseOk("1e400").as_double()));
  EXPECT_LT(parseOk("-1e400").as_double(), 0);
  EXPECT_EQ(parseOk("1e-400").as_double(), 0.0);
  EXPECT_EQ(parseOk("0.000001e-400").as_double(), 0.0);
  EXPECT_TRUE(std::isinf(parseOk("123456789e400").as_double()));
  EXPECT_GT(parseOk("1e-310").as_double(), 0.0);  // subnormal, not flushed
}

TEST(Json5, DuplicateKeysLaterWinsInFirstPosition) {
  json::value v = parseOk("{a: 1, b: 2, a: {x: 3}}");
  const auto& o = v.as_object();
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o.begin()->key(), "a");
  EXPECT_EQ(toCanonicalJson(o.at("a")), R"({"x":3})");
}

TEST(Json5, NestingLimit) {
  std::string deep(static_cast<std::size_t>(kJson5MaxDepth), '[');
  deep += std::string(static_cast<std::size_t>(kJson5MaxDepth), ']');
  parseOk(deep);
  std::string tooDeep = "[" + deep + "]";
  EXPECT_NE(parseErr(tooDeep).message.find("nesting deeper"), std::string::npos);
}

// --- errors ------------------------------------------------------------------------------------------

struct ErrorCase {
  const char* text;
  int line;
  int column;
  const char* messagePart;
};

class Json5ErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(Json5ErrorTest, ReportsPosition) {
  const ErrorCase& c = GetParam();
  Json5Error e = parseErr(c.text);
  EXPECT_EQ(e.location.file, "t.json5");
  EXPECT_EQ(e.location.line, c.line) << e.toString();
  EXPECT_EQ(e.location.column, c.column) << e.toString();
  EXPECT_NE(e.message.find(c.messagePart), std::string::npos) << e.toString();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Json5ErrorTest,
    ::testing::Values(
        ErrorCase{"", 1, 1, "empty"}, ErrorCase{"   \n  ", 2, 3, "empty"}, ErrorCase{"{a: 1", 1, 6, "end of input"},
        ErrorCase{"{a 1}", 1, 4, "expected ':'"}, ErrorCase{"{a: 1 b: 2}", 1, 7, "expected ',' or '}'"},
        ErrorCase{"[1 2]", 1, 4, "expected ',' or ']'"}, ErrorCase{"{,}", 1, 2, "property name"},
        ErrorCase{"[,]", 1, 2, "expected a value"}, ErrorCase{"{a: 1,,}", 1, 7, "property name"},
        ErrorCase{"[1,,]", 1, 4, "expected a value"}, ErrorCase{"{1a: 1}", 1, 2, "property name"},
        ErrorCase{"{a-b: 1}", 1, 3, "expected ':'"},
        ErrorCase{"{\n  a: 'unterminated\n}", 2, 19, "line break in string"},
        ErrorCase{"{\n  a: 'never closed", 2, 6, "unterminated string"},
        ErrorCase{"/* open", 1, 1, "unterminated block comment"}, ErrorCase{"1 / 2", 1, 4, "after '/'"},
        ErrorCase{"01", 1, 2, "leading zeros"}, ErrorCase{"-", 1, 2, "after the sign"},
        ErrorCase{"+-1", 1, 2, "after the sign"}, ErrorCase{"1.e", 1, 4, "exponent"},
        ErrorCase{"1e+", 1, 4, "exponent"}, ErrorCase{".", 1, 2, "digit after '.'"},
        ErrorCase{"0x", 1, 3, "hex digits"}, ErrorCase{"0xG", 1, 3, "hex digits"}, ErrorCase{"tru", 1, 4, "'true'"},
        ErrorCase{"nul", 1, 4, "'null'"}, ErrorCase{"Infinit", 1, 8, "Infinity"}, ErrorCase{"NAN", 1, 2, "'NaN'"},
        ErrorCase{"undefined", 1, 1, "expected a value"}, ErrorCase{"1 2", 1, 3, "expected end of input"},
        ErrorCase{"{} x", 1, 4, "expected end of input"}, ErrorCase{"'\\1'", 1, 3, "octal"},
        ErrorCase{"'\\01'", 1, 4, "octal"}, ErrorCase{"'\\x4'", 1, 5, "\\x escape"},
        ErrorCase{"'\\u12G4'", 1, 6, "\\u escape"}, ErrorCase{"'\\uD800'", 1, 2, "lone surrogate"},
        ErrorCase{"'\\uDC00x'", 1, 2, "lone surrogate"}, ErrorCase{"'\\uD800\\u0041'", 1, 2, "lone surrogate"},
        ErrorCase{"{\\u0031a: 1}", 1, 2, "identifier start"}, ErrorCase{"{a\\u002Db: 1}", 1, 3, "identifier part"},
        ErrorCase{"{\\x41: 1}", 1, 3, "'\\u'"}, ErrorCase{"\"a\nb\"", 1, 3, "line break"},
        ErrorCase{"[1,\r\n 2,\r\n x]", 3, 2, "expected a value"}, ErrorCase{"// c\r[\r  @]", 3, 3, "expected a value"},
        ErrorCase{"{é: 1, ü b}", 1, 10, "expected ':'"}, ErrorCase{"{\"😀\": 1 x}", 1, 9, "expected ',' or '}'"},
        ErrorCase{"'\\", 1, 2, "unterminated"}, ErrorCase{"[\"a\xff\"]", 1, 4, "invalid UTF-8"},
        ErrorCase{"[\"\xe2\x82\"]", 1, 3, "invalid UTF-8"}, ErrorCase{"'\xed\xa0\x80'", 1, 2, "invalid UTF-8"}));

TEST(Json5, ParseJson5ErrorCarriesDetails) {
  auto r = parseJson5("{\n  a: ?\n}", "/etc/talon.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "/etc/talon.json:2:6: unexpected '?' (expected a value)");
  EXPECT_EQ(r.error().details.at("line").as_int64(), 2);
  EXPECT_EQ(r.error().details.at("column").as_int64(), 6);
  EXPECT_EQ(r.error().details.at("file").as_string(), "/etc/talon.json");
}

// --- source map --------------------------------------------------------------------------------------

TEST(Json5, SourceMapCoversEveryKeyAndElement) {
  auto r = parseJson5(
      "{\n"
      "  gateway: { auth: { token: 'x' } },\n"
      "  bindings: [\n"
      "    { match: { channel: 'tg' } },\n"
      "    7,\n"
      "  ],\n"
      "  'odd.key': { 'a b': 1 },\n"
      "}\n",
      "c.json5");
  ASSERT_TRUE(r);
  const SourceMap& m = r->sourceMap;
  auto at = [&](std::string_view path) {
    const SourceLocation* l = m.find(path);
    EXPECT_NE(l, nullptr) << path;
    return l ? std::to_string(l->line) + ":" + std::to_string(l->column) : std::string("none");
  };
  EXPECT_EQ(at(""), "1:1");
  EXPECT_EQ(at("gateway"), "2:3");
  EXPECT_EQ(at("gateway.auth"), "2:14");
  EXPECT_EQ(at("gateway.auth.token"), "2:22");
  EXPECT_EQ(at("bindings"), "3:3");
  EXPECT_EQ(at("bindings[0]"), "4:5");
  EXPECT_EQ(at("bindings[0].match"), "4:7");
  EXPECT_EQ(at("bindings[0].match.channel"), "4:16");
  EXPECT_EQ(at("bindings[1]"), "5:5");
  EXPECT_EQ(at(R"(["odd.key"])"), "7:3");
  EXPECT_EQ(at(R"(["odd.key"]["a b"])"), "7:16");
  EXPECT_EQ(m.find("gateway.auth.token")->file, "c.json5");
  EXPECT_EQ(m.size(), 11u);
}

TEST(Json5, SourceMapOfDuplicateKeyPointsAtTheWinner) {
  auto r = parseJson5("{a: 1,\n a: 2}", "d.json5");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->sourceMap.find("a")->line, 2);
}

}  // namespace
}  // namespace talon::config
