#pragma once
// The XMPP channel adapter (Talon's own channel `channels.xmpp`; OpenClaw 2026.9.6 has none;
// docs/channels.md "XMPP"). One account is one XMPP client connection (libstrophe) logged in as `jid`
// (RFC 6120: TLS, SASL, resource binding). It joins the configured multi-user chat rooms (XEP-0045) and
// turns each message with a body into a routing::InboundMessage (mapXmppMessage):
//   - a one-to-one message (type chat or normal): peer {direct, <sender's bare JID>}, sender the same;
//   - a room message (type groupchat) from a configured room: peer {group, <room JID>}, sender
//     `<room JID>/<nick>`, `mentioned` when the text addresses the account's nick in that room (the IRC
//     channel's rule, irc::mentionsNick); the room's echo of our own messages, its history replay
//     (a `urn:xmpp:delay` stamp) and messages from the room itself are dropped.
// Replies (send) go to the peer: type chat to a direct peer, type groupchat to a room.
//
// Health: transport = the TCP stream is up (ChannelHealth::state kStarting "connecting" until the
// session is established, then kConnected); application = the session established (TLS unless
// `allowPlaintext`, SASL, resource bound — libstrophe's XMPP_CONN_CONNECT) and every room joined
// (ChannelHealth::authenticated; a room that refuses us turns the state to kDegraded with its error
// condition); functional = lastInboundAtMs (any message stanza) / lastOutboundAtMs (a reply the server
// confirmed). Confirmation: each reply is followed by an XEP-0199 ping to our own server; the server
// handles a client's stanzas in order, so its answer to the ping means it took the reply (delivered,
// stored offline, or handed to the room). A connection that fails or drops is retried with
// ReconnectBackoff; every attempt counts in ChannelHealth::reconnects.
//
// Threads: libstrophe is not thread-safe, so its context and connection live on one thread of the
// channel's own, which runs xmpp_run_once() in a loop (waking every XmppTiming::loopInterval to pick up
// queued replies and probes, so a reply waits at most that long to be written). Its handlers only update
// the state under one mutex and post the sink call and every `onSent` / probe callback onto
// Executors::io; they never block on the gateway. Reconnect timers run on Executors::after.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/xmpp_settings.h"
#include "gateway/channels/channel.h"
#include "gateway/channels/channel_registry.h"
#include "gateway/channels/reconnect_backoff.h"

namespace talon::gateway::channels {

/// The XMPP settings of one account (`channels.xmpp.accounts.<accountId>`, docs/channels.md "XMPP").
struct XmppSettings {
  config::XmppJid jid;                  // `jid` (required): the account's bare JID, user@domain
  std::string password;                 // `password` (required; a secret ref in config)
  std::string resource = "talon";       // `resource`: the resource to bind
  std::string server;                   // `server`: host to connect to; default the JID's domain
  int port = 5222;                      // `port`: the client-to-server port
  bool allowPlaintext = false;          // `allowPlaintext`: allow a stream without TLS; loopback servers only
  std::string caFile;                   // `caFile`: PEM CA certificates for the server's; default the system's
  std::string nick;                     // `nick`: the nick in rooms; default the JID's local part
  std::vector<config::XmppRoom> rooms;  // `rooms`: rooms to join (each nick defaulted to `nick`)

  /// The host the connection goes to: `server`, else the JID's domain.
  std::string host() const { return server.empty() ? jid.domain : server; }

