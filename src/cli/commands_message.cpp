// talon message send --channel <id> --target <peer> --message <text> [--account <id>] [--thread-id <id>] [--json]
// talon channels deliveries [--state pending|sent|failed] [--limit N] [--json]
//
// `message send` matches OpenClaw's `openclaw message send` flags where they apply (docs/cli/message.md:
// -t/--target, -m/--message, --channel, --account, --thread-id, --json; `--to` is accepted as an alias of
// --target) and calls the gateway's `send` (durable: the gateway stores the message before it sends it and
// retries until the channel confirms). Media, polls and the other message actions are not supported yet.
// `channels deliveries` lists the outbox (store/outbound_repository.h) offline on the state dir's
// database, so it works whether or not a gateway runs.
#include <iostream>

#include "base/clock.h"
#include "base/ids.h"
#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/output.h"
#include "config/config_paths.h"
#include "gateway/routing/id_normalization.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace talon::cli {
namespace {

struct MessageSendOptions {
  CommonOptions common;
  std::string channel;
  std::string target;
  std::string message;
  std::string account;
  std::string threadId;
  bool channelGiven = false;
  bool accountGiven = false;
};

int messageSend(const MessageSendOptions& o) {
  // OpenClaw: an explicitly empty or whitespace-only --channel / --account is rejected.
  if (o.channelGiven && gateway::routing::trimWhitespace(o.channel).empty()) {
    return reportError(
        Error{ErrorCode::kInvalidArgument, "--channel must not be blank", "--channel must not be blank"});
  }
  if (o.accountGiven && gateway::routing::trimWhitespace(o.account).empty()) {
    return reportError(
        Error{ErrorCode::kInvalidArgument, "--account must not be blank", "--account must not be blank"});
  }
  if (gateway::routing::trimWhitespace(o.target).empty()) {
    return reportError(Error{ErrorCode::kInvalidArgument, "no target", "--target is required"});
  }
  if (gateway::routing::trimWhitespace(o.message).empty()) {
    return reportError(Error{ErrorCode::kInvalidArgument, "no message", "--message is required"});
  }
  json::object params{{"to", o.target}, {"message", o.message}, {"idempotencyKey", newUuid()}};
  if (o.channelGiven) params["channel"] = o.channel;
  if (o.accountGiven) params["accountId"] = o.account;
  if (!o.threadId.empty()) params["threadId"] = o.threadId;
  auto client = connectClient(o.common);
  if (!client) return reportError(client.error());
  auto res = (*client)->call("send", params);
  (*client)->close();
  if (!res) return reportError(res.error());
  if (o.common.json) {
    printJson(*res);
    return 0;
  }
  const auto& r = res->as_object();
  std::cout << "Sent via " << getString(r, "channel").value_or("?") << " (message "
            << getString(r, "messageId").value_or("?") << ").\n";
  return 0;
}

struct DeliveriesOptions {
  std::string state;
  int64_t limit = 50;
  bool json = false;
};

/// A delivery's time as RFC 3339, or "" when it has none (0).
std::string deliveryTime(int64_t ms) { return ms <= 0 ? "" : formatRfc3339Ms(ms); }

json::object deliveryJson(const store::OutboundDelivery& d) {
  return json::object{
      {"id", d.id},
      {"channel", d.channelId},
      {"accountId", d.accountId},
      {"peer", json::object{{"kind", d.peerKind}, {"id", d.peerId}}},
      {"threadId", d.threadId},
      {"runId", d.runId},
      {"idempotencyKey", d.idempotencyKey},
      {"state", std::string(store::deliveryStateName(d.state))},
      {"attempts", d.attempts},
      {"parts", json::object{{"sent", d.partsSent}, {"total", d.partsTotal}}},
      {"chars", static_cast<int64_t>(d.text.size())},
      {"lastError", d.lastError},
      {"createdAt", deliveryTime(d.createdAtMs)},
      {"nextAttemptAt", d.state == store::DeliveryState::kPending ? deliveryTime(d.nextAttemptAtMs) : ""},
      {"sentAt", deliveryTime(d.sentAtMs)}};
}

int listDeliveries(const DeliveriesOptions& o) {
  std::optional<store::DeliveryState> state;
  if (!o.state.empty()) {
    state = store::parseDeliveryState(o.state);
    if (!state) {
      return reportError(
          Error{ErrorCode::kInvalidArgument, "bad --state " + o.state, "--state must be pending, sent or failed"});
    }
  }
  store::SqliteStoreOptions options;
  options.path = config::resolveStateDir(config::processEnvironment()) / "state" / "talon.sqlite";
  auto opened = store::openSqliteStore(options);
  if (!opened) return reportError(opened.error());
  auto rows = (*opened)->outbound().list(state, o.limit);
  (*opened)->close();
  if (!rows) return reportError(rows.error());
  if (o.json) {
    json::array out;
    for (const auto& d : *rows) out.push_back(deliveryJson(d));
    printJson(json::object{{"deliveries", std::move(out)}});
    return 0;
  }
  if (rows->empty()) {
    std::cout << "No deliveries" << (state ? " in state " + o.state : std::string()) << ".\n";
    return 0;
  }
  const int64_t now = SystemClock::instance()->nowMs();
  std::vector<std::vector<std::string>> table;
  for (const auto& d : *rows) {
    table.push_back({d.id.substr(0, 8), d.channelId, d.peerKind + ":" + d.peerId,
                     std::string(deliveryStateName(d.state)), std::to_string(d.attempts),
                     std::to_string(d.partsSent) + "/" + std::to_string(d.partsTotal), formatAge(now - d.createdAtMs),
                     d.lastError.empty() ? "-" : d.lastError});
  }
  printTable({"ID", "CHANNEL", "PEER", "STATE", "ATTEMPTS", "PARTS", "CREATED", "LAST ERROR"}, table);
  return 0;
}

/// The `channels` command group: another file may have created it (talon channels list|status|probe).
CLI::App* channelsGroup(CLI::App& app) {
  auto found = app.get_subcommands([](CLI::App* s) { return s->get_name() == "channels"; });
  if (!found.empty()) return found.front();
  auto* channels = app.add_subcommand("channels", "Channels: the outbox of outbound deliveries");
  channels->require_subcommand(1);
  return channels;
}

}  // namespace

