// Inbound throughput in process (issue 8, "Throughput"): messages per second through the loopback
// channel with 100 concurrent peers, and the process's CPU time per message. The path is the gateway's
// own, wired as src/gateway/gateway.cpp wires it: LoopbackChannel → access gate → InboundRouter →
// AgentRunner (a real SQLite store in a temp dir, the gateway's executors: an io_context on
// `kIoThreads` threads, a 4-thread worker pool, steady timers, the system clock) → a scripted model
// that answers "ok" at once → the outbox (OutboundDispatcher, durable) → LoopbackChannel::send.
//
// Each peer has one message in flight: when the channel confirms the reply to a peer, that peer's next
// message is injected (from an I/O thread). One benchmark iteration is `kRepliesPerIteration` replies;
// the counters are messages/s (wall clock) and process CPU per message (CLOCK_PROCESS_CPUTIME_ID:
// every thread — I/O, workers, the store's writer — over the iteration, divided by its replies).
//
//   build/talon_bench --benchmark_filter=InboundLoopback --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <time.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "config/config_loader.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/agent/session_compaction.h"
#include "gateway/channels/inbound_interceptors.h"
#include "gateway/channels/inbound_router.h"
#include "gateway/channels/loopback_channel.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/event_bus.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"
#include "gateway/live_config.h"
#include "gateway/routing/access_gate.h"
#include "gateway/routing/agent_roster.h"
#include "security/audit_sink.h"
#include "store/sqlite_store.h"

namespace talon::gateway::channels {
namespace {

namespace asio = boost::asio;

constexpr int kPeers = 100;
constexpr int kIoThreads = 2;
constexpr int64_t kRepliesPerIteration = 2000;

// Open DMs from anyone on the loopback channel, one session per peer, the implicit agent "main".
constexpr std::string_view kInboundBenchConfig = R"({
  session: { dmScope: "per-channel-peer" },
  channels: { loopback: { dmPolicy: "open", allowFrom: ["*"] } },
})";

double processCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct InboundBenchTimer final : TimerHandle, std::enable_shared_from_this<InboundBenchTimer> {
  InboundBenchTimer(asio::io_context& io, std::chrono::milliseconds delay) : timer(asio::make_strand(io), delay) {}
  void cancel() override {
    asio::dispatch(timer.get_executor(), [self = shared_from_this()] { self->timer.cancel(); });
  }
  asio::steady_timer timer;
};

// The scripted model: every call answers "ok" at once (on an I/O thread, as a provider's callbacks run).
class InboundBenchModel final : public ModelProvider {
 public:
  explicit InboundBenchModel(Executors executors) : executors_(std::move(executors)) {}
  const std::string& id() const override { return id_; }
  ModelCallPtr stream(ModelRequest, ModelStreamHandlers handlers) override {
    executors_.io([handlers = std::move(handlers)] {
      if (handlers.onTextDelta) handlers.onTextDelta("ok");
      ModelResponse response;
      response.text = "ok";
      response.finishReason = "stop";
      response.usage.inputTokens = 10;
      response.usage.outputTokens = 1;
      handlers.onComplete(std::move(response));
    });
    return std::make_shared<NoCall>();
  }

 private:
  struct NoCall final : ModelCall {
    void cancel() override {}
  };
  const std::string id_ = "mock";
  Executors executors_;
};

// The loopback channel as the outbox sees it, counting confirmed replies and starting each peer's next
// message when its reply is confirmed (the peers' closed loop). Everything else is forwarded.
class InboundBenchPeers final : public Channel {
 public:
  InboundBenchPeers(LoopbackChannel& loopback, Executors executors) : loopback_(loopback), executors_(executors) {}

