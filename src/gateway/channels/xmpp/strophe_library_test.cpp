// libstrophe loaded with dlopen on first use (strophe_library.h): the table works, and a library that is
// missing or is not libstrophe is an error that names it and the reason — never a crash.
#include "gateway/channels/xmpp/strophe_library.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

namespace talon::gateway::channels {
namespace {

TEST(StropheLibraryTest, LoadsLibstropheOnFirstUseAndKeepsOneTable) {
  auto first = stropheApi();
  ASSERT_TRUE(first) << first.error().toString();
  auto second = stropheApi();
  ASSERT_TRUE(second);
  EXPECT_EQ(*first, *second);
  const StropheApi& api = **first;
  // The table works (initialize was called): a context and a stanza are made, named and freed.
  xmpp_ctx_t* ctx = api.ctxNew(nullptr, nullptr);
  ASSERT_NE(ctx, nullptr);
  xmpp_stanza_t* stanza = api.stanzaNew(ctx);
  ASSERT_NE(stanza, nullptr);
  EXPECT_EQ(api.stanzaSetName(stanza, "ping"), XMPP_EOK);
  ASSERT_NE(api.stanzaGetName(stanza), nullptr);
  EXPECT_EQ(std::string(api.stanzaGetName(stanza)), "ping");
  api.stanzaRelease(stanza);
  api.ctxFree(ctx);
  EXPECT_NE(api.sockoptCbKeepalive, nullptr);
}

TEST(StropheLibraryTest, AMissingLibraryIsAnErrorThatNamesItAndTheReason) {
  auto api = loadStropheSymbols("libtalon-no-such-strophe.so.0");
  ASSERT_FALSE(api);
  EXPECT_EQ(api.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(api.error().message.find("cannot load libtalon-no-such-strophe.so.0: "), std::string::npos)
      << api.error().message;
  EXPECT_NE(api.error().message.find("No such file or directory"), std::string::npos) << api.error().message;
}

TEST(StropheLibraryTest, ALibraryWithoutLibstrophesSymbolsIsAnErrorThatNamesTheSymbol) {
  auto api = loadStropheSymbols("libc.so.6");
  ASSERT_FALSE(api);
  EXPECT_EQ(api.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(api.error().message.find("libc.so.6 has no symbol xmpp_initialize"), std::string::npos)
      << api.error().message;
}

TEST(StropheLibraryTest, TalonDoesNotLinkLibstrophe) {
  // Opened only through stropheApi(), with RTLD_LOCAL: never a link-time dependency of the executable.
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "xmpp_initialize"), nullptr);
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "XML_ParserCreate"), nullptr);  // libexpat, which only libstrophe needs
}

}  // namespace
}  // namespace talon::gateway::channels