void registerMessageCommands(CLI::App& app, int& exitCode) {
  auto* message = app.add_subcommand("message", "Send messages on channels");
  message->require_subcommand(1);
  {
    auto o = std::make_shared<MessageSendOptions>();
    auto* send = message->add_subcommand("send", "Send a text message on a channel (durable: retried until confirmed)");
    send->add_option_function<std::string>(
        "--channel",
        [o](const std::string& v) {
          o->channel = v;
          o->channelGiven = true;
        },
        "Channel (e.g. telegram, irc, loopback); optional when exactly one channel runs");
    send->add_option("-t,--target,--to", o->target,
                     "Peer: an id, or user:<id> / group:<id> / channel:<id> (a bare id is a direct message)")
        ->required();
    send->add_option("-m,--message", o->message, "Message text")->required();
    send->add_option_function<std::string>(
        "--account",
        [o](const std::string& v) {
          o->account = v;
          o->accountGiven = true;
        },
        "Account id of a multi-account channel");
    send->add_option("--thread-id", o->threadId, "Thread id (channel-specific, e.g. a Telegram forum topic)");
    addClientOptions(send, o->common);
    send->callback([o, &exitCode] { exitCode = messageSend(*o); });
  }
  {
    auto o = std::make_shared<DeliveriesOptions>();
    auto* deliveries = channelsGroup(app)->add_subcommand(
        "deliveries", "The outbox: outbound deliveries, newest first (read from the state dir's database)");
    deliveries->add_option("--state", o->state, "Only deliveries in this state: pending, sent or failed");
    deliveries->add_option("--limit", o->limit, "Most deliveries to list")->check(CLI::Range(1, 10'000));
    deliveries->add_flag("--json", o->json, "Print JSON");
    deliveries->callback([o, &exitCode] { exitCode = listDeliveries(*o); });
  }
}

}  // namespace talon::cli
