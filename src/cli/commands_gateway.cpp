// talon gateway run
#include <spdlog/spdlog.h>

#include <iostream>
#include <optional>

#include "base/file_io.h"
#include "base/log.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/vault_access.h"
#include "config/config_loader.h"
#include "config/config_paths.h"
#include "config/config_redaction.h"
#include "gateway/gateway.h"
#include "gateway/live_config.h"
#include "security/audit_sink.h"

#ifndef TALON_VERSION
#define TALON_VERSION "0.1.0"
#endif

namespace talon::cli {
namespace {

struct RunOptions {
  std::string configPath;
  int port = -1;
  std::string portFile;
  std::string logLevel;  // empty: `logging.level`, else "info"
  int ioThreads = 0;
  double drainGraceSeconds = 10;
};

/// A start that failed: the full (internal) message on stderr and in the log — the operator's own
/// machine, so it names the path, address or holder and the OS reason —, and the error's exit code
/// (78 for kAlreadyExists: another gateway holds the state dir or the port).
int reportStartFailure(const Error& e) {
  spdlog::error("gateway did not start: {}", e.toString());
  std::cerr << "error: the gateway did not start: " << e.message << "\n";
  return ::talon::exitCode(e.code);
}

int runGateway(const RunOptions& o) {
  auto env = config::processEnvironment();
  auto stateDir = config::resolveStateDir(env);
  config::LoadOptions lo;
  if (!o.configPath.empty()) lo.configPath = std::filesystem::path(o.configPath);
  lo.env = env;
  auto loaded = config::loadConfig(lo);
  if (!loaded) {
    std::cerr << loaded.error().message << "\n";
    std::cerr << "error: the config is invalid; the gateway did not start (check it with `talon config validate`)\n";
    return ::talon::exitCode(loaded.error().code);
  }
  LogOptions logOptions;
  logOptions.level = !o.logLevel.empty()                     ? o.logLevel
                     : !loaded->config.logging.level.empty() ? loaded->config.logging.level
                                                             : "info";
  logOptions.file = stateDir / "logs" / "talon.log";
  if (auto s = initLogging(logOptions); !s) return reportStartFailure(s.error());
  for (const auto& w : loaded->warnings) spdlog::warn("config: {}", w.toString());
  if (loaded->omittedWarnings > 0) spdlog::warn("config: ... and {} more warnings", loaded->omittedWarnings);
  // File, exec and store secret refs are read now, before anything uses the config (OpenClaw resolves
  // refs eagerly at activation); a failure names the ref and never its value.
  security::BufferingAuditSink secretAudit;  // appended to the audit chain once the store is open
  resolveConfigRefs(loaded->config, env, stateDir, secretAudit, "system");
  if (auto s = config::requireGatewayAuthSecret(loaded->config); !s) {
    spdlog::error("config: {}", s.error().message);
    std::cerr << "error: " << s.error().message << "; the gateway did not start\n";
    return ::talon::exitCode(s.error().code);
  }

  auto snapshot = gateway::makeConfigSnapshot(*loaded);

  gateway::GatewayOptions options;
  options.config = snapshot;
  options.startupAudit = secretAudit.take();
  options.configLoad = lo;
  options.configLoad.configPath = loaded->path;
  options.configFiles.push_back(loaded->path);
  options.configFiles.insert(options.configFiles.end(), loaded->includedFiles.begin(), loaded->includedFiles.end());
  options.logLevelPinned = !o.logLevel.empty();
  options.stateDir = stateDir;
  options.version = TALON_VERSION;
  options.drainGrace = std::chrono::milliseconds(static_cast<int64_t>(o.drainGraceSeconds * 1000));
  options.ioThreads = o.ioThreads;
  const auto& auth = loaded->config.gateway.auth;
  std::optional<gateway::GeneratedToken> generated;
  if ((auth.mode.empty() || auth.mode == "token") && auth.token.empty()) {
    auto token = gateway::loadOrGenerateGatewayToken(stateDir);
    if (!token) return reportStartFailure(token.error());
    options.fallbackToken = token->token;
    generated = std::move(*token);
  }
  if (o.port >= 0) {
    options.port = o.port;
  } else if (auto p = config::envTrimmed(env, "TALON_GATEWAY_PORT"); !p.empty()) {
    options.port = std::atoi(p.c_str());
  }
  auto gw = gateway::Gateway::create(options);
  if (!gw) return reportStartFailure(gw.error());
  // Saved and shown only now that the gateway holds its lock and port.
  if (generated && generated->created) {
    if (auto s = gateway::saveGeneratedGatewayToken(*generated); !s) return reportStartFailure(s.error());
    std::cout << "generated a gateway token (shown once; saved 0600 to " << generated->path.string() << "):\n  "
              << generated->token << "\n";
  }
  auto port = (*gw)->port();
  std::string where;
  for (const auto& a : (*gw)->bindAddresses()) {
    if (!where.empty()) where += ", ";
    where += a.find(':') != std::string::npos ? "[" + a + "]" : a;
  }
  spdlog::info("talon {} gateway listening on ws://{}:{} (config {}{}, state {})", TALON_VERSION,
               (*gw)->bindAddresses()[0].find(':') != std::string::npos ? "[" + (*gw)->bindAddresses()[0] + "]"
                                                                        : (*gw)->bindAddresses()[0],
               port, snapshot->path, snapshot->exists ? "" : " (absent: defaults)", stateDir.string());
  std::cout << "talon gateway listening on " << where << " port " << port << std::endl;
  if (!o.portFile.empty()) {
    // A rendezvous for scripts and tests: atomic (never half-written) but not fsynced, so publishing the
    // port does not wait for the disk.
    if (auto s = writeFileAtomic(o.portFile, std::to_string(port) + "\n", 0644, FileDurability::kAtomicOnly); !s)
      return reportError(s.error());
  }
  auto s = (*gw)->run();
  if (!s) return reportError(s.error());
  return 0;
}

}  // namespace

void registerGatewayCommands(CLI::App& app, int& /*exitCode: runAfterParse returns the result*/) {
  auto* gw = app.add_subcommand("gateway", "Run the gateway daemon");
  gw->require_subcommand(1);
  auto o = std::make_shared<RunOptions>();
  auto* run = gw->add_subcommand("run", "Serve the gateway (HTTP and WebSocket on one port) until SIGINT/SIGTERM");
  run->add_option("--config", o->configPath, "Config file (env TALON_CONFIG_PATH; default <stateDir>/talon.json)");
  run->add_option("--port", o->port,
                  "Listening port, 0 for any free port (env TALON_GATEWAY_PORT; default gateway.port or 18789)")
      ->check(CLI::Range(0, 65535));
  run->add_option("--port-file", o->portFile, "Write the bound port to this file once listening");
  run->add_option("--log-level", o->logLevel, "trace, debug, info, warn, error (default: logging.level, else info)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  run->add_option(
         "--io-threads", o->ioThreads,
         "I/O threads (default: the CPUs this process may use: its affinity mask, bounded by a cgroup CPU limit)")
      ->check(CLI::Range(0, 256));
  run->add_option("--drain-grace", o->drainGraceSeconds,
                  "Seconds running agent turns may still take after SIGTERM/SIGINT before they are aborted "
                  "(default 10)")
      ->check(CLI::Range(0.0, 3600.0));
  // Run once the parser is gone: the gateway runs for hours, the parser's option tree is never used again.
  run->callback([o] { runAfterParse([o] { return runGateway(*o); }); });
}

}  // namespace talon::cli
