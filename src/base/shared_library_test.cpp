// Run-time loading of optional libraries: what is found, and the error when something is not.
#include "base/shared_library.h"

#include <gtest/gtest.h>

namespace talon {
namespace {

TEST(SharedLibraryTest, ResolvesTheFunctionsOfALibraryThatOpens) {
  SharedLibrary libm("libm.so.6", "libc6");
  ASSERT_TRUE(libm.opened()) << libm.problem();
  double (*cosine)(double) = nullptr;
  libm.resolve(cosine, "cos");
  ASSERT_NE(cosine, nullptr);
  EXPECT_DOUBLE_EQ(cosine(0.0), 1.0);
  EXPECT_EQ(libm.problem(), "");
}

TEST(SharedLibraryTest, AMissingSymbolIsTheProblemAndTheFirstOneIsNamed) {
  SharedLibrary libm("libm.so.6", "libc6");
  ASSERT_TRUE(libm.opened());
  void (*missing)() = nullptr;
  libm.resolve(missing, "talon_no_such_function");
  double (*cosine)(double) = nullptr;
  libm.resolve(cosine, "cos");
  libm.resolve(missing, "talon_another_missing_one");
  EXPECT_EQ(missing, nullptr);
  EXPECT_NE(cosine, nullptr);
  EXPECT_EQ(libm.problem(), "libm.so.6 has no symbol talon_no_such_function (Debian package libc6)");
  libm.close();
  EXPECT_FALSE(libm.opened());
}

TEST(SharedLibraryTest, ALibraryThatDoesNotOpenSaysWhyAndResolvesNothing) {
  SharedLibrary none("libtalon-no-such-library.so.0", "talon-nothing");
  EXPECT_FALSE(none.opened());
  const std::string problem = none.problem();
  EXPECT_EQ(problem.rfind("cannot load libtalon-no-such-library.so.0: ", 0), 0u) << problem;
  EXPECT_NE(problem.find("(Debian package talon-nothing)"), std::string::npos) << problem;
  int (*f)() = nullptr;
  none.resolve(f, "anything");
  EXPECT_EQ(f, nullptr);
  EXPECT_EQ(none.problem(), problem);  // the first problem stays
}

}  // namespace
}  // namespace talon