  std::string_view provider() const override { return loopback_.provider(); }
  Status start(ChannelSink& sink) override { return loopback_.start(sink); }
  void stop() override { loopback_.stop(); }
  void probe(std::function<void(Status)> done) override { loopback_.probe(std::move(done)); }
  ChannelHealth health() const override { return loopback_.health(); }
  ChannelCapabilities capabilities() const override { return loopback_.capabilities(); }
  void setTyping(const std::string& accountId, const routing::Peer& peer, bool on) override {
    loopback_.setTyping(accountId, peer, on);
  }
  void send(OutboundMessage message, std::function<void(Status)> onSent) override {
    const std::string peer = message.peer.id;
    loopback_.send(std::move(message), [this, peer, onSent = std::move(onSent)](Status st) {
      const bool ok = static_cast<bool>(st);
      if (onSent) onSent(std::move(st));
      if (!ok) {
        failures_.fetch_add(1);
        return;
      }
      const int64_t n = replies_.fetch_add(1) + 1;
      if (n >= target_.load()) {
        std::lock_guard lock(mu_);
        cv_.notify_all();
      }
      if (running_.load()) executors_.io([this, peer] { inject(peer); });
    });
  }

  /// Sends the next message from `peer`.
  void inject(const std::string& peer) {
    if (!running_.load()) return;
    routing::InboundMessage m;
    m.peer = routing::Peer{routing::PeerKind::kDirect, peer};
    m.sender = peer;
    m.text = "hello from " + peer;
    if (auto st = loopback_.inject(std::move(m)); !st) failures_.fetch_add(1);
  }

  /// Waits until `count` replies have been confirmed in all; false after 60 s.
  bool waitForReplies(int64_t count) {
    target_.store(count);
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return replies_.load() >= count; });
  }
  int64_t replies() const { return replies_.load(); }
  int64_t failures() const { return failures_.load(); }
  void stopPeers() { running_.store(false); }

 private:
  LoopbackChannel& loopback_;
  Executors executors_;
  std::atomic<int64_t> replies_{0};
  std::atomic<int64_t> failures_{0};
  std::atomic<int64_t> target_{INT64_MAX};
  std::atomic<bool> running_{true};
  std::mutex mu_;
  std::condition_variable cv_;
};

