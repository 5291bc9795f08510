#pragma once
// Channel factories by provider (ARCHITECTURE.md "Seams"): a channel adapter is new files plus one line
// in builtin_channels.cpp's table.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "gateway/channels/channel.h"
#include "gateway/executors.h"
#include "net/http_client.h"

namespace boost::asio {
class io_context;
}

namespace talon::gateway::channels {

/// What a factory gets: the account's id, its settings (the `channels.<provider>.accounts.<id>` object,
/// or {} for channels without config), the gateway's executors and clock, and its outbound HTTP client
/// (for adapters that speak HTTP, e.g. Telegram's Bot API; may be null where none is wired — such an
/// adapter's factory then fails with kFailedPrecondition).
struct ChannelContext {
  std::string accountId;
  json::object settings;
  Executors executors;
  ClockPtr clock;
  /// The gateway's io_context, for adapters that hold sockets (net::TcpLineClient, net::HttpClient);
  /// outlives the channel. Null where there is none (an adapter that needs one refuses to be created).
  boost::asio::io_context* io = nullptr;
  /// An HTTP client for adapters that call HTTP APIs; when null, such an adapter makes its own on `io`.
  net::HttpClientPtr http;
};

using ChannelFactory = std::function<Result<ChannelPtr>(const ChannelContext&)>;

/// Fill once at start-up, then share: create() and providers() are const and thread-safe.
class ChannelRegistry {
 public:
  /// Errors: kInvalidArgument for an empty provider or factory, kAlreadyExists for a second one.
  Status add(std::string provider, ChannelFactory factory);
  /// A new channel of `provider`. Errors: kUnsupported ("channel \"x\" is not supported by Talon yet")
  /// for an unknown provider; else the factory's.
  Result<ChannelPtr> create(std::string_view provider, const ChannelContext& context) const;
  /// Registered providers, sorted.
  std::vector<std::string> providers() const;

 private:
  std::map<std::string, ChannelFactory, std::less<>> factories_;
};

/// Registers every built-in channel (the table in builtin_channels.cpp).
Status registerBuiltinChannels(ChannelRegistry& registry);

}  // namespace talon::gateway::channels
