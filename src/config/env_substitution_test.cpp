#include "config/env_substitution.h"

#include <gtest/gtest.h>

#include "config/json5.h"

namespace talon::config {
namespace {

const Environment kEnv = {{"HOST", "example.com"}, {"PORT", "8080"}, {"_UNDER", "u"}, {"A1", "a1"},
                          {"EMPTY", ""},           {"lower", "no"},  {"DOLLAR", "$X"}};

std::string sub(std::string_view s, std::vector<std::string>* missing = nullptr) {
  return substituteEnvVars(s, kEnv, missing);
}

TEST(EnvSubstitution, ReplacesWholeAndInlineReferences) {
  EXPECT_EQ(sub("${HOST}"), "example.com");
  EXPECT_EQ(sub("https://${HOST}:${PORT}/v1"), "https://example.com:8080/v1");
  EXPECT_EQ(sub("${_UNDER}${A1}"), "ua1");
  EXPECT_EQ(sub("no references"), "no references");
  EXPECT_EQ(sub(""), "");
}

TEST(EnvSubstitution, ValuesAreNotSubstitutedAgain) {
  EXPECT_EQ(sub("${DOLLAR}"), "$X");
  Environment env = {{"A", "${B}"}, {"B", "b"}};
  EXPECT_EQ(substituteEnvVars("${A}", env), "${B}");
}

TEST(EnvSubstitution, DoubleDollarIsTheEscape) {
  EXPECT_EQ(sub("$${HOST}"), "${HOST}");
  EXPECT_EQ(sub("$${MISSING}"), "${MISSING}");
  EXPECT_EQ(sub("a $${HOST} b ${HOST}"), "a ${HOST} b example.com");
  EXPECT_EQ(sub("$$${HOST}"), "$${HOST}");  // '$' then the escape
}

TEST(EnvSubstitution, OnlyUpperCaseNamesAreReferences) {
  EXPECT_EQ(sub("${lower}"), "${lower}");
  EXPECT_EQ(sub("${Mixed}"), "${Mixed}");
  EXPECT_EQ(sub("${1ABC}"), "${1ABC}");
  EXPECT_EQ(sub("${A-B}"), "${A-B}");
  EXPECT_EQ(sub("${}"), "${}");
  EXPECT_EQ(sub("$HOST"), "$HOST");
  EXPECT_EQ(sub("${HOST"), "${HOST");
  EXPECT_EQ(sub("$${lower}"), "$${lower}");
  EXPECT_EQ(sub("$"), "$");
  EXPECT_EQ(sub("$$"), "$$");
  // The first '}' closes the reference.
  EXPECT_EQ(sub("${HOST}}"), "example.com}");
  EXPECT_EQ(sub("${HO}ST}"), "${HO}ST}");
}

TEST(EnvSubstitution, MissingOrEmptyStaysLiteralAndIsReported) {
  std::vector<std::string> missing;
  EXPECT_EQ(sub("a ${NOPE} b ${EMPTY} c ${HOST} ${NOPE}", &missing), "a ${NOPE} b ${EMPTY} c example.com ${NOPE}");
  EXPECT_EQ(missing, (std::vector<std::string>{"NOPE", "EMPTY", "NOPE"}));
}

TEST(EnvSubstitution, TreeSubstitutionCoversValuesNotKeysAndWarns) {
  auto parsed = parseJson5Located(
      "{\n"
      "  '${HOST}': '${HOST}',\n"
      "  list: ['${PORT}', 1, true, null, { deep: 'x${NOPE}y' }],\n"
      "  n: 5,\n"
      "}",
      "/c/talon.json");
  ASSERT_TRUE(parsed);
  std::vector<Diagnostic> warnings;
  substituteEnvInTree(*parsed, kEnv, warnings);
  EXPECT_EQ(toCanonicalJson(toJsonValue(*parsed)),
            R"({"${HOST}":"example.com","list":["8080",1,true,null,{"deep":"x${NOPE}y"}],"n":5})");
  ASSERT_EQ(warnings.size(), 1u);
  const Diagnostic& w = warnings[0];
  EXPECT_EQ(w.severity, Severity::kWarning);
  EXPECT_EQ(w.code, DiagnosticCode::kEnv);
  EXPECT_EQ(w.path, "list[4].deep");
  EXPECT_EQ(w.location.toString(), "/c/talon.json:3:38");
  EXPECT_EQ(w.message, "Missing env var \"NOPE\" - feature using this value will be unavailable");
  EXPECT_EQ(
      w.toString(),
      "/c/talon.json:3:38: list[4].deep: Missing env var \"NOPE\" - feature using this value will be unavailable");
}

TEST(EnvSubstitution, TopLevelString) {
  auto parsed = parseJson5Located("'${NOPE}'", "f");
  ASSERT_TRUE(parsed);
  std::vector<Diagnostic> warnings;
  substituteEnvInTree(*parsed, kEnv, warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].path, "");
  EXPECT_EQ(warnings[0].toString(),
            "f:1:1: <root>: Missing env var \"NOPE\" - feature using this value will be unavailable");
}

TEST(EnvSubstitution, NameRule) {
  EXPECT_TRUE(isEnvVarName("A"));
  EXPECT_TRUE(isEnvVarName("_"));
  EXPECT_TRUE(isEnvVarName("A_1"));
  EXPECT_FALSE(isEnvVarName(""));
  EXPECT_FALSE(isEnvVarName("1A"));
  EXPECT_FALSE(isEnvVarName("a"));
  EXPECT_FALSE(isEnvVarName("A-B"));
}

}  // namespace
}  // namespace talon::config
