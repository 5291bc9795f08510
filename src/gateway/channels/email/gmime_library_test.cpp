// GMime loaded with dlopen on first use (gmime_library.h): the table works, the type checks that replace
// GMime's macros answer as the macros would, and a library that is missing or is not GMime is an error
// that names it, its Debian package and the reason — never a crash.
#include "gateway/channels/email/gmime_library.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

namespace talon::gateway::channels {
namespace {

TEST(GMimeLibraryTest, LoadsGMimeOnFirstUseAndKeepsOneTable) {
  auto first = gmimeApi();
  ASSERT_TRUE(first) << first.error().toString();
  auto second = gmimeApi();
  ASSERT_TRUE(second);
  EXPECT_EQ(*first, *second);
  const GMimeApi& api = **first;
  // The table works (g_mime_init was called): a text part is made, typed and freed.
  GMimeTextPart* text = api.textPartNewWithSubtype("plain");
  ASSERT_NE(text, nullptr);
  api.textPartSetText(text, "hello");
  EXPECT_EQ(gmimeAs<GMimeTextPart>(api, text), text);
  EXPECT_EQ(gmimeAs<GMimePart>(api, text), &text->parent_object);  // a text part is a part (the slow path)
  EXPECT_EQ(gmimeAs<GMimeMultipart>(api, text), nullptr);
  EXPECT_EQ(gmimeAs<GMimeMessagePart>(api, text), nullptr);
  EXPECT_EQ(gmimeAs<GMimePart>(api, nullptr), nullptr);
  EXPECT_EQ(static_cast<void*>(gmimeObjectOf(text)), static_cast<void*>(text));
  char* body = api.textPartGetText(text);
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(std::string(body), "hello");
  api.free(body);
  api.objectUnref(text);
}

TEST(GMimeLibraryTest, AMissingLibraryIsAnErrorThatNamesItItsPackageAndTheReason) {
  GMimeLibraries libraries;
  libraries.gmime = {"libtalon-no-such-gmime.so.0", "libgmime-3.0-0"};
  auto api = loadGMimeSymbols(libraries);
  ASSERT_FALSE(api);
  EXPECT_EQ(api.error().code, ErrorCode::kUnavailable);
  const std::string& m = api.error().message;
  EXPECT_NE(m.find("cannot load libtalon-no-such-gmime.so.0: "), std::string::npos) << m;
  EXPECT_NE(m.find("No such file or directory"), std::string::npos) << m;  // dlerror()'s reason
  EXPECT_NE(m.find("(Debian package libgmime-3.0-0)"), std::string::npos) << m;
}

TEST(GMimeLibraryTest, AMissingGLibIsNamedWithItsOwnPackage) {
  GMimeLibraries libraries;
  libraries.glib = {"libtalon-no-such-glib.so.0", "libglib2.0-0"};
  auto api = loadGMimeSymbols(libraries);
  ASSERT_FALSE(api);
  EXPECT_EQ(api.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(api.error().message.find("cannot load libtalon-no-such-glib.so.0"), std::string::npos)
      << api.error().message;
  EXPECT_NE(api.error().message.find("(Debian package libglib2.0-0)"), std::string::npos) << api.error().message;
}

TEST(GMimeLibraryTest, ALibraryWithoutGMimesSymbolsIsAnErrorThatNamesTheSymbol) {
  GMimeLibraries libraries;
  libraries.gmime = {"libc.so.6", "libgmime-3.0-0"};
  auto api = loadGMimeSymbols(libraries);
  ASSERT_FALSE(api);
  EXPECT_EQ(api.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(api.error().message.find("libc.so.6 has no symbol g_mime_init (Debian package libgmime-3.0-0)"),
            std::string::npos)
      << api.error().message;
}

TEST(GMimeLibraryTest, TalonDoesNotLinkGMimeOrGLib) {
  // Opened only through gmimeApi(), with RTLD_LOCAL: never a link-time dependency of the executable, so
  // their symbols are not in the global scope whether or not this binary loaded them above.
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "g_mime_init"), nullptr);
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "g_type_check_instance_is_a"), nullptr);
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "g_free"), nullptr);
}

}  // namespace
}  // namespace talon::gateway::channels
