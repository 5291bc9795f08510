#pragma once
// The IRC channel adapter (OpenClaw `channels.irc`, docs/channels/irc.md; RFC 1459 / RFC 2812): one
// account is one client connection to one server. It registers (PASS, NICK, USER), waits for the
// welcome (001: ChannelHealth::authenticated), identifies with NickServ when configured, joins the
// configured channels, answers PING, and turns PRIVMSG into routing::InboundMessage:
//   - to the bot's nick: a direct message, peer {direct, <sender nick>};
//   - to a channel: peer {group, "#chan"}, `mentioned` when the text addresses the bot's current nick
//     (OpenClaw's rule, irc::mentionsNick);
//   - the sender id is the lower-cased `nick!user@host` (OpenClaw's IRC sender identity, which its
//     allowFrom entries and pairing requests use);
//   - CTCP ACTION arrives as the text "* <nick> <action>"; other CTCP requests are ignored (debug log).
// Nick collision (433/436 before the welcome): the alternatives irc::alternativeNick(nick, 1..3)
// (`nick_`, `nick__`, `nick___`), then the connection fails and is retried with backoff.
// send(): PRIVMSG lines cut to the 512-byte line limit (the relay prefix counted) at UTF-8 boundaries,
// one message per text line, paced by a token bucket (IrcTiming); `onSent` runs once every line was
// written to the socket.
// A configured channel the server refuses to let the bot join (403, 405, 471, 473, 474, 475), or kicks
// it from, turns the transport state to kDegraded with the reason until the bot is in it again.
// Liveness: the connection is reconnected with ReconnectBackoff after it drops, after a server that
// stays silent (no reply to the channel's own PING) and after a registration that never completes;
// every attempt counts in ChannelHealth::reconnects.
//
// Thread rules: as Channel. Socket callbacks run on the gateway's io_context, timers on Executors::after;
// the state is guarded by one mutex; the sink and `onSent` are called without it held.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gateway/channels/channel.h"
#include "gateway/channels/channel_registry.h"
#include "gateway/channels/reconnect_backoff.h"

namespace talon::gateway::channels {

/// The IRC settings of one account (OpenClaw's `channels.irc` keys Talon implements).
struct IrcSettings {
  std::string host;                   // `host` (required)
  uint16_t port = 6697;               // `port`: default 6697 with TLS, 6667 without
  bool tls = true;                    // `tls`: default true
  std::string nick;                   // `nick` (required)
  std::string username;               // `username`: default the nick
  std::string realname = "Talon";     // `realname`
  std::string password;               // `password` (else the content of `passwordFile`): PASS; empty = none
  std::vector<std::string> channels;  // `channels`: joined after the welcome
  std::size_t textChunkLimit = 350;   // `textChunkLimit`: reply chunk size in characters (>= 1)
  struct NickServ {
    bool enabled = true;               // `nickserv.enabled`: identify whenever a password is set
    std::string service = "NickServ";  // `nickserv.service`
    std::string password;       // `nickserv.password` (else `nickserv.passwordFile`'s content): IDENTIFY <password>
    bool registerNick = false;  // `nickserv.register`: also REGISTER <password> <registerEmail>
    std::string registerEmail;  // `nickserv.registerEmail` (required with register)
  } nickserv;

  /// Reads and checks the account's settings (ChannelContext::settings). Errors: kConfigInvalid naming
  /// `channels.irc.accounts.<accountId>.<key>` for a missing host or nick, a port outside 1–65535, a
  /// value of the wrong type, a channel name that is not one (#, &, + or !), a CR/LF/NUL or space
  /// where IRC cannot carry it, `nickserv.register` without `registerEmail`, an unknown `nickserv`
  /// member, a `textChunkLimit` below 1, or a `passwordFile` / `nickserv.passwordFile` that is not a
  /// readable regular file (OpenClaw's rule). Those files are read here (the value is the first line);
  /// an inline password takes precedence over its file.
  static Result<IrcSettings> parse(std::string_view accountId, const json::object& settings);
};

/// Pacing and liveness numbers. The defaults are the adapter's behaviour; tests may shorten them.
struct IrcTiming {
  /// Token bucket for PRIVMSG lines: a burst of `burstLines`, then one line per `lineInterval`
  /// (irssi's defaults: servers such as ngircd and Libera throttle or kill clients that go faster).
  /// Registration, JOIN, PONG and PING are not paced.
  int burstLines = 5;
  std::chrono::milliseconds lineInterval{2000};
  /// The liveness check runs this often while connected.
  std::chrono::milliseconds keepaliveInterval{30000};
  /// With nothing received for this long, the channel sends its own PING…
  std::chrono::milliseconds idleBeforePing{90000};
  /// …and declares the connection dead when nothing answers within this.
  std::chrono::milliseconds pongTimeout{60000};
  /// A connection without the welcome (001) after this is closed and retried.
  std::chrono::milliseconds registrationTimeout{60000};
  /// How long probe() waits for the PONG.
  std::chrono::milliseconds probeTimeout{10000};
  /// Connect (resolve, TCP, TLS) timeout.
  std::chrono::milliseconds connectTimeout{15000};
  /// Alternative nicks tried on a collision before the attempt fails.
  int maxNickAttempts = 3;
  ReconnectBackoff::Options backoff;
  /// A connection that stayed registered this long resets the backoff when it drops; a shorter one
  /// counts as one more failure.
  std::chrono::milliseconds stableAfter{60000};
};

class IrcChannel final : public Channel {
 public:
  /// A channel for `context.accountId` with `settings`; connects on start(). `context.io` must be set.
  /// `extraCaPem` adds trusted CAs for TLS (tests; a private network). Errors: kFailedPrecondition
  /// without an io_context.
  static Result<std::unique_ptr<IrcChannel>> create(const ChannelContext& context, IrcSettings settings,
                                                    IrcTiming timing = {}, std::string extraCaPem = {});
  /// The registry's factory: parses ChannelContext::settings (IrcSettings::parse) and creates.
  static Result<ChannelPtr> fromContext(const ChannelContext& context);
  ~IrcChannel() override;

  std::string_view provider() const override { return "irc"; }
  /// Starts connecting (asynchronously: a server that cannot be reached is retried with backoff and
  /// shows in health()). Errors: kFailedPrecondition when already started.
  Status start(ChannelSink& sink) override;
  /// Sends QUIT, closes the connection and cancels every timer; pending sends fail with kCancelled.
  void stop() override;
  /// To peer {direct, nick} or {group|channel, "#chan"}. Errors through `onSent`: kInvalidArgument for
  /// an empty or malformed target or a text with nothing sendable; kUnavailable while not registered
  /// or when the connection drops before every line was written; kResourceExhausted when the socket's
  /// send queue is full.
  void send(OutboundMessage message, std::function<void(Status)> onSent) override;
  /// Sends `PING :talon-probe-<n>` and runs `done` with ok when the server's PONG for it arrives.
  /// Errors: kUnavailable at once while not registered (with the reason) or when the connection drops
  /// first; kDeadlineExceeded after IrcTiming::probeTimeout; kCancelled on stop().
  void probe(std::function<void(Status)> done) override;
  ChannelHealth health() const override;
  /// Text chunks of at most 350 characters (OpenClaw's IRC chunk size); no typing indicator.
  ChannelCapabilities capabilities() const override;

  /// The nick the server knows the bot by now (after a collision, an alternative); empty before the
  /// first welcome.
  std::string currentNick() const;

  struct State;

 private:
  explicit IrcChannel(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace talon::gateway::channels