  /// Reads and checks the account's settings (ChannelContext::settings). Errors: kConfigInvalid naming
  /// `channels.xmpp.accounts.<accountId>.<key>` for a missing or invalid `jid` or `password`, a value of
  /// the wrong type, a `port` outside 1–65535, `allowPlaintext` for a server that is not loopback
  /// (config::isLoopbackHost), a `caFile` that is not a file, an invalid `nick` or `rooms` entry
  /// (config::parseXmppRooms), or an unknown key.
  static Result<XmppSettings> parse(std::string_view accountId, const json::object& settings);
};

/// One message stanza as the adapter sees it (the parts mapXmppMessage needs).
struct XmppStanza {
  std::string type;      // the `type` attribute ("" = normal)
  std::string from;      // the `from` attribute, as sent
  std::string body;      // the <body> text ("" = none)
  bool delayed = false;  // carries a XEP-0203 <delay/> stamp
};

/// Maps one message stanza (docs/channels.md "XMPP", "Messages"). `rooms` are the joined rooms with
/// their nicks (already defaulted). nullopt for a stanza that is not for the gateway (no body, an error
/// or headline, a room message from a room we are not in, our own echo, room history, a message from
/// the room itself, a private message through a room); errors (kInvalidArgument: logged and dropped) for
/// a `from` that is not a JID.
Result<std::optional<routing::InboundMessage>> mapXmppMessage(const std::vector<config::XmppRoom>& rooms,
                                                              const XmppStanza& stanza);

/// Timeouts and pacing; the defaults are the adapter's behaviour, tests may shorten them.
struct XmppTiming {
  ReconnectBackoff::Options backoff;
  /// How long probe() and a reply's confirmation wait for the server's answer to the ping.
  std::chrono::milliseconds probeTimeout{10000};
  /// A connection that stayed up this long resets the backoff when it drops.
  std::chrono::milliseconds stableAfter{60000};
  /// The longest the network thread waits in xmpp_run_once() before it looks at queued work.
  std::chrono::milliseconds loopInterval{50};
  /// How long a connection attempt may take to establish the session before it is given up.
  std::chrono::milliseconds connectTimeout{30000};
};

class XmppChannel final : public Channel {
 public:
  /// A channel for `context.accountId` with `settings`; connects on start(). Errors: kFailedPrecondition
  /// without the gateway's executors and clock.
  static Result<std::unique_ptr<XmppChannel>> create(const ChannelContext& context, XmppSettings settings,
                                                     XmppTiming timing = {});
  /// The registry's factory: parses ChannelContext::settings (XmppSettings::parse) and creates.
  static Result<ChannelPtr> fromContext(const ChannelContext& context);
  ~XmppChannel() override;

  std::string_view provider() const override { return "xmpp"; }
  /// Starts the network thread, which connects (asynchronously: a server that cannot be reached is
  /// retried with backoff and shows in health()). Errors: kFailedPrecondition when already started.
  Status start(ChannelSink& sink) override;
  /// Closes the stream, joins the network thread and cancels the reconnect timer; pending sends and
  /// probes fail with kCancelled. Idempotent. Must not be called from a channel callback.
  void stop() override;
  /// Sends the reply to `message.peer` (direct: a chat message to the JID; group/channel: a groupchat
  /// message to the room). `onSent` (on Executors::io) gets ok when the server answered the ping that
  /// follows it. Errors through `onSent`: kInvalidArgument for a peer that is not a JID or a room we
  /// are not in; kUnavailable while not connected or when the connection drops first;
  /// kDeadlineExceeded after XmppTiming::probeTimeout without the server's answer.
  void send(OutboundMessage message, std::function<void(Status)> onSent) override;
  /// Closes the stream and connects again at once (the backoff timer, if any, is skipped).
  /// Errors: kFailedPrecondition before start() or after stop().
  Status restart() override;
  /// Pings the server (XEP-0199) and runs `done` (on Executors::io) with ok on its answer. Errors:
  /// kUnavailable at once while not connected (with the reason) or when the connection drops first;
  /// kDeadlineExceeded after XmppTiming::probeTimeout; kCancelled on stop().
  void probe(std::function<void(Status)> done) override;
  ChannelHealth health() const override;
  /// Replies up to 10,000 characters travel as one message; no typing indicator.
  ChannelCapabilities capabilities() const override;

  struct State;

 private:
  explicit XmppChannel(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace talon::gateway::channels
