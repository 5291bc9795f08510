#pragma once
// The fleet's model proxy (`talon fleet serve`, docs/fleet.md "Model proxy"): gateways call it as their
// OpenAI-compatible model provider with a per-gateway virtual key (or, with attribution "agent", a key per
// agent); it authenticates the key (401 when unknown or revoked), checks the model policy of the gateway
// (or of the key's agent) (403) and the spending limits of the gateway and of the key's agent (429), swaps
// in the real upstream key, forwards the request — a stream passed through chunk by chunk, with
// `stream_options.include_usage` asked for — and records the usage per gateway, agent and model in the
// ledger.
// Errors are answered in the vendor's format (OpenAI: {"error": {message, type, param, code}}).
//
// Routes: POST /providers/<provider>/chat/completions for an openai-completions provider (forwarded to
// <baseUrl>/chat/completions); POST /providers/<provider>/v1/messages for an anthropic-messages one
// (forwarded to <baseUrl>/v1/messages, the key as x-api-key, errors in Anthropic's format); GET
// /fleet/health (the last drift check, setHealth()). A request's usage is recorded before its answer
// completes, so the next request's limit check sees it.
// Threads: HTTP handlers run on the io_context's threads; ledger reads and writes run on the proxy's own
// worker thread, never on an I/O thread. Every method is thread-safe.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "fleet/layering.h"
#include "fleet/proxy_ledger.h"

namespace boost::asio {
class io_context;
}

namespace talon::fleet {

/// Why the model policy refuses `modelRef` ("provider/model"), or nullopt when it permits it. Without
/// `agentId` (a gateway's key): a gateway may use a model when the policy of at least one of its agents
/// permits both the model and its provider (policy.h, decideForAgent); a gateway without agents may use
/// none. With `agentId` (an agent's key): that agent's policy alone decides; an agent that is not in the
/// inventory or not on `gatewayId` may use none.
std::optional<std::string> proxyModelDenial(const EffectiveFleet& fleet, const std::string& gatewayId,
                                            const std::string& modelRef,
                                            const std::optional<std::string>& agentId = std::nullopt);

struct ModelProxyOptions {
  /// The address and port to listen on (0: a free port, read back with port()).
  std::string bindAddress = "127.0.0.1";
  uint16_t port = 0;
  /// The fleet (settings: its inventory's modelProxy; policy: its layers). Kept alive by the proxy.
  std::shared_ptr<const EffectiveFleet> fleet;
  /// The real upstream keys by provider id (resolved from the environment by the caller).
  std::map<std::string, std::string> upstreamKeys;
  /// Shared with the caller; must outlive the proxy.
  std::shared_ptr<ProxyLedger> ledger;
  /// Stamps usage records and picks the spending windows.
  ClockPtr clock;
};

class ModelProxy {
 public:
  /// Listens. Errors: as net::Server::create (kAlreadyExists for a port in use); kInvalidArgument when
  /// the fleet has no modelProxy section or a provider has no upstream key.
  static Result<std::unique_ptr<ModelProxy>> create(boost::asio::io_context& io, ModelProxyOptions options);
  ~ModelProxy();
  ModelProxy(const ModelProxy&) = delete;
  ModelProxy& operator=(const ModelProxy&) = delete;

  uint16_t port() const;
  /// Replaces the fleet (policy, modelProxy's gateways, providers, limits, pricing) and the upstream keys for
  /// the requests that start from now on; requests in flight finish with what they started with. The listen
  /// address is not changed. Thread-safe. Errors: as create() (nothing is replaced then).
  Status reload(std::shared_ptr<const EffectiveFleet> fleet, std::map<std::string, std::string> upstreamKeys);
  /// The JSON GET /fleet/health answers from now on.
  void setHealth(json::object health);
  /// Stops listening and finishes the worker's queue. Idempotent.
  void stop();

 private:
  struct Impl;
  explicit ModelProxy(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace talon::fleet
