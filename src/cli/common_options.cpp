#include "cli/common_options.h"

#include "base/file_io.h"
#include "cli/vault_access.h"
#include "config/config_loader.h"
#include "config/config_paths.h"

namespace talon::cli {

void addClientOptions(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--url", o.url,
                  "Gateway WebSocket URL (env TALON_GATEWAY_URL; default ws://127.0.0.1:<gateway.port>)");
  cmd->add_option("--token", o.token,
                  "Gateway token (env TALON_GATEWAY_TOKEN; default: from the config or the state dir)");
  cmd->add_option("--password", o.password, "Gateway password, for auth mode password (env TALON_GATEWAY_PASSWORD)");
  cmd->add_option("--config", o.configPath, "Config file used to find the port and token (env TALON_CONFIG_PATH)");
  cmd->add_flag("--json", o.json, "Print JSON instead of text");
  cmd->add_option("--timeout", o.timeoutMs, "Connect and request timeout, ms")->check(CLI::Range(1, 3'600'000));
}

Result<ClientOptions> resolveClientOptions(const CommonOptions& o) {
  auto env = config::processEnvironment();
  ClientOptions out;
  out.timeout = std::chrono::milliseconds(o.timeoutMs);
  out.url = !o.url.empty() ? o.url : config::envTrimmed(env, "TALON_GATEWAY_URL");
  out.token = !o.token.empty() ? o.token : config::envTrimmed(env, "TALON_GATEWAY_TOKEN");
  std::string password = !o.password.empty() ? o.password : config::envTrimmed(env, "TALON_GATEWAY_PASSWORD");
  if (!password.empty()) {
    out.token = password;
    out.usePassword = true;
  }
  if (!out.url.empty() && !out.token.empty()) return out;

  // Fall back to the local gateway's config and state: its port and its secret.
  config::LoadOptions lo;
  if (!o.configPath.empty()) lo.configPath = std::filesystem::path(o.configPath);
  lo.env = env;
  auto loaded = config::loadConfig(lo);
  int port = 18789;
  if (auto p = config::envTrimmed(env, "TALON_GATEWAY_PORT"); !p.empty()) {
    port = std::atoi(p.c_str());
  } else if (loaded) {
    port = loaded->config.gateway.port;
  }
  if (out.url.empty()) out.url = "ws://127.0.0.1:" + std::to_string(port);
  if (out.token.empty() && loaded) {
    if (loaded->config.gateway.auth.tokenRef || loaded->config.gateway.auth.passwordRef) {
      security::LogAuditSink audit;  // file, exec or store refs: read as the gateway reads them
      resolveConfigRefs(loaded->config, env, config::resolveStateDir(env), audit, cliActor());
    }
    const auto& auth = loaded->config.gateway.auth;
    if (auth.mode == "password" && !auth.password.empty()) {
      out.token = auth.password;
      out.usePassword = true;
    } else if (!auth.token.empty()) {
      out.token = auth.token;
    }
  }
  if (out.token.empty()) {
    auto stored = readFile(config::resolveStateDir(env) / "gateway.token", 4096);
    if (stored) {
      out.token = *stored;
      while (!out.token.empty() && (out.token.back() == '\n' || out.token.back() == '\r')) out.token.pop_back();
    }
  }
  return out;
}

Result<std::unique_ptr<GatewayClient>> connectClient(const CommonOptions& o, std::vector<std::string> scopes) {
  auto options = resolveClientOptions(o);
  if (!options) return fail(options.error());
  options->scopes = std::move(scopes);
  return GatewayClient::connect(*options);
}

}  // namespace talon::cli