void BM_InboundLoopback100Peers(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("talon-inbound-bench-" + std::to_string(::getpid()) + "-" + std::to_string(state.thread_index()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "talon.json") << kInboundBenchConfig; }
  config::LoadOptions load;
  load.env = config::Environment{};
  load.configPath = dir / "talon.json";
  auto loaded = config::loadConfig(load);
  if (!loaded) return state.SkipWithError(("config: " + loaded.error().toString()).c_str());
  auto snapshot = makeConfigSnapshot(*loaded);
  const config::TalonConfig& cfg = snapshot->config;

  store::SqliteStoreOptions storeOptions;
  storeOptions.path = dir / "state" / "talon.sqlite";
  auto opened = store::openSqliteStore(storeOptions);
  if (!opened) return state.SkipWithError(("store: " + opened.error().toString()).c_str());
  store::StorePtr store = std::move(*opened);

  // The gateway's executors (gateway.cpp "Threads").
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  asio::thread_pool workers(4);
  asio::thread_pool toolWorkers(4);
  Executors executors;
  executors.io = [&io](Task t) { asio::post(io, std::move(t)); };
  executors.blocking = [&workers](Task t) { asio::post(workers, std::move(t)); };
  executors.tools = [&toolWorkers](Task t) { asio::post(toolWorkers, std::move(t)); };
  executors.after = [&io](std::chrono::milliseconds delay, Task t) -> TimerHandlePtr {
    auto timer = std::make_shared<InboundBenchTimer>(io, delay);
    timer->timer.async_wait([timer, t = std::move(t)](const boost::system::error_code& ec) {
      if (!ec) t();
    });
    return timer;
  };
  std::vector<std::thread> ioThreads;
  for (int i = 0; i < kIoThreads; ++i) ioThreads.emplace_back([&io] { io.run(); });

  ClockPtr clock = SystemClock::instance();
  EventBus bus;
  health::MetricsRegistry metrics;
  health::HealthRegistry healthRecords{clock};
  security::LogAuditSink audit;

  auto roster = routing::AgentRoster::fromConfig(cfg.agents);
  std::vector<AgentProfile> profiles;
  for (const auto& id : roster.agentIds()) {
    AgentProfile p;
    p.id = id;
    p.workspace = dir / ("workspace-" + id);
    std::filesystem::create_directories(p.workspace);
    p.model = "mock/model-1";
    p.compaction = compactionSettings(cfg.agents.defaults.compaction);
    p.compaction.model.clear();
    profiles.push_back(std::move(p));
  }
  AgentRunnerOptions runnerOptions;
  runnerOptions.maxConcurrent = std::max(8, kIoThreads * 4);  // gateway.cpp's default for kIoThreads CPUs
  auto runner = AgentRunner::create(runnerOptions, profiles, {{"mock", std::make_shared<InboundBenchModel>(executors)}},
                                    nullptr, *store, bus, executors, clock);
  if (!runner) return state.SkipWithError(("runner: " + runner.error().toString()).c_str());

  LoopbackChannel loopback("default", clock);
  InboundBenchPeers peers(loopback, executors);
  auto find = [&peers](std::string_view id) -> Channel* { return id == "loopback" ? &peers : nullptr; };
  auto outbound = OutboundDispatcher::create(*store, metrics, healthRecords, bus, executors, clock, find);
  if (!outbound) return state.SkipWithError(("outbox: " + outbound.error().toString()).c_str());
  routing::AccessGate gate(cfg.channels, store.get(), clock);
  InboundInterceptors interceptors;
  auto router = InboundRouter::create(cfg, roster, gate, **runner, metrics, audit, executors, find, **outbound,
                                      store.get(), clock, &interceptors);
  if (!router) return state.SkipWithError(("router: " + router.error().toString()).c_str());
  if (auto st = peers.start(**router); !st) return state.SkipWithError(("channel: " + st.error().toString()).c_str());

  // Every peer sends its first message; from then on each sends its next when its reply is confirmed.
  for (int i = 0; i < kPeers; ++i) peers.inject("peer-" + std::to_string(i));
  // Warm-up: every peer's session created and one round done before measuring.
  bool ok = peers.waitForReplies(kPeers * 2);

  double cpuTotal = 0;
  int64_t measured = 0;
  for (auto _ : state) {
    if (!ok) break;
    const int64_t before = peers.replies();
    const double cpuBefore = processCpuSeconds();
    ok = peers.waitForReplies(before + kRepliesPerIteration);
    cpuTotal += processCpuSeconds() - cpuBefore;
    measured += peers.replies() - before;
  }
  peers.stopPeers();
  if (!ok) state.SkipWithError("replies stopped coming (60 s without reaching the iteration's count)");
  if (peers.failures() > 0) state.SkipWithError("an inject or a reply delivery failed");

  state.SetItemsProcessed(measured);
  state.counters["msgs_per_s"] = benchmark::Counter(static_cast<double>(measured), benchmark::Counter::kIsRate);
  state.counters["cpu_us_per_msg"] = measured > 0 ? cpuTotal / static_cast<double>(measured) * 1e6 : 0.0;
  state.counters["peers"] = kPeers;

  // Let the in-flight turns finish (the runner's drain), then take everything down in reverse order.
  std::promise<void> drained;
  (*runner)->drain([&drained] { drained.set_value(); });
  if (drained.get_future().wait_for(std::chrono::seconds(30)) != std::future_status::ready)
    state.SkipWithError("the runner did not drain within 30 s");
  peers.stop();
  work.reset();
  io.stop();
  for (auto& t : ioThreads) t.join();
  workers.join();
  toolWorkers.join();
  router->reset();
  outbound->reset();
  runner->reset();
  store->close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_InboundLoopback100Peers)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
}  // namespace talon::gateway::channels
