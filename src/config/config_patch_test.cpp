#include "config/config_patch.h"

#include <gtest/gtest.h>

#include "config/config_redaction.h"

namespace talon::config {
namespace {

json::value j(std::string_view text) { return parseJson(text).value(); }

TEST(ConfigMergePatch, ObjectsMergeNullDeletesScalarsReplace) {
  auto merged = applyConfigMergePatch(j(R"({"a":{"b":1,"c":2},"d":"x","e":[1,2]})"),
                                      j(R"({"a":{"b":5,"c":null},"d":"y","e":[3]})"), {});
  EXPECT_EQ(merged, j(R"({"a":{"b":5},"d":"y","e":[3]})"));
}

TEST(ConfigMergePatch, ArraysOfObjectsMergeById) {
  auto base = j(R"({"list":[{"id":"a","x":1},{"id":"b","x":2}]})");
  auto merged = applyConfigMergePatch(base, j(R"({"list":[{"id":"b","y":3},{"id":"c"}]})"), {});
  EXPECT_EQ(merged, j(R"({"list":[{"id":"a","x":1},{"id":"b","x":2,"y":3},{"id":"c"}]})"));
}

TEST(ConfigMergePatch, ReplacePathsReplaceAnIdKeyedArray) {
  auto base = j(R"({"list":[{"id":"a"},{"id":"b"}]})");
  auto merged = applyConfigMergePatch(base, j(R"({"list":[{"id":"c"}]})"), {"list"});
  EXPECT_EQ(merged, j(R"({"list":[{"id":"c"}]})"));
}

TEST(ConfigMergePatch, DestructiveArrayPatchesAreNamedUnlessInReplacePaths) {
  auto base = j(R"({"a":{"tags":["x","y"]},"list":[{"id":"a"},{"id":"b"}],"o":{"arr":[1]}})");
  auto patch = j(R"({"a":{"tags":["x"]},"list":[{"id":"c"}],"o":5})");
  auto merged = applyConfigMergePatch(base, patch, {});
  // list merges by id (keeps a and b): not destructive.
  EXPECT_EQ(destructiveArrayPatchPaths(base, patch, merged, {}), (std::vector<std::string>{"a.tags", "o.arr"}));
  EXPECT_EQ(destructiveArrayPatchPaths(base, patch, merged, {"a.tags", "o.arr"}), std::vector<std::string>{});
  auto drop = j(R"({"list":null})");
  EXPECT_EQ(destructiveArrayPatchPaths(base, drop, applyConfigMergePatch(base, drop, {}), {}),
            std::vector<std::string>{"list"});
}

TEST(ConfigMergePatch, DuplicateIdsAreRefusedWithOpenClawsText) {
  auto dupCurrent = checkPatchIds(j(R"({"l":[{"id":"a"},{"id":"a"}]})"), j(R"({"l":[{"id":"b"}]})"), {});
  ASSERT_FALSE(dupCurrent);
  EXPECT_EQ(dupCurrent.error().publicMessage(),
            "Cannot ID-merge array at l: current config contains duplicate ID a; use replacePaths for an explicit "
            "replacement.");
  auto dupPatch = checkPatchIds(j(R"({"l":[{"id":"a"}]})"), j(R"({"l":[{"id":"b"},{"id":"b"}]})"), {});
  ASSERT_FALSE(dupPatch);
  EXPECT_EQ(dupPatch.error().publicMessage(), "Ambiguous duplicate ID b in array at l.");
  EXPECT_TRUE(checkPatchIds(j(R"({"l":[{"id":"a"},{"id":"a"}]})"), j(R"({"l":[{"id":"b"}]})"), {"l"}));
}

TEST(ConfigMergePatch, DiffNamesLeafPaths) {
  EXPECT_EQ(diffConfigPaths(j(R"({"a":{"b":1,"c":[1]},"d":1})"), j(R"({"a":{"b":2,"c":[1]},"e":{"f":1}})")),
            (std::vector<std::string>{"a.b", "d", "e.f"}));
  EXPECT_TRUE(diffConfigPaths(j(R"({"a":1})"), j(R"({"a":1})")).empty());
}

TEST(ConfigMergePatch, RedactionSentinelsAreRestoredFromTheCurrentConfig) {
  std::string sentinel(kRedactedSentinel);
  auto current = j(R"({"gateway":{"auth":{"token":"${TOK}"}},"models":{"providers":{"p":{"apiKey":"k1"}}}})");
  auto submitted = json::value(
      json::object{{"gateway", json::object{{"auth", json::object{{"token", sentinel}}}}},
                   {"models", json::object{{"providers", json::object{{"p", json::object{{"apiKey", sentinel}}}}}}}});
  auto restored = restoreRedactedValues(submitted, current);
  ASSERT_TRUE(restored);
  EXPECT_EQ(*restored, current);
  auto missing = restoreRedactedValues(json::object{{"x", sentinel}}, current);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().publicMessage().find("x"), std::string::npos);
}

TEST(ConfigMergePatch, EnvReferencesAreKeptInsteadOfResolvedValues) {
  auto source = j(R"({"gateway":{"auth":{"token":"${TOK}"}},"url":"${BASE}/v1"})");
  auto effective = j(R"({"gateway":{"auth":{"token":"s3cret"}},"url":"http://h/v1"})");
  auto submitted = j(R"({"gateway":{"auth":{"token":"s3cret"}},"url":"http://other/v1"})");
  EXPECT_EQ(restoreEnvReferences(submitted, source, effective),
            j(R"({"gateway":{"auth":{"token":"${TOK}"}},"url":"http://other/v1"})"));
}

TEST(ConfigMergePatch, IncludedSubtreesAreNeverFlattened) {
  auto source = j(R"({"agents":{"$include":"./agents.json5"},"gateway":{"port":1},"list":[{"$include":"x"}]})");
  EXPECT_TRUE(checkPatchKeepsIncludes(source, j(R"({"gateway":{"port":2}})")));
  auto into = checkPatchKeepsIncludes(source, j(R"({"agents":{"defaults":{}}})"));
  ASSERT_FALSE(into);
  EXPECT_EQ(into.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(into.error().publicMessage().find("agents"), std::string::npos);
  EXPECT_FALSE(checkPatchKeepsIncludes(source, j(R"({"agents":null})")));
  EXPECT_FALSE(checkPatchKeepsIncludes(source, j(R"({"list":[]})")));
  EXPECT_FALSE(checkPatchKeepsIncludes(j(R"({"$include":"./base.json5"})"), j(R"({"gateway":{"port":2}})")));
  EXPECT_TRUE(containsInclude(source));
  EXPECT_FALSE(containsInclude(j(R"({"a":[{"b":1}]})")));
}

}  // namespace
}  // namespace talon::config
