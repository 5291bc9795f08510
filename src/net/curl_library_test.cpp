#include "net/curl_library.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

namespace talon::net {
namespace {

TEST(CurlLibraryTest, LoadsLibcurlOnFirstUseAndKeepsOneTable) {
  auto first = curlApi();
  ASSERT_TRUE(first) << first.error().toString();
  auto second = curlApi();
  ASSERT_TRUE(second);
  EXPECT_EQ(*first, *second);
  // The table works: a handle can be made, configured and freed.
  CURL* h = (*first)->easyInit();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ((*first)->easySetopt(h, CURLOPT_URL, "smtp://127.0.0.1:1"), CURLE_OK);
  (*first)->easyCleanup(h);
  EXPECT_STREQ((*first)->easyStrerror(CURLE_OK), "No error");
}

TEST(CurlLibraryTest, AMissingLibraryIsAnErrorThatNamesIt) {
  auto api = loadCurlSymbols("libtalon-no-such-curl.so.4");
  ASSERT_FALSE(api);
  EXPECT_EQ(api.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(api.error().message.find("libtalon-no-such-curl.so.4"), std::string::npos) << api.error().message;
}

TEST(CurlLibraryTest, ALibraryWithoutCurlsSymbolsIsAnErrorThatNamesTheSymbol) {
  auto api = loadCurlSymbols("libc.so.6");
  ASSERT_FALSE(api);
  EXPECT_NE(api.error().message.find("has no symbol curl_"), std::string::npos) << api.error().message;
}

TEST(CurlLibraryTest, TalonDoesNotLinkLibcurl) {
  // Loaded only through curlApi() (this binary called it above, or not yet): never a link-time
  // dependency of the executable itself.
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "curl_easy_init"), nullptr);
}

}  // namespace
}  // namespace talon::net
