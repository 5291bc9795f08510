#include "base/json.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "base/expected.h"
#include "base/hash.h"
#include "base/ids.h"

namespace talon {
namespace {

TEST(Json, ParsesStrictJsonAndRejectsTrailingData) {
  auto ok = parseJson(R"({"a":1})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->as_object().at("a").as_int64(), 1);
  EXPECT_FALSE(parseJson(R"({"a":1} x)"));
  EXPECT_FALSE(parseJson("{a:1}"));
  auto bad = parseJson("[1,");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST(Json, CanonicalFormSortsKeysAtEveryDepth) {
  auto a = parseJson(R"({"b":{"y":1,"x":[{"d":1,"c":2}]},"a":true})");
  auto b = parseJson(R"({"a":true,"b":{"x":[{"c":2,"d":1}],"y":1}})");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(toCanonicalJson(*a), toCanonicalJson(*b));
  EXPECT_EQ(toCanonicalJson(*a), R"({"a":true,"b":{"x":[{"c":2,"d":1}],"y":1}})");
}

TEST(Json, TypedAccessors) {
  auto v = parseJson(R"({"s":"x","i":3,"d":2.0,"b":false,"o":{},"arr":[]})");
  ASSERT_TRUE(v);
  const auto& o = v->as_object();
  EXPECT_EQ(getString(o, "s"), "x");
  EXPECT_EQ(getInt(o, "i"), 3);
  EXPECT_EQ(getInt(o, "d"), 2);
  EXPECT_EQ(getBool(o, "b"), false);
  EXPECT_NE(getObject(o, "o"), nullptr);
  EXPECT_NE(getArray(o, "arr"), nullptr);
  EXPECT_EQ(getString(o, "i"), std::nullopt);
  EXPECT_EQ(getObject(o, "missing"), nullptr);
}

// Found by the handshake fuzz target: maxProtocol 4.3e70 was cast to int64 (undefined behaviour).
TEST(Json, GetIntRefusesNumbersOutsideInt64) {
  auto v =
      parseJson(R"({"huge":4.3e70,"neg":-1e19,"edge":9223372036854775808.0,"frac":2.5,"min":-9223372036854775808.0})");
  ASSERT_TRUE(v);
  const auto& o = v->as_object();
  EXPECT_EQ(getInt(o, "huge"), std::nullopt);
  EXPECT_EQ(getInt(o, "neg"), std::nullopt);
  EXPECT_EQ(getInt(o, "edge"), std::nullopt);
  EXPECT_EQ(getInt(o, "frac"), std::nullopt);
  EXPECT_EQ(getInt(o, "min"), INT64_MIN);
}

TEST(Hash, Sha256MatchesKnownVector) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hash, Sha256InPiecesEqualsTheWholeDigest) {
  // FIPS 180-2 appendix B.2: the two-block message.
  std::string message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha256Digest digest;
  digest.update(message.substr(0, 5));
  digest.update("");
  digest.update(message.substr(5));
  EXPECT_EQ(digest.finishHex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256Hex(message), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Ids, UuidIsVersion4) {
  auto u = newUuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(u, newUuid());
  EXPECT_EQ(randomHex(16).size(), 32u);
}

TEST(Errors, MappingsAreStable) {
  EXPECT_EQ(protocolErrorCode(ErrorCode::kPermissionDenied), "FORBIDDEN");
  EXPECT_EQ(protocolErrorCode(ErrorCode::kInvalidArgument), "INVALID_REQUEST");
  EXPECT_EQ(protocolErrorCode(ErrorCode::kUnavailable), "UNAVAILABLE");
  EXPECT_EQ(httpStatus(ErrorCode::kUnauthenticated), 401);
  EXPECT_EQ(exitCode(ErrorCode::kConfigInvalid), 3);
  Result<int> r = fail(ErrorCode::kNotFound, "no such agent x", "no such agent");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().publicMessage(), "no such agent");
  Status s;
  EXPECT_TRUE(s);
}

}  // namespace
}  // namespace talon
