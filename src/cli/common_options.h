#pragma once
// Options shared by the CLI's commands, and how a client command finds its gateway.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "base/error.h"
#include "cli/gateway_client.h"

namespace talon::cli {

struct CommonOptions {
  std::string url;         // --url; else TALON_GATEWAY_URL; else ws://127.0.0.1:<gateway.port>
  std::string token;       // --token; else TALON_GATEWAY_TOKEN; else the config's token; else <stateDir>/gateway.token
  std::string password;    // --password; else TALON_GATEWAY_PASSWORD; else the config's password
  std::string configPath;  // --config; else TALON_CONFIG_PATH; else <stateDir>/talon.json
  bool json = false;       // --json
  int timeoutMs = 10'000;  // --timeout
};

/// Adds --url/--token/--password/--config/--json/--timeout to a client command.
void addClientOptions(CLI::App* cmd, CommonOptions& o);

/// Where and how to connect, from the options, the environment and the local config/state.
Result<ClientOptions> resolveClientOptions(const CommonOptions& o);

/// Connects with resolveClientOptions(o); errors as GatewayClient::connect.
Result<std::unique_ptr<GatewayClient>> connectClient(const CommonOptions& o, std::vector<std::string> scopes = {
                                                                                 "operator.read", "operator.write"});

}  // namespace talon::cli
