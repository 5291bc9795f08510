#pragma once
// The email channel adapter (Talon's own channel `channels.email`; OpenClaw 2026.9.6 has no email channel,
// only a receive-only IMAP trigger plugin; docs/channels.md "Email"). One account is one mailbox: mail in
// over IMAP, replies out over SMTP submission, both through libcurl (net/curl_library.h).
//
// In: every `pollSeconds` the account logs in to the IMAP server, runs `UID SEARCH UNSEEN` in `mailbox`
// and fetches each new message by UID (the fetch sets \Seen on the server, so neither a later poll nor a
// restarted gateway answers it twice; the mailbox should be the agent's own). With `idle` (the default)
// a second connection waits in IMAP IDLE (RFC 2177; imap_idle.h) when the server offers it and starts
// a poll as soon as the server reports new mail; the timed poll stays as the fallback (a server without
// IDLE, an IDLE connection that dropped and is reconnecting). Each mail becomes one
// routing::InboundMessage (email_mime.h): peer {direct, <From address>}, sender = that address, text = the
// body (HTML reduced to text, attachments listed), threadId = the thread root (References / In-Reply-To /
// Message-ID), so one mail thread is one session (`…:thread:<root>`). Mail from the account's own
// address and automatic mail (Auto-Submitted, Precedence bulk/list/junk) is dropped and logged.
//
// Out (send): a text/plain reply from `from` to the peer's address, with `Re: <subject>`, In-Reply-To the
// last mail of the thread and References the thread's ids, submitted over SMTP with AUTH when
// `smtpUsername` is set. TLS: imaps:// and smtps:// are implicit TLS; imap:// and smtp:// require
// STARTTLS unless `allowPlaintext` is true (then STARTTLS is used when the server offers it).
//
// Health: transport = the last IMAP poll connected (kConnected; kDisconnected with curl's reason when it
// could not); application = the IMAP login succeeded (ChannelHealth::authenticated; a refused login is
// kDegraded); functional = lastInboundAtMs (a mail received) / lastOutboundAtMs (a reply the SMTP server
// accepted). A failed SMTP submission marks the account kDegraded until a later one succeeds. Every poll
// after a failed one counts in ChannelHealth::reconnects.
//
// Threads: one worker thread per account runs every IMAP and SMTP exchange (blocking libcurl calls, each
// with its own handle and timeout); it waits on a condition variable between polls and wakes at once for a
// send, a probe, restart(), stop() or new mail reported by the idle thread. With `idle`, one more thread
// per account holds the IDLE connection; it only ever asks the worker to poll. The sink call and every `onSent` / probe
// callback are posted onto Executors::io; the worker never calls into the gateway directly.
#include <chrono>
#include <memory>
#include <string>

#include "config/email_settings.h"
#include "gateway/channels/channel.h"
#include "gateway/channels/channel_registry.h"

namespace talon::gateway::channels {

/// The email settings of one account (`channels.email.accounts.<accountId>`, docs/channels.md "Email").
struct EmailSettings {
  config::MailServerUrl imap;     // `imapUrl` (required): imap://host[:port] (143) or imaps://host[:port] (993)
  std::string imapUsername;       // `imapUsername` (required)
  std::string imapPassword;       // `imapPassword` (required; a secret ref in config)
  std::string mailbox = "INBOX";  // `mailbox`
  int pollSeconds = 30;           // `pollSeconds`: 1–3600
  config::MailServerUrl smtp;     // `smtpUrl` (required): smtp://host[:port] (587) or smtps://host[:port] (465)
  std::string smtpUsername;       // `smtpUsername`: empty = no AUTH
  std::string smtpPassword;       // `smtpPassword` (a secret ref in config); needs smtpUsername
  std::string from;               // `from` (required): the account's own address, the sender of replies
  std::string fromName;           // `name`: the display name of replies; may be empty
  std::string caFile;             // `caFile`: PEM CA certificates for TLS; default the system's
  bool allowPlaintext = false;    // `allowPlaintext`: imap:// and smtp:// may run without TLS
  bool idle = true;               // `idle`: wait for new mail in IMAP IDLE when the server offers it

  /// Reads and checks the account's settings (ChannelContext::settings). Errors: kConfigInvalid naming
  /// `channels.email.accounts.<accountId>.<key>` for a missing required key, a URL that is not
  /// imap(s):// / smtp(s)://host[:port], a value of the wrong type, a `pollSeconds` outside 1–3600, a
  /// `from` that is not an address, an `smtpPassword` without `smtpUsername`, a `caFile` that is not a
  /// regular file, or an unknown key.
  static Result<EmailSettings> parse(std::string_view accountId, const json::object& settings);
};

/// Tunables of the adapter; the defaults are its behaviour, tests may shorten them.
struct EmailTiming {
  /// When non-zero, replaces `pollSeconds` (tests poll every few ms).
  std::chrono::milliseconds pollInterval{0};
  /// The budget of one IMAP or SMTP exchange (connect, login, command).
  std::chrono::milliseconds timeout{30000};
  /// How long one IDLE command lasts before it is renewed (RFC 2177: servers may drop an IDLE client
  /// after 30 minutes of inactivity).
  std::chrono::milliseconds idleRefresh{20 * 60 * 1000};
};

class EmailChannel final : public Channel {
 public:
  /// A channel for `context.accountId` with `settings`; polls from start(). Errors: kFailedPrecondition
  /// without the gateway's io executor and clock.
  static Result<std::unique_ptr<EmailChannel>> create(const ChannelContext& context, EmailSettings settings,
                                                      EmailTiming timing = {});
  /// The registry's factory: parses ChannelContext::settings (EmailSettings::parse) and creates.
  static Result<ChannelPtr> fromContext(const ChannelContext& context);
  ~EmailChannel() override;

  std::string_view provider() const override { return "email"; }
  /// Starts the worker thread, which polls at once and then every poll interval (a server that cannot be
  /// reached shows in health() and is tried again at the next poll). Errors: kFailedPrecondition when
  /// already started.
  Status start(ChannelSink& sink) override;
  /// Stops the worker (after the exchange in progress, bounded by EmailTiming::timeout); queued sends and
  /// probes fail with kCancelled. Idempotent. Must not be called from a channel callback.
  void stop() override;
  /// Queues the reply for the worker, which submits it over SMTP. `onSent` (on Executors::io) gets ok when
  /// the SMTP server accepted it. Errors through `onSent`: kInvalidArgument when the peer is not a mail
  /// address; kUnavailable when the server cannot be reached (or the channel is stopped: kCancelled);
  /// kUnauthenticated when AUTH is refused; kUpstream when the server refuses the sender, recipient or data.
  void send(OutboundMessage message, std::function<void(Status)> onSent) override;
  /// Polls again at once (a fresh IMAP connection). Errors: kFailedPrecondition before start() or after
  /// stop().
  Status restart() override;
  /// Logs in to the IMAP server and checks the mailbox (STATUS) now; `done` (on Executors::io) gets ok, or
  /// kUnavailable / kUnauthenticated / kUpstream as for a poll, kCancelled on stop().
  void probe(std::function<void(Status)> done) override;
  ChannelHealth health() const override;
  /// Replies up to 100,000 characters travel as one mail; no typing indicator.
  ChannelCapabilities capabilities() const override;

  struct State;

 private:
  explicit EmailChannel(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace talon::gateway::channels
