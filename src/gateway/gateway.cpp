#include "gateway/gateway.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdlib>
#include <thread>

#include "base/cpu_count.h"
#include "base/file_io.h"
#include "base/ids.h"
#include "base/log.h"
#include "config/config_writer.h"
#include "config/gateway_exposure.h"
#include "config/model_selection.h"
#include "config/reload_plan.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/agent/run_observer.h"
#include "gateway/agent/run_replay.h"
#include "gateway/automation/cron_service.h"
#include "gateway/automation/heartbeat_service.h"
#include "gateway/automation/webhook_sender.h"
#include "gateway/channels/channel_manager.h"
#include "gateway/channels/channel_registry.h"
#include "gateway/channels/channel_set.h"
#include "gateway/channels/inbound_interceptors.h"
#include "gateway/channels/inbound_router.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/chat_commands/builtin_chat_commands.h"
#include "gateway/client_session.h"
#include "gateway/gateway_lock.h"
#include "gateway/health/alert_router.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"
#include "gateway/health/provider_health.h"
#include "gateway/health/store_write_monitor.h"
#include "gateway/health/synthetic_probes.h"
#include "gateway/http/builtin_routes.h"
#include "gateway/idempotency_pruner.h"
#include "gateway/lazy_thread_pool.h"
#include "gateway/live_config.h"
#include "gateway/methods/builtin_methods.h"
#include "gateway/methods/health_methods.h"
#include "gateway/methods/rpc_metrics.h"
#include "gateway/operator_token_watch.h"
#include "gateway/providers/model_discovery.h"
#include "gateway/providers/provider_identity.h"
#include "gateway/providers/provider_registry.h"
#include "gateway/routing/access_gate.h"
#include "gateway/tools/tool_registry.h"
#include "gateway/trace_intake.h"
#include "net/http_client.h"
#include "net/http_router.h"
#include "protocol/constants.h"
#include "protocol/frames.h"
#include "security/audit_chain.h"
#include "security/audit_sink.h"
#include "security/audited_authenticator.h"
#include "security/auth_rate_limiter.h"
#include "security/device_authenticator.h"
#include "security/operator_token_authenticator.h"
#include "security/shared_secret_authenticator.h"
#include "security/trusted_proxy_authenticator.h"
#include "store/sqlite_store.h"

