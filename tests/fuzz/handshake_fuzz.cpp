// libFuzzer target: the connect handshake as the gateway runs it on a connection's first frame —
// frame parse, ConnectParamsSchema validation, admission checks (protocol range, role, device) and
// the shared-secret Authenticator, for a loopback and a remote peer. Any input must end in a
// Principal or a HandshakeFailure/ConnectAuthFailure — never a crash or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config_model.h"
#include "protocol/frames.h"
#include "protocol/handshake.h"
#include "security/shared_secret_authenticator.h"

namespace {

const talon::security::Authenticator& authenticator() {
  static const auto auth = [] {
    talon::config::GatewayAuthConfig config;
    config.mode = "token";
    auto created = talon::security::SharedSecretAuthenticator::create(config, "fuzz-token-0123456789abcdef");
    if (!created) std::abort();
    return std::move(*created);
  }();
  return *auth;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto frame = talon::protocol::parseRequestFrame(text);
  if (!frame) return 0;
  auto params = talon::protocol::parseConnectRequest(*frame);
  if (!params) {
    (void)talon::protocol::truncateCloseReason(params.error().closeReason);
    return 0;
  }
  auto role = talon::protocol::validateConnect(*params);
  if (!role) return 0;
  for (bool loopback : {true, false}) {
    auto principal = authenticator().authenticateConnect(*params, *role, {loopback, "192.0.2.1:4000"});
    if (!principal) (void)principal.error().error.publicMessage();
  }
  return 0;
}
