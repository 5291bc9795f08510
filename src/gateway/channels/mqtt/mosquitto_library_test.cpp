// libmosquitto loaded with dlopen on first use (mosquitto_library.h): the table works, and a library that is
// missing or is not libmosquitto is an error that names it and the reason — never a crash.
#include "gateway/channels/mqtt/mosquitto_library.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

namespace talon::gateway::channels {
namespace {

TEST(MosquittoLibraryTest, LoadsLibmosquittoOnFirstUseAndKeepsOneTable) {
  auto first = mosquittoApi();
  ASSERT_TRUE(first) << first.error().toString();
  auto second = mosquittoApi();
  ASSERT_TRUE(second);
  EXPECT_EQ(*first, *second);
  const MosquittoApi& api = **first;
  // The table works (libInit was called): a client is made, configured for MQTT 5 and destroyed.
  mosquitto* m = api.create("talon-library-test", true, nullptr);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(api.intOption(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(std::string(api.strerror(MOSQ_ERR_NO_CONN)), std::string("The client is not currently connected."));
  api.destroy(m);
}

TEST(MosquittoLibraryTest, AMissingLibraryIsAnErrorThatNamesItAndTheReason) {
  auto api = loadMosquittoSymbols("libtalon-no-such-mosquitto.so.1");
  ASSERT_FALSE(api);
  EXPECT_EQ(api.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(api.error().message.find("cannot load libtalon-no-such-mosquitto.so.1: "), std::string::npos)
      << api.error().message;
  EXPECT_NE(api.error().message.find("(Debian package libmosquitto1)"), std::string::npos) << api.error().message;
}

TEST(MosquittoLibraryTest, ALibraryWithoutLibmosquittosSymbolsIsAnErrorThatNamesTheSymbol) {
  auto api = loadMosquittoSymbols("libc.so.6");
  ASSERT_FALSE(api);
  EXPECT_EQ(api.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(api.error().message.find("libc.so.6 has no symbol mosquitto_lib_init"), std::string::npos)
      << api.error().message;
}

TEST(MosquittoLibraryTest, TheGatewayDoesNotLinkLibmosquitto) {
  // Opened only through mosquittoApi(), with RTLD_LOCAL: never a link-time dependency of the gateway.
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "mosquitto_lib_init"), nullptr);
}

}  // namespace
}  // namespace talon::gateway::channels