namespace talon::gateway {
namespace asio = boost::asio;

namespace {

/// Bound of the start-up inventory of the discovering providers' /api/tags query (OpenClaw
/// OLLAMA_TAGS_TIMEOUT_MS).
constexpr std::chrono::seconds kModelDiscoveryStartTimeout{5};

/// Whether the cron scheduler runs: cron.enabled, unless TALON_SKIP_CRON or OPENCLAW_SKIP_CRON is "1"
/// (OpenClaw's kill switch).
bool cronEnabled(const config::CronConfig& cron) {
  for (const char* name : {"TALON_SKIP_CRON", "OPENCLAW_SKIP_CRON"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && std::string_view(v) == "1") return false;
  }
  return cron.enabled;
}

/// The agent a cron job without agentId runs as: the sole agent, else the first configured one.
std::string cronDefaultAgent(const AgentDirectory& agents) {
  if (!agents.defaultAgentId().empty()) return agents.defaultAgentId();
  const auto& ids = agents.roster().agentIds();
  return ids.empty() ? std::string("main") : ids.front();
}

/// Listening addresses for `gateway.bind` (OpenClaw: loopback = 127.0.0.1 and ::1; lan/auto = every
/// interface; custom = customBindHost).
Result<std::vector<std::string>> bindAddressesFor(const config::GatewayConfig& g) {
  if (g.bind == "loopback") return std::vector<std::string>{"127.0.0.1", "::1"};
  if (g.bind == "lan" || g.bind == "auto") return std::vector<std::string>{"0.0.0.0"};
  if (g.bind == "custom") {
    if (g.customBindHost.empty()) {
      return fail(ErrorCode::kConfigInvalid, "gateway.bind is \"custom\" but gateway.customBindHost is empty",
                  "gateway.bind is \"custom\" but gateway.customBindHost is empty");
    }
    return std::vector<std::string>{g.customBindHost};
  }
  return fail(notSupportedYet("gateway.bind \"" + g.bind + "\""));
}

/// A TimerHandle over an Asio steady timer on its own strand, so cancel() from any thread is safe and
/// frees the timer (and its task) at once instead of at expiry.
struct AsioTimer final : TimerHandle, std::enable_shared_from_this<AsioTimer> {
  AsioTimer(asio::io_context& io, std::chrono::milliseconds delay) : timer(asio::make_strand(io), delay) {}
  void cancel() override {
    asio::dispatch(timer.get_executor(), [self = shared_from_this()] { self->timer.cancel(); });
  }
  asio::steady_timer timer;
};

/// How often the audit checkpoint (head hash and count) is written while records are appended.
constexpr std::chrono::seconds kAuditCheckpointInterval{60};
/// The failed-auth limiter's counters (security/auth_rate_limiter.h), by outcome: "failed" (wrong or
/// missing credentials), "locked_out" (a failure that started a lockout), "rate_limited" (an attempt
/// refused unchecked during a lockout).
constexpr health::MetricSpec kAuthMetrics[] = {
    {"talon_gateway_auth_failures_total",
     health::MetricType::kCounter,
     "Refused authentication attempts (WebSocket connect and HTTP), by outcome.",
     {"outcome"}},
};

// Talon-only spending limits (docs/providers.md "Spending limits").
constexpr health::MetricSpec kSpendLimitMetrics[] = {
    {"talon_spend_limit_refusals_total",
     health::MetricType::kCounter,
     "Turns refused because the agent reached a spending limit (agents.*.spendLimit), by agent and period.",
     {"agent", "period"}},
};

// Talon-only routing policy (docs/providers.md "Routing").
constexpr health::MetricSpec kRoutingMetrics[] = {
    {"talon_model_routing_decisions_total",
     health::MetricType::kCounter,
     "Routing decisions of turns whose agent has a routing strategy (agents.*.routing), by agent, strategy and "
     "result: primary (the primary leads), fallback (a fallback was moved first), bypassed (strict model or "
     "override).",
     {"agent", "strategy", "result"}},
};

constexpr health::MetricSpec kCompactionMetrics[] = {
    {"talon_compactions_total",
     health::MetricType::kCounter,
     "Compactions of a session's history (agents.defaults.compaction), by reason (threshold, overflow, manual) "
     "and outcome (ok, failed, noop).",
     {"reason", "outcome"}},
};

bool isLoopbackAddress(const std::string& a) { return a == "::1" || a.rfind("127.", 0) == 0 || a == "localhost"; }

/// Marks the runs a previous process left "running" (it crashed or was killed) as aborted.
Status abortStaleRuns(store::Store& store, int64_t nowMs) {
  auto stale = store.runs().listWithStatus(store::RunStatus::kRunning);
  if (!stale) return fail(stale.error());
  if (stale->empty()) return {};
  store::WriteBatch batch;
  for (auto run : *stale) {
    run.status = store::RunStatus::kAborted;
    run.errorCode = "ABORTED";
    run.errorMessage = "the gateway stopped while the run was in progress";
    run.endedAtMs = nowMs;
    store::RunRepository::upsert(batch, std::move(run));
  }
  spdlog::warn("marking {} run(s) left running by the previous process as aborted", batch.size());
  if (auto s = store.write(std::move(batch)); !s)
    spdlog::error("cannot mark stale runs aborted: {}", s.error().toString());
  return {};
}

/// Each agent's profile; creates the workspaces. Errors: kIo when a workspace cannot be created.
Result<std::vector<AgentProfile>> agentProfiles(const config::TalonConfig& cfg, const routing::AgentRoster& roster,
                                                const std::filesystem::path& stateDir) {
  const std::string defaultAgentId = roster.soleAgentId().value_or("");
  std::vector<AgentProfile> agents;
  std::error_code ec;
  for (const auto& id : roster.agentIds()) {
    AgentProfile a;
    a.id = id;
    const config::AgentEntryConfig* entry = nullptr;
    for (const auto& e : cfg.agents.entries) {
      if (e.id == id) entry = &e;
    }
    if (entry) a.name = entry->name;
    if (entry && !entry->workspace.empty()) {
      a.workspace = entry->workspace;
    } else if (!cfg.agents.defaults.workspace.empty()) {
      a.workspace = std::filesystem::path(cfg.agents.defaults.workspace) / id;
    } else {
      a.workspace = id == defaultAgentId || (defaultAgentId.empty() && id == "main") ? stateDir / "workspace"
                                                                                     : stateDir / ("workspace-" + id);
    }
    if (a.workspace.is_relative()) a.workspace = std::filesystem::absolute(a.workspace);
    std::filesystem::create_directories(a.workspace, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot create workspace " + a.workspace.string() + ": " + ec.message());
    a.workspace = std::filesystem::canonical(a.workspace, ec);
    auto selection = config::agentModelSelection(cfg, id);
    a.model = selection.primary;
    a.fallbacks = selection.fallbacks;
    std::vector<std::string> refs{a.model};
    refs.insert(refs.end(), a.fallbacks.begin(), a.fallbacks.end());
    for (const auto& ref : refs) {
      if (ref.empty()) continue;
      config::ModelParams p = config::effectiveModelParams(cfg, id, ref);
      if (p.temperature || p.maxTokens) a.params[ref] = ModelCallParams{p.temperature, p.maxTokens};
    }
    for (const auto& ref : refs) {
      auto slash = ref.find('/');
      if (slash == std::string::npos) continue;
      for (const auto& p : cfg.providers) {
        if (p.id != ref.substr(0, slash)) continue;
        for (const auto& m : p.models) {
          if (m.id == ref.substr(slash + 1) && m.contextWindow) a.contextWindows[ref] = *m.contextWindow;
        }
      }
    }
    const config::CompactionConfig& compaction = cfg.agents.defaults.compaction;
    a.compaction = compactionSettings(compaction);
    if (!compaction.model.empty()) {
      // A bare alias resolves as a model ref does (OpenClaw: aliases before literal ids of the provider).
      auto resolved = config::resolveModelRef(cfg, id, compaction.model);
      a.compaction.model = resolved ? resolved->ref : compaction.model;
    }
    const config::SpendLimitConfig& limits = cfg.agents.defaults.spendLimit;
    a.dailySpendLimitUsd = entry && entry->spendLimit.dailyUsd ? entry->spendLimit.dailyUsd : limits.dailyUsd;
    a.monthlySpendLimitUsd = entry && entry->spendLimit.monthlyUsd ? entry->spendLimit.monthlyUsd : limits.monthlyUsd;
    a.routing = effectiveRoutingPolicy(cfg.agents.defaults.routing, entry ? &entry->routing : nullptr);
    agents.push_back(std::move(a));
  }
  return agents;
}

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

class Gateway::Impl {
 public:
  /// `ioThreads`: how many threads will run `io`. With one, Asio is told so (concurrency hint 1): a
  /// handler posted from that thread then goes to its private queue without the scheduler's lock. Other
  /// threads may still post to `io`.
  explicit Impl(int ioThreads) : io(ioThreads == 1 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT) {}

  /// First member: released last, after everything that uses the state dir is gone.
  std::unique_ptr<GatewayLock> lock;
  GatewayOptions options;
  asio::io_context io;
  std::unique_ptr<asio::thread_pool> workers;
  // Started by the first tool call: a gateway whose agents call no tools runs no tool threads.
  std::unique_ptr<LazyThreadPool> toolWorkers;
  Executors executors;
  ClockPtr clock = SystemClock::instance();
  store::StorePtr store;
  EventBus bus;
  std::unique_ptr<AgentRunner> runner;
  GatewayInfo info;
  std::unique_ptr<AgentDirectory> agents;
  /// The bottom of the chain: the shared secret (modes token, password, none), or the trusted proxy
  /// (mode trusted-proxy); exactly one is set.
  std::unique_ptr<security::SharedSecretAuthenticator> auth;
  std::unique_ptr<security::TrustedProxyAuthenticator> proxyAuth;
  /// Named operator tokens (security/operator_token_authenticator.h); wraps auth.
  std::unique_ptr<security::OperatorTokenAuthenticator> operatorTokenAuth;
  std::unique_ptr<security::DeviceAuthenticator> deviceAuth;  // wraps operatorTokenAuth
  /// The durable audit log (security/audit_chain.h); `audit` is it, or the log-line sink until the
  /// store is open. `auditedAuth` wraps `auth` so that every auth decision is recorded.
  std::shared_ptr<security::ChainedAuditSink> auditChain;
  security::AuditSinkPtr audit = std::make_shared<security::LogAuditSink>();
  std::unique_ptr<security::AuditedAuthenticator> auditedAuth;
  std::unique_ptr<asio::steady_timer> auditCheckpointTimer;
  /// What every caller is authenticated by: the chain shared secret → operator tokens → device identity
  /// → audit, behind the failed-auth rate limit.
  std::unique_ptr<security::RateLimitedAuthenticator> limitedAuth;
  PresenceRegistry presence;
  CachedPayload health;
  health::MetricsRegistry metrics;
  std::unique_ptr<health::HealthRegistry> healthRecords;
  std::unique_ptr<LiveConfig> liveConfig;
  std::unique_ptr<RunObserver> runObserver;
  std::unique_ptr<health::ProviderHealth> providerHealth;
  /// Set when something the `health` payload shows may have changed (a run ended, a health record
  /// changed); the periodic refresh rebuilds the payload only then.
  std::atomic<bool> healthDirty{true};
  int refreshesSkipped = 0;  // on the health timer's handler only
  GatewayState state;
  /// Idempotency keys in memory, and the pass that forgets the store's once their TTL has passed
  /// (gateway.idempotency.ttlSeconds).
  std::unique_ptr<RunRegistry> runs;
  std::unique_ptr<IdempotencyPruner> idempotencyPruner;
  /// Closes the connections of named operator tokens revoked (by `talon tokens revoke`) or expired.
  std::unique_ptr<OperatorTokenWatch> operatorTokenWatch;
  methods::MethodRegistry methods;
  methods::RpcMetricsPtr rpcMetrics;  // after `methods`: its series are keyed by their definitions
  TraceIntakePtr traces;
  net::HttpRouter router;
  std::unique_ptr<ConnectionDeps> connectionDeps;
  channels::ChannelRegistry channelFactories;
  std::unique_ptr<routing::AccessGate> accessGate;
  channels::ChannelSet channels;
  /// The outbox (before `inbound`, which sends through it).
  std::unique_ptr<channels::OutboundDispatcher> outbound;
  /// The inbound path's hook (channel probes' replies), asked by `inbound` before the access gate.
  channels::InboundInterceptors inboundInterceptors;
  /// The chat commands (`/compact`, …) of the inbound channel path and chat.send.
  chat_commands::ChatCommandRegistry chatCommands;
  std::unique_ptr<channels::InboundRouter> inbound;
  /// Cron: webhook deliveries and alerts, and the scheduler (started by run() unless cron is off).
  std::unique_ptr<automation::WebhookSender> webhooks;
  /// gateway.alerts: where escalations go (before cron, the heartbeats and `channelRuntime`, which hold
  /// a pointer to it).
  std::unique_ptr<health::AlertRouter> alerts;
  std::unique_ptr<automation::CronService> cron;
  /// Replays of recorded runs (agent/run_replay.h; the runs.replay method).
  std::unique_ptr<RunReplayer> replayer;
  /// gateway.probes (health/synthetic_probes.h).
  std::unique_ptr<health::SyntheticProbes> probes;
  /// Heartbeats (automation/heartbeat_service.h): started by run() with the cron scheduler.
  std::unique_ptr<automation::HeartbeatService> heartbeat;
  /// Live model inventories for models.list (providers/model_discovery.h).
  std::shared_ptr<ModelDiscovery> modelDiscovery;
  /// Runs the configured channel accounts (started by run(), stopped after the turns drained).
  std::unique_ptr<channels::ChannelManager> channelRuntime;
  net::ServerPtr server;
  std::vector<std::string> addresses;
  std::unique_ptr<asio::steady_timer> healthTimer;
  std::unique_ptr<asio::steady_timer> tickTimer;
  std::unique_ptr<asio::steady_timer> reloadTimer;
  std::atomic<bool> reloadPolling{false};
  std::unique_ptr<asio::signal_set> signals;
  std::atomic<bool> healthRefreshing{false};

  GatewayServices services() {
    return GatewayServices{info,
                           options.config,
                           *agents,
                           *store,
                           *runner,
                           *runs,
                           bus,
                           presence,
                           health,
                           *limitedAuth,
                           *audit,
                           state,
                           channels,
                           metrics,
                           *healthRecords,
                           [this]() { return server ? server->stats() : net::ServerStats{}; },
                           executors,
                           clock,
                           *liveConfig,
                           *channelRuntime,
                           outbound.get(),
                           traces.get(),
                           cron.get(),
                           replayer.get(),
                           heartbeat.get(),
                           modelDiscovery.get(),
                           &chatCommands};
  }
  methods::HealthDeps healthDeps() { return methods::HealthDeps::from(services()); }

  void scheduleHealthRefresh() {
    healthTimer->expires_after(std::chrono::seconds(2));
    healthTimer->async_wait([this](const boost::system::error_code& ec) {
      if (ec || state.stopping) return;
      refreshHealth();
      scheduleHealthRefresh();
    });
  }
  /// Every 2 s: rebuilds the `health` payload (and publishes it) when something it shows may have
  /// changed, and at least every 30 s so a store that stopped answering is noticed without traffic.
  void refreshHealth() {
    bool due = ++refreshesSkipped >= 15;
    if (!healthDirty.exchange(false) && !due) return;
    refreshesSkipped = 0;
    if (healthRefreshing.exchange(true)) {
      healthDirty = true;
      return;
    }
    asio::post(*workers, [this] {
      auto snapshot = methods::buildHealthPayload(healthDeps());
      healthRecords->set({"store", "reads",
                          snapshot.storeReachable ? health::HealthState::kOk : health::HealthState::kFailed,
                          snapshot.storeReachable ? "" : "the session counts cannot be read", true});
      health.set(snapshot.payloadJson);
      bus.publish(GatewayEvent{"health", {}, {}, std::make_shared<const std::string>(std::move(snapshot.payloadJson))});
      healthRefreshing = false;
    });
  }
  /// Every 60 s: writes the audit checkpoint (on a worker: a store read and an fsync) when records were
  /// committed since the last one.
  void scheduleAuditCheckpoint() {
    auditCheckpointTimer->expires_after(kAuditCheckpointInterval);
    auditCheckpointTimer->async_wait([this](const boost::system::error_code& ec) {
      if (ec || state.stopping) return;
      asio::post(*workers, [this] { writeAuditCheckpoint(); });
      scheduleAuditCheckpoint();
    });
  }
  void writeAuditCheckpoint() {
    if (auto s = auditChain->writeCheckpoint(); !s) spdlog::error("audit checkpoint: {}", s.error().toString());
  }
  /// Every second: one step of the config file watcher (LiveConfig::poll) on the worker pool; a step
  /// still running skips the next.
  void scheduleReloadPoll() {
    reloadTimer->expires_after(std::chrono::seconds(1));
    reloadTimer->async_wait([this](const boost::system::error_code& ec) {
      if (ec || state.stopping) return;
      if (!reloadPolling.exchange(true)) {
        asio::post(*workers, [this] {
          liveConfig->poll();
          reloadPolling = false;
        });
      }
      scheduleReloadPoll();
    });
  }
  void scheduleTick() {
    tickTimer->expires_after(std::chrono::milliseconds(protocol::kTickIntervalMs));
    tickTimer->async_wait([this](const boost::system::error_code& ec) {
      if (ec || state.stopping) return;
      bus.publish(GatewayEvent{
          "tick", {}, {}, std::make_shared<const std::string>("{\"ts\":" + std::to_string(clock->nowMs()) + "}")});
      scheduleTick();
    });
  }
};

Result<std::unique_ptr<Gateway>> Gateway::create(GatewayOptions options) {
  const int cpus = usableCpuCount();  // affinity mask and cgroup CPU limit, not the machine's CPUs
  const int ioThreads = options.ioThreads > 0 ? options.ioThreads : cpus;  // threads that run the io_context
  auto impl = std::make_unique<Impl>(ioThreads);
  if (options.clock) impl->clock = options.clock;
  const auto& cfg = options.config->config;

  auto addresses = bindAddressesFor(cfg.gateway);
  if (!addresses) return fail(addresses.error());
  if (cfg.gateway.auth.mode == "trusted-proxy") {
    auto proxyAuth = security::TrustedProxyAuthenticator::create(cfg.gateway.auth, cfg.gateway.trustedProxies);
    if (!proxyAuth) return fail(proxyAuth.error());
    impl->proxyAuth = std::move(*proxyAuth);
  } else {
    auto auth = security::SharedSecretAuthenticator::create(cfg.gateway.auth, options.fallbackToken);
    if (!auth) return fail(auth.error());
    impl->auth = std::move(*auth);
  }
  bool loopbackOnly = true;
  for (const auto& a : *addresses) loopbackOnly = loopbackOnly && isLoopbackAddress(a);
  if (impl->proxyAuth) {
    // Config validation checked the optional local password; nothing else here is a secret.
  } else if (!loopbackOnly && impl->auth->mode() == security::AuthMode::kNone) {
    return fail(ErrorCode::kFailedPrecondition,
                "refusing to bind a non-loopback address without token or password auth",
                "refusing to bind " + (*addresses)[0] +
                    " without auth: set gateway.auth.mode to \"token\" or \"password\" (or bind \"loopback\")");
  }
  if (!loopbackOnly && impl->auth) {
    // Config validation refuses a weak configured secret already; this also covers the fallback token.
    const auto& a = cfg.gateway.auth;
    std::string_view secret = impl->auth->mode() == security::AuthMode::kPassword ? std::string_view(a.password)
                              : a.token.empty() ? std::string_view(options.fallbackToken)
                                                : std::string_view(a.token);
    if (auto weak = config::exposedSecretWeakness(secret)) {
      return fail(ErrorCode::kFailedPrecondition, "refusing to bind " + (*addresses)[0] + " with a weak gateway " +
                                                      std::string(security::authModeName(impl->auth->mode())) + ": " +
                                                      *weak);
    }
  }

  // The state dir and its lock: one gateway per state dir (gateway_lock.h).
  std::error_code ec;
  std::filesystem::create_directories(options.stateDir, ec);
  if (ec) {
    return fail(ErrorCode::kIo, "cannot create the state dir " + options.stateDir.string() + ": " + ec.message());
  }
  ::chmod(options.stateDir.c_str(), 0700);
  if (::access(options.stateDir.c_str(), W_OK | X_OK) != 0) {
    return fail(ErrorCode::kIo, "the state dir " + options.stateDir.string() +
                                    " is not writable: " + std::error_code(errno, std::generic_category()).message());
  }
  auto lock =
      GatewayLock::acquire(options.stateDir, {static_cast<int64_t>(::getpid()), SystemClock::instance()->nowMs(), 0});
  if (!lock) return fail(lock.error());
  impl->lock = std::move(*lock);

  // The listening sockets, before anything else has side effects (a port in use fails here). Nothing
  // is accepted before run(): the handlers only run on the io_context.
  auto* implp = impl.get();
  auto* io = &impl->io;
  net::ServerOptions serverOptions;
  serverOptions.singleIoThread = ioThreads == 1;
  auto proxies = net::TrustedProxies::parse(cfg.gateway.trustedProxies);
  if (!proxies) return fail(proxies.error());
  serverOptions.trustedProxies = std::move(*proxies);
  serverOptions.allowRealIpFallback = cfg.gateway.allowRealIpFallback;
  serverOptions.bindAddresses = *addresses;
  serverOptions.port = static_cast<uint16_t>(options.port.value_or(cfg.gateway.port));
  serverOptions.initialMaxWsMessageBytes = protocol::kPreConnectMaxPayloadBytes;
  net::ServerHandlers handlers;
  handlers.onHttp = [implp](net::HttpExchangePtr ex) { implp->router.dispatch(ex); };
  handlers.onWebSocket = [implp, io](net::WebSocketConnectionPtr conn,
                                     const net::HttpRequest& upgrade) -> net::WebSocketSessionPtr {
    UpgradeOrigin from{std::string(upgrade.header("Origin")), std::string(upgrade.header("Host")),
                       upgrade.remoteIsLoopback, upgrade.peerAddress};
    // Only trusted-proxy auth reads the upgrade request's headers (security::PeerOrigin::headers).
    if (implp->proxyAuth) from.headers = upgrade.headers;
    return ClientSession::start(*implp->connectionDeps, *io, std::move(conn), std::move(from));
  };
  auto server = net::Server::create(impl->io, serverOptions, handlers);
  if (!server && cfg.gateway.bind == "loopback" && server.error().code != ErrorCode::kAlreadyExists) {
    // A machine without IPv6 loopback still serves on 127.0.0.1. A port taken on [::1] is not that
    // case: serving on one loopback address only would send some local clients to the other program.
    spdlog::warn("cannot listen on [::1] ({}); serving on 127.0.0.1 only", server.error().message);
    serverOptions.bindAddresses = {"127.0.0.1"};
    server = net::Server::create(impl->io, serverOptions, handlers);
  }
  if (!server) return fail(server.error());
  impl->server = std::move(*server);
  impl->addresses = serverOptions.bindAddresses;
  if (auto s = impl->lock->setPort(impl->server->port()); !s) return fail(s.error());

  // Store.
  store::SqliteStoreOptions storeOptions;
  storeOptions.path = storePathFor(options.stateDir);
  auto store = store::openSqliteStore(storeOptions);
  if (!store) {
    Error e = store.error();
    e.message = "cannot open the store " + storeOptions.path.string() + ": " + e.message;
    return fail(std::move(e));
  }
  auto storeMonitor = std::make_unique<health::StoreWriteMonitor>(std::move(*store));
  auto* storeWrites = storeMonitor.get();
  impl->store = std::move(storeMonitor);
  if (auto s = abortStaleRuns(*impl->store, impl->clock->nowMs()); !s) return fail(s.error());
  security::ChainedAuditSinkOptions auditOptions;
  auditOptions.checkpointPath = security::auditCheckpointPath(options.stateDir);
  auditOptions.clock = impl->clock;
  auto auditChain = security::ChainedAuditSink::create(*impl->store, auditOptions);
  if (!auditChain) return fail(auditChain.error());
  impl->auditChain = *auditChain;
  impl->audit = impl->auditChain;
  for (auto& event : options.startupAudit) impl->audit->record(std::move(event));
  options.startupAudit.clear();
  // Trusted-proxy mode has no named operator tokens in its chain: token auth beside it is refused.
  const security::Authenticator* credentials = impl->proxyAuth.get();
  if (impl->auth) {
    impl->operatorTokenAuth = std::make_unique<security::OperatorTokenAuthenticator>(
        *impl->auth, *impl->store, security::OperatorRoles::fromConfig(cfg.gateway.roles), impl->clock);
    credentials = impl->operatorTokenAuth.get();
  }
  impl->deviceAuth =
      std::make_unique<security::DeviceAuthenticator>(*credentials, *impl->store, *impl->audit, impl->clock);
  impl->auditedAuth = std::make_unique<security::AuditedAuthenticator>(*impl->deviceAuth, *impl->audit);

  // Threads (ioThreads: at the top).
  int workerThreads = options.workerThreads > 0 ? options.workerThreads : 4;
  impl->workers = std::make_unique<asio::thread_pool>(workerThreads);
  auto* workers = impl->workers.get();
  // When its threads cannot be started, a tool call runs on the worker pool rather than failing.
  impl->toolWorkers =
      std::make_unique<LazyThreadPool>(workerThreads, [workers](Task t) { asio::post(*workers, std::move(t)); });
  auto* toolWorkers = impl->toolWorkers.get();
  Executors& executors = impl->executors;
  executors.io = [io](Task t) { asio::post(*io, std::move(t)); };
  executors.blocking = [workers](Task t) { asio::post(*workers, std::move(t)); };
  executors.tools = [toolWorkers](Task t) { toolWorkers->post(std::move(t)); };
  executors.after = [io](std::chrono::milliseconds delay, Task t) -> TimerHandlePtr {
    auto timer = std::make_shared<AsioTimer>(*io, delay);
    timer->timer.async_wait([timer, t = std::move(t)](const boost::system::error_code& ec) {
      if (!ec) t();
    });
    return timer;
  };
  const int64_t idempotencyTtlMs = cfg.gateway.idempotency.ttlSeconds * 1000;
  impl->runs = std::make_unique<RunRegistry>(1024, impl->clock, idempotencyTtlMs);
  impl->idempotencyPruner = std::make_unique<IdempotencyPruner>(*impl->store, executors, impl->clock, idempotencyTtlMs);
  impl->operatorTokenWatch =
      std::make_unique<OperatorTokenWatch>(*impl->store, impl->presence, *impl->audit, executors, impl->clock);

  // Providers, by api.
  ProviderRegistry providerFactories;
  if (auto s = registerBuiltinProviders(providerFactories); !s) return fail(s.error());
  ProviderContext providerContext{net::HttpClient::create(impl->io), impl->clock};
  impl->modelDiscovery = std::make_shared<ModelDiscovery>(providerContext.http, impl->clock);
  std::map<std::string, ModelProviderPtr> providers;
  std::map<std::string, ProviderIdentity> providerIdentities;
  for (const auto& p : cfg.providers) {
    providerIdentities.emplace(p.id, providerIdentity(p));
    if (!p.apiKeyUnavailable.empty()) spdlog::warn("model provider {}: {}", p.id, p.apiKeyUnavailable);
    auto provider = providerFactories.create(p, providerContext);
    if (!provider) return fail(provider.error());
    providers.emplace(p.id, std::move(*provider));
  }
  // Auth profiles (OpenClaw auth.profiles / auth.order): one provider instance per credential.
  std::vector<AuthProfile> authProfiles;
  for (const auto& p : cfg.providers) {
    for (const config::AuthProfileConfig* profile : authProfileOrder(cfg.auth, p.id)) {
      config::ProviderConfig withKey = p;
      if (!profile->secret.empty()) {
        withKey.apiKey = profile->secret;
        withKey.apiKeyUnavailable.clear();
      }
      auto provider = providerFactories.create(withKey, providerContext);
      if (!provider) return fail(provider.error());
      authProfiles.push_back(AuthProfile{profile->id, p.id, std::move(*provider)});
    }
  }
  for (const auto& profile : cfg.auth.profiles) {
    if (!profile.unavailable.empty()) {
      spdlog::warn("auth profile {}: credential unavailable, skipped: {}", profile.id, profile.unavailable);
    } else if (std::none_of(cfg.providers.begin(), cfg.providers.end(),
                            [&](const config::ProviderConfig& p) { return p.id == profile.provider; })) {
      spdlog::warn("auth profile {}: provider \"{}\" is not configured; the profile is unused", profile.id,
                   profile.provider);
    }
  }
  auto authProfilePool = AuthProfilePool::create(std::move(authProfiles), impl->clock, impl->audit.get());
  if (!authProfilePool) return fail(authProfilePool.error());
  if (auto s = persistAuthProfileState(**authProfilePool, *impl->store); !s) return fail(s.error());

  // Agents and their workspaces.
  auto roster = routing::AgentRoster::fromConfig(cfg.agents);
  auto profiles = agentProfiles(cfg, roster, options.stateDir);
  if (!profiles) return fail(profiles.error());
  std::map<std::string, std::vector<std::string>> modelChains;  // for cron's local-endpoint preflight
  for (const auto& a : *profiles) {
    std::vector<std::string>& chain = modelChains[a.id];
    chain.push_back(a.model);
    chain.insert(chain.end(), a.fallbacks.begin(), a.fallbacks.end());
  }
  impl->agents = std::make_unique<AgentDirectory>(roster, *profiles);
  impl->healthRecords = std::make_unique<health::HealthRegistry>(impl->clock);
  impl->healthRecords->set({"gateway", "startup", health::HealthState::kUnknown, "starting", true});
  impl->healthRecords->set({"store", "reads", health::HealthState::kOk, "", true});
  if (auto s = storeWrites->attach(*impl->healthRecords, impl->metrics); !s) return fail(s.error());
  auto authCounters = impl->metrics.add(kAuthMetrics);
  if (!authCounters) return fail(authCounters.error());
  auto failed = *(*authCounters)[0]->counter({"failed"});
  auto lockedOut = *(*authCounters)[0]->counter({"locked_out"});
  auto rateLimited = *(*authCounters)[0]->counter({"rate_limited"});
  impl->limitedAuth = std::make_unique<security::RateLimitedAuthenticator>(
      *impl->auditedAuth, cfg.gateway.auth.rateLimit, impl->clock, *impl->audit,
      [failed, lockedOut, rateLimited](security::AuthAttemptOutcome o) mutable {
        switch (o) {
          case security::AuthAttemptOutcome::kFailed:
            failed.inc();
            break;
          case security::AuthAttemptOutcome::kLockedOut:
            failed.inc();
            lockedOut.inc();
            break;
          case security::AuthAttemptOutcome::kRateLimited:
            rateLimited.inc();
            break;
        }
      });
  impl->healthRecords->subscribe([implp](const health::HealthChange&) { implp->healthDirty = true; });
  auto traces = TraceIntake::create(impl->metrics);
  if (!traces) return fail(traces.error());
  impl->traces = std::move(*traces);
  auto toolRegistry = std::make_shared<tools::ToolRegistry>();
  if (auto s = tools::registerBuiltinTools(*toolRegistry); !s) return fail(s.error());
  auto runObserver = RunObserver::create(impl->metrics, *impl->healthRecords, toolRegistry->names());
  if (!runObserver) return fail(runObserver.error());
  impl->runObserver = std::move(*runObserver);
  auto providerHealth = health::ProviderHealth::create(impl->metrics, *impl->healthRecords, impl->clock, {});
  if (!providerHealth) return fail(providerHealth.error());
  impl->providerHealth = std::move(*providerHealth);
  AgentRunnerOptions runnerOptions;
  if (cfg.agents.defaults.maxConcurrent > 0) {
    runnerOptions.maxConcurrent = cfg.agents.defaults.maxConcurrent;
  } else {
    runnerOptions.maxConcurrent = std::max(8, cpus * 4);
  }
  if (cfg.agents.defaults.timeoutSeconds > 0) {
    runnerOptions.defaultTimeout = std::chrono::milliseconds(cfg.agents.defaults.timeoutSeconds * 1000);
  }
  runnerOptions.drainGrace = options.drainGrace;
  runnerOptions.providerIdentities = std::move(providerIdentities);
  runnerOptions.authProfiles = std::move(*authProfilePool);
  auto spendMetrics = impl->metrics.add(kSpendLimitMetrics);
  if (!spendMetrics) return fail(spendMetrics.error());
  runnerOptions.onSpendLimitRefused = [implp, refusals = (*spendMetrics)[0]](const SpendLimitRefusal& r) {
    if (auto c = refusals->counter({r.agentId, r.period})) c->inc();
    security::AuditEvent event;
    event.kind = "agent.spend_limit";
    event.actor = "system";
    event.target = r.agentId;
    event.outcome = security::AuditOutcome::kDenied;
    event.details = {{"runId", r.runId},
                     {"period", r.period},
                     {"limitUsd", r.limitUsd},
                     {"spentUsd", r.spentUsd},
                     {"sinceMs", r.sinceMs}};
    implp->audit->record(std::move(event));
    spdlog::warn("run {}: refused, agent {} reached its {} spending limit ({} of {} USD)", r.runId, r.agentId, r.period,
                 r.spentUsd, r.limitUsd);
  };
  auto compactionMetrics = impl->metrics.add(kCompactionMetrics);
  if (!compactionMetrics) return fail(compactionMetrics.error());
  runnerOptions.onCompaction = [compactions = (*compactionMetrics)[0]](const CompactionReport& r) {
    if (auto c = compactions->counter({r.reason, r.outcome})) c->inc();
  };
  auto routingMetrics = impl->metrics.add(kRoutingMetrics);
  if (!routingMetrics) return fail(routingMetrics.error());
  runnerOptions.onRoutingDecision = [decisions = (*routingMetrics)[0]](const std::string& agentId,
                                                                       const RoutingDecision& d) {
    const std::string_view result = d.bypass != RoutingBypass::kNone                               ? "bypassed"
                                    : d.candidates.empty() || d.candidates.front().chainIndex == 0 ? "primary"
                                                                                                   : "fallback";
    if (auto c = decisions->counter({agentId, routingStrategyName(d.policy.strategy), result})) {
      c->inc();
    }
  };
  runnerOptions.healthSnapshot = [implp] { return implp->providerHealth->snapshot(); };
  runnerOptions.onModelCall = [implp](const health::ModelCallRecord& call) { implp->providerHealth->record(call); };
  runnerOptions.onToolCall = [implp](std::string_view tool, const tools::ToolOutcome& outcome) {
    implp->runObserver->observeTool(tool, outcome);
  };
  runnerOptions.inCooldown = [implp](const std::string& providerId, const std::string& model) {
    return implp->providerHealth->inCooldown(providerId, model);
  };
  {
    // Discovered models (providers/model_discovery.h): their context window and tool support from the
    // last inventory; the config's providers as of start-up (a reload that changes providers restarts
    // them).
    std::map<std::string, config::ProviderConfig> discovering;
    for (const auto& p : cfg.providers) {
      if (ModelDiscovery::discovers(p)) discovering.emplace(p.id, p);
    }
    if (!discovering.empty()) {
      runnerOptions.modelTraits = [discovery = impl->modelDiscovery, discovering = std::move(discovering)](
                                      const std::string& providerId,
                                      const std::string& model) -> std::optional<ModelTraits> {
        auto it = discovering.find(providerId);
        if (it == discovering.end()) return std::nullopt;
        auto found = discovery->known(it->second, model);
        if (!found) return std::nullopt;
        return ModelTraits{found->contextWindow, found->supportsTools};
      };
    }
  }
  runnerOptions.onRunEnded = [implp](const TurnOutcome& outcome) {
    implp->runObserver->observe(outcome);
    implp->healthDirty = true;
  };
  auto probeProviders = providers;  // the synthetic probes call providers too (set up below)
  AgentRunnerOptions replayOptions = runnerOptions;
  impl->replayer = std::make_unique<RunReplayer>(
      RunReplayerDeps{*impl->store, toolRegistry, *profiles, executors, impl->clock, std::move(replayOptions)});
  auto runner = AgentRunner::create(runnerOptions, *profiles, std::move(providers), std::move(toolRegistry),
                                    *impl->store, impl->bus, executors, impl->clock);
  if (!runner) return fail(runner.error());
  impl->runner = std::move(*runner);

  // Identity.
  impl->info.version = options.version;
  impl->info.host = hostName();
  impl->info.instanceId = newUuid();
  impl->info.stateDir = options.stateDir;
  impl->info.startedAtMs = impl->clock->nowMs();
  impl->info.logFile = logFilePath();
  impl->options = std::move(options);
  impl->options.ioThreads = ioThreads;
  LiveConfigOptions liveOptions{impl->options.configLoad, impl->clock, impl->options.logLevelPinned};
  if (!liveOptions.load.configPath) liveOptions.load.configPath = std::filesystem::path(impl->options.config->path);
  impl->liveConfig = std::make_unique<LiveConfig>(impl->options.config, impl->options.configFiles,
                                                  std::move(liveOptions), *impl->healthRecords, impl->bus);
  // The channel accounts (created here, started by run()).
  if (auto s = channels::registerBuiltinChannels(impl->channelFactories); !s) return fail(s.error());
  auto channelRuntime = channels::ChannelManager::create(
      channels::ChannelManagerDeps{impl->options.config->config.channels, impl->channelFactories, impl->channels,
                                   *impl->healthRecords, impl->metrics, impl->bus, impl->executors, impl->clock,
                                   &impl->io},
      channels::ChannelManagerOptions::fromConfig(impl->options.config->config.gateway));
  if (!channelRuntime) return fail(channelRuntime.error());
  impl->channelRuntime = std::move(*channelRuntime);
  impl->health.set(methods::buildHealthPayload(impl->healthDeps()).payloadJson);

  auto outbound = channels::OutboundDispatcher::create(
      *impl->store, impl->metrics, *impl->healthRecords, impl->bus, impl->executors, impl->clock,
      [implp](std::string_view id) { return implp->channels.find(id); });
  if (!outbound) return fail(outbound.error());
  impl->outbound = std::move(*outbound);

  // Cron (automation/cron_service.h): created always (the cron.* methods manage stored jobs), started
  // by run() unless cron.enabled is false or TALON_SKIP_CRON / OPENCLAW_SKIP_CRON is "1".
  auto webhooks =
      automation::WebhookSender::create(net::HttpClient::create(impl->io), impl->executors, impl->clock, impl->metrics);
  if (!webhooks) return fail(webhooks.error());
  impl->webhooks = std::move(*webhooks);
  // Alerts (health/alert_router.h): channel, cron and heartbeat escalations go to gateway.alerts.targets.
  auto alerts = health::AlertRouter::create(
      health::AlertRouterDeps{cfg.gateway.alerts, impl->outbound.get(), impl->webhooks.get(), *impl->healthRecords,
                              impl->metrics, impl->audit.get(), impl->executors, impl->clock});
  if (!alerts) return fail(alerts.error());
  impl->alerts = std::move(*alerts);
  automation::HeartbeatServiceDeps heartbeatDeps{impl->clock,
                                                 impl->executors,
                                                 impl->runner.get(),
                                                 impl->outbound.get(),
                                                 impl->webhooks.get(),
                                                 impl->healthRecords.get(),
                                                 &impl->metrics,
                                                 &impl->bus,
                                                 impl->audit.get(),
                                                 config::effectiveHeartbeats(cfg.agents),
                                                 cfg.cron.escalation,
                                                 cfg.cron.failureAlert,
                                                 cfg.agents.defaults.timeoutSeconds,
                                                 cfg.cron.webhookToken};
  heartbeatDeps.alerts = impl->alerts.get();
  heartbeatDeps.ownerAllowFrom = cfg.commands.ownerAllowFrom;
  heartbeatDeps.channels = cfg.channels;
  heartbeatDeps.store = impl->store.get();
  heartbeatDeps.skipMissedTicks = cfg.cron.skipMissedJobs;
  for (const auto& hb : heartbeatDeps.heartbeats) {
    auto model = config::resolveHeartbeatModel(cfg, hb);  // validation checked it; a clear error if not
    if (!model) return fail(model.error());
    if (*model) heartbeatDeps.models.emplace(hb.agentId, std::move(**model));
  }
  auto heartbeat = automation::HeartbeatService::create(std::move(heartbeatDeps));
  if (!heartbeat) return fail(heartbeat.error());
  impl->heartbeat = std::move(*heartbeat);
  automation::CronServiceDeps cronDeps{impl->clock,
                                       impl->executors,
                                       impl->store.get(),
                                       impl->runner.get(),
                                       impl->outbound.get(),
                                       impl->webhooks.get(),
                                       impl->healthRecords.get(),
                                       &impl->metrics,
                                       &impl->bus,
                                       impl->audit.get(),
                                       cfg.cron,
                                       cronDefaultAgent(*impl->agents)};
  cronDeps.heartbeat = impl->heartbeat.get();
  cronDeps.alerts = impl->alerts.get();
  cronDeps.preflight = std::make_shared<automation::CronPreflight>(providerContext.http, impl->clock, cfg.providers,
                                                                   std::move(modelChains));
  auto cron = automation::CronService::create(std::move(cronDeps));
  if (!cron) return fail(cron.error());
  impl->cron = std::move(*cron);
  impl->channelRuntime->setAlertRouter(impl->alerts.get());

  // Synthetic probes (health/synthetic_probes.h; gateway.probes), started by run().
  health::SyntheticProbesDeps probeDeps;
  probeDeps.probes = cfg.gateway.probes;
  probeDeps.providers = std::move(probeProviders);
  probeDeps.cron = [implp] {
    auto status = implp->cron->status();
    return health::CronProbeView{status.enabled, status.nextWakeAtMs};
  };
  probeDeps.outbound = impl->outbound.get();
  probeDeps.inbound = &impl->inboundInterceptors;
  probeDeps.health = impl->healthRecords.get();
  probeDeps.metrics = &impl->metrics;
  probeDeps.alerts = impl->alerts.get();
  probeDeps.executors = impl->executors;
  probeDeps.clock = impl->clock;
  auto probes = health::SyntheticProbes::create(std::move(probeDeps));
  if (!probes) return fail(probes.error());
  impl->probes = std::move(*probes);

  // Chat commands, methods, routes and channels, each registered by the module that owns it.
  if (auto s = chat_commands::registerBuiltinChatCommands(impl->chatCommands,
                                                          chat_commands::ChatCommandServices{*impl->runner});
      !s) {
    return fail(s.error());
  }
  auto services = impl->services();
  if (auto s = methods::registerBuiltinMethods(impl->methods, services); !s) return fail(s.error());
  auto rpcMetrics = methods::RpcMetrics::create(impl->metrics, impl->methods, impl->clock);
  if (!rpcMetrics) return fail(rpcMetrics.error());
  impl->rpcMetrics = std::move(*rpcMetrics);
  if (auto s = http::registerBuiltinRoutes(impl->router, services); !s) return fail(s.error());
  impl->accessGate =
      std::make_unique<routing::AccessGate>(impl->options.config->config.channels, impl->store.get(), impl->clock);
  auto inbound = channels::InboundRouter::create(
      impl->options.config->config, impl->agents->roster(), *impl->accessGate, *impl->runner, impl->metrics,
      *impl->audit, impl->executors, [implp](std::string_view id) { return implp->channels.find(id); }, *impl->outbound,
      impl->store.get(), impl->clock, &impl->inboundInterceptors, &impl->chatCommands);
  if (!inbound) return fail(inbound.error());
  impl->inbound = std::move(*inbound);
  // Live reload of channels.* (config/reload_plan.cpp: hot): the access gate takes the new policies and the
  // channel runtime starts, stops and restarts the accounts whose settings changed.
  impl->liveConfig->addHotApplier([implp](const config::ReloadPlan& plan, const ConfigSnapshot& next) {
    const bool channelsChanged = std::any_of(plan.hotReasons.begin(), plan.hotReasons.end(), [](const auto& path) {
      return config::matchesReloadPrefix(path, "channels");
    });
    if (!channelsChanged) return;
    implp->accessGate->update(next.config.channels);
    implp->channelRuntime->applyConfig(next.config.channels);
    implp->heartbeat->setChannels(next.config.channels);
  });

  // What the connections use (the server accepts once run() runs the io_context).
  impl->connectionDeps = std::make_unique<ConnectionDeps>(
      ConnectionDeps{impl->info, impl->options.config, impl->methods, impl->bus, impl->presence, impl->health,
                     *impl->limitedAuth, impl->state, impl->clock, *impl->audit,
                     security::BrowserOriginPolicy{cfg.gateway.controlUi.allowedOrigins,
                                                   cfg.gateway.controlUi.allowHostHeaderOriginFallback},
                     impl->rpcMetrics.get(), impl->traces.get()});
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gateway::~Gateway() {
  stop();
  if (impl_->server) impl_->server->stop();
  impl_->io.stop();
  if (impl_->workers) impl_->workers->join();
  if (impl_->toolWorkers) impl_->toolWorkers->join();
  if (impl_->store) impl_->store->close();
}

uint16_t Gateway::port() const { return impl_->server->port(); }
const std::vector<std::string>& Gateway::bindAddresses() const { return impl_->addresses; }

Status Gateway::run() {
  auto& impl = *impl_;
  impl.healthTimer = std::make_unique<asio::steady_timer>(impl.io);
  impl.tickTimer = std::make_unique<asio::steady_timer>(impl.io);
  impl.reloadTimer = std::make_unique<asio::steady_timer>(impl.io);
  impl.signals = std::make_unique<asio::signal_set>(impl.io, SIGINT, SIGTERM);
  impl.signals->async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("received signal {}; shutting down", sig);
    stop();
  });
  impl.scheduleHealthRefresh();
  impl.scheduleTick();
  impl.auditCheckpointTimer = std::make_unique<asio::steady_timer>(impl.io);
  impl.scheduleAuditCheckpoint();
  if (impl.options.config->config.gateway.reloadMode == config::kReloadModeOff) {
    spdlog::info("config reload mode is off: edits of {} are validated and reported, applied after a restart",
                 impl.options.config->path);
  }
  impl.scheduleReloadPoll();
  impl.idempotencyPruner->start();
  impl.operatorTokenWatch->start();
  impl.channelRuntime->start(*impl.inbound);
  {
    // Inventories the discovering providers once at start, so turns know their models' context windows
    // and tool support (AgentRunnerOptions::modelTraits) before anyone calls models.list.
    std::vector<config::ProviderConfig> discovering;
    for (const auto& p : impl.options.config->config.providers) {
      if (ModelDiscovery::discovers(p)) discovering.push_back(p);
    }
    if (!discovering.empty()) {
      impl.modelDiscovery->inventories(
          std::move(discovering), kModelDiscoveryStartTimeout, [](const std::vector<DiscoveredModels>& found) {
            for (const auto& f : found) {
              if (!f.error) {
                spdlog::info("models: provider {} has {} discovered models", f.provider, f.models.size());
              }
            }
          });
    }
  }
  impl.state.started = true;
  impl.audit->record(security::AuditEvent{
      "gateway.start",
      "system",
      "gateway",
      security::AuditOutcome::kAllowed,
      {{"version", impl.info.version},
       {"instanceId", impl.info.instanceId},
       {"port", port()},
       {"authMode", impl.auth ? security::authModeName(impl.auth->mode()) : std::string_view("trusted-proxy")}}});
  impl.healthRecords->set({"gateway", "startup", health::HealthState::kOk, "", true});
  // Deliveries a previous process left pending (a crash, a stop before the channel confirmed).
  if (auto resumed = impl.outbound->resumePending(); !resumed) {
    spdlog::error("outbox: pending deliveries cannot be read, so they are not resumed: {}", resumed.error().toString());
  } else if (*resumed > 0) {
    spdlog::info("outbox: resuming {} pending deliveries", *resumed);
  }
  if (config::heartbeatOwnerUnresolved(impl.options.config->config.agents)) {
    spdlog::warn(
        "heartbeat: multi-agent config has no ambient heartbeat owner; set agents.defaults.heartbeat.agentId (or "
        "give an agent a heartbeat block)");
  }
  if (cronEnabled(impl.options.config->config.cron)) {
    if (auto s = impl.cron->start(); !s) spdlog::error("cron: the scheduler did not start: {}", s.error().toString());
    impl.heartbeat->start();  // scheduled heartbeats need automations, as in OpenClaw
  } else {
    spdlog::info("cron: the scheduler is off (cron.enabled false, or TALON_SKIP_CRON / OPENCLAW_SKIP_CRON set)");
    if (!impl.heartbeat->status().empty()) {
      spdlog::warn(
          "heartbeat: scheduled heartbeats do not run while cron is off (cron.enabled false, or "
          "TALON_SKIP_CRON / OPENCLAW_SKIP_CRON set)");
    }
  }
  impl.probes->start();
  // OpenClaw keeps a last-known-good copy of a config the gateway started with.
  if (impl.options.config->exists) {
    asio::post(*impl.workers, [path = std::filesystem::path(impl.options.config->path)] {
      if (auto s = config::promoteLastKnownGood(path); !s) {
        spdlog::warn("config: cannot write the last-known-good copy: {}", s.error().message);
      }
    });
  }
  std::vector<std::thread> threads;
  for (int i = 1; i < impl.options.ioThreads; ++i) threads.emplace_back([&impl] { impl.io.run(); });
  impl.io.run();
  for (auto& t : threads) t.join();
  impl.workers->join();
  impl.toolWorkers->join();
  impl.audit->record(security::AuditEvent{
      "gateway.stop", "system", "gateway", security::AuditOutcome::kAllowed, {{"instanceId", impl.info.instanceId}}});
  if (auto s = impl.auditChain->flush(); !s) spdlog::error("audit: {}", s.error().toString());
  impl.writeAuditCheckpoint();
  impl.store->close();
  spdlog::info("gateway stopped");
  return {};
}

namespace {

// Stops the io_context once the server has no open connection (their close handshakes done) or at
// `deadline`, whichever comes first; checks every 2 ms. Runs on the io_context.
void stopWhenConnectionsClosed(Gateway::Impl& impl, std::shared_ptr<asio::steady_timer> timer,
                               std::chrono::steady_clock::time_point deadline) {
  if (!impl.server || impl.server->stats().openConnections == 0 || std::chrono::steady_clock::now() >= deadline) {
    impl.io.stop();
    return;
  }
  timer->expires_after(std::chrono::milliseconds(2));
  timer->async_wait(
      [&impl, timer, deadline](const boost::system::error_code&) { stopWhenConnectionsClosed(impl, timer, deadline); });
}

}  // namespace

void Gateway::stop() {
  auto& impl = *impl_;
  if (impl.state.stopping.exchange(true)) return;
  asio::post(impl.io, [&impl] {
    impl.bus.publish(
        GatewayEvent{"shutdown", {}, {}, std::make_shared<const std::string>("{\"reason\":\"gateway stopping\"}")});
    if (impl.healthTimer) impl.healthTimer->cancel();
    if (impl.tickTimer) impl.tickTimer->cancel();
    if (impl.auditCheckpointTimer) impl.auditCheckpointTimer->cancel();
    if (impl.reloadTimer) impl.reloadTimer->cancel();
    if (impl.signals) impl.signals->cancel();
    // Running turns get the drain grace (--drain-grace) to finish, then they are aborted, before the
    // connections close, so their final events still reach the clients that wait for them. A backstop
    // stops the loop if the turns have not ended 5 s after the grace (e.g. a commit that hangs on a
    // full disk): shutdown is bounded, and the log says why.
    auto backstop = std::make_shared<asio::steady_timer>(impl.io, impl.options.drainGrace + std::chrono::seconds(5));
    auto drained = std::make_shared<std::atomic<bool>>(false);
    backstop->async_wait([&impl, backstop, drained](const boost::system::error_code& ec) {
      if (ec || *drained) return;
      spdlog::error("turns did not end within the drain grace plus 5 s; stopping anyway");
      impl.io.stop();
    });
    if (impl.idempotencyPruner) impl.idempotencyPruner->stop();
    if (impl.operatorTokenWatch) impl.operatorTokenWatch->stop();
    if (impl.cron) impl.cron->stop();  // nothing new starts; runs in progress are recorded as they end
    if (impl.replayer) impl.replayer->stop();
    if (impl.probes) impl.probes->stop();
    if (impl.heartbeat) impl.heartbeat->stop();
    impl.runner->drain([&impl, drained] {
      *drained = true;  // the backstop (possibly on another thread) now does nothing; io.stop() ends its wait
      asio::post(impl.io, [&impl] {
        impl.outbound->stop();  // what is still pending stays in the outbox for the next start
        impl.channelRuntime->stop();
        if (impl.server) impl.server->stop();
        // Let the close frames flush: the loop stops once every connection has closed, or after 200 ms.
        stopWhenConnectionsClosed(impl, std::make_shared<asio::steady_timer>(impl.io),
                                  std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
      });
    });
  });
}

std::filesystem::path storePathFor(const std::filesystem::path& stateDir) {
  return stateDir / "state" / "talon.sqlite";
}

Result<GeneratedToken> loadOrGenerateGatewayToken(const std::filesystem::path& stateDir) {
  GeneratedToken out;
  out.path = stateDir / "gateway.token";
  auto existing = readFile(out.path, 4096);
  if (existing) {
    std::string t = *existing;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (!t.empty()) {
      out.token = t;
      return out;
    }
  } else if (existing.error().code != ErrorCode::kNotFound) {
    Error e = existing.error();
    e.message = "cannot read the gateway token " + out.path.string() + ": " + e.message;
    return fail(std::move(e));
  }
  out.token = randomHex(32);
  out.created = true;
  return out;
}

Status saveGeneratedGatewayToken(const GeneratedToken& token) {
  if (!token.created) return {};
  std::error_code ec;
  std::filesystem::create_directories(token.path.parent_path(), ec);
  ::chmod(token.path.parent_path().c_str(), 0700);
  if (auto s = writeFileAtomic(token.path, token.token + "\n", 0600); !s) {
    Error e = s.error();
    e.message = "cannot save the generated gateway token to " + token.path.string() + ": " + e.message;
    return fail(std::move(e));
  }
  return {};
}

}  // namespace talon::gateway
