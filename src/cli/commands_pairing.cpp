// talon pairing list [channel] [--channel C] [--account A] [--json]
// talon pairing approve [channel] <code> [--channel C] [--account A] [--json]
// DM pairing requests of channel senders (OpenClaw docs/cli/pairing.md, `openclaw pairing`). Like
// OpenClaw's CLI these work offline on the state dir's database (<stateDir>/state/talon.sqlite), so they
// work whether or not a gateway is running: SQLite's WAL lets the CLI and a running gateway share the
// file, and the gateway reads the allow store on every DM, so an approval applies to the next message.
#include <unistd.h>

#include <iostream>
#include <optional>

#include "base/clock.h"
#include "base/log.h"
#include "cli/cli_audit.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/state_store.h"
#include "config/config_paths.h"
#include "gateway/routing/id_normalization.h"
#include "security/audit_sink.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace talon::cli {

namespace {

struct PairingOptions {
  std::vector<std::string> positionals;  // [channel] for list; [channel] <code> for approve
  std::string channel;
  std::string account;
  bool accountGiven = false;
  bool json = false;
};

/// Checks --account as OpenClaw does ("--account must not be blank") and normalises channel/account.
Result<std::pair<std::optional<std::string>, std::optional<std::string>>> filters(const PairingOptions& o,
                                                                                  std::string channel) {
  std::optional<std::string> account;
  if (o.accountGiven) {
    if (gateway::routing::trimWhitespace(o.account).empty()) {
      return fail(ErrorCode::kInvalidArgument, "--account must not be blank", "--account must not be blank");
    }
    account = gateway::routing::normalizeAccountId(o.account);
  }
  std::optional<std::string> ch;
  if (!channel.empty()) ch = gateway::routing::trimLower(channel);
  return std::make_pair(ch, account);
}

json::object requestJson(const store::ChannelPairingRequest& r) {
  return json::object{{"channel", r.channel},
                      {"accountId", r.accountId},
                      {"senderId", r.senderId},
                      {"code", r.code},
                      {"createdAt", formatRfc3339Ms(r.createdAtMs)},
                      {"lastSeenAt", formatRfc3339Ms(r.lastSeenAtMs)},
                      {"expiresAt", formatRfc3339Ms(r.expiresAtMs())}};
}

int listPairing(const PairingOptions& o) {
  if (o.positionals.size() > 1)
    return reportError(
        Error{ErrorCode::kInvalidArgument, "too many arguments", "too many arguments: talon pairing list [channel]"});
  std::string channel = !o.channel.empty() ? o.channel : (o.positionals.empty() ? "" : o.positionals[0]);
  auto f = filters(o, channel);
  if (!f) return reportError(f.error());
  auto store = openStateStore(MissingStore::kCreate);
  if (!store) return reportError(store.error());
  const int64_t now = SystemClock::instance()->nowMs();
  auto pending = (*store)->channelPairing().listPending(f->first, f->second, now);
  (*store)->close();
  if (!pending) return reportError(pending.error());
  if (o.json) {
    json::array requests;
    for (const auto& r : *pending) requests.push_back(requestJson(r));
    printJson(json::object{{"requests", std::move(requests)},
                           {"limits", json::object{{"pendingPerAccount", store::kChannelPairingMaxPendingPerAccount},
                                                   {"ttlMs", store::kChannelPairingTtlMs}}}});
    return 0;
  }
  if (pending->empty()) {
    std::cout << "No pending pairing requests.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : *pending) {
    rows.push_back({r.channel, r.accountId, r.senderId, r.code, formatAge(now - r.createdAtMs),
                    "in " + std::to_string((r.expiresAtMs() - now + 59'999) / 60'000) + "m"});
  }
  printTable({"CHANNEL", "ACCOUNT", "SENDER", "CODE", "REQUESTED", "EXPIRES"}, rows);
  return 0;
}

int approvePairing(const PairingOptions& o) {
  std::string channel = o.channel;
  std::string code;
  if (o.positionals.size() == 2) {
    if (!channel.empty())
      return reportError(Error{ErrorCode::kInvalidArgument, "channel given twice",
                               "the channel is given both as --channel and as an argument"});
    channel = o.positionals[0];
    code = o.positionals[1];
  } else if (o.positionals.size() == 1) {
    code = o.positionals[0];
  } else {
    return reportError(Error{ErrorCode::kInvalidArgument, "usage", "usage: talon pairing approve [channel] <code>"});
  }
  auto f = filters(o, channel);
  if (!f) return reportError(f.error());
  auto store = openStateStore(MissingStore::kCreate);
  if (!store) return reportError(store.error());
  const int64_t now = SystemClock::instance()->nowMs();
  auto approved = std::make_shared<std::optional<store::ChannelPairingRequest>>();
  store::WriteBatch batch;
  store::ChannelPairingRepository::approveCode(batch, code, f->first, f->second, now, approved);
  auto written = (*store)->write(std::move(batch));
  if (!written) {
    (*store)->close();
    return reportError(written.error());
  }

  security::AuditEvent event;
  event.kind = "access.pairing.approve";
  event.actor = "cli:" + std::to_string(::getuid());
  event.outcome = *approved ? security::AuditOutcome::kAllowed : security::AuditOutcome::kDenied;
  if (*approved) {
    event.target = (*approved)->channel + ":" + (*approved)->accountId;
    event.details["senderId"] = (*approved)->senderId;
  } else {
    event.details["reason"] = "no pending request with this code";
  }
  // The decision goes to the state dir's audit chain; a failure to record it is reported, not hidden.
  auto audited = appendCliAudit(**store, config::resolveStateDir(config::processEnvironment()), std::move(event));
  (*store)->close();
  if (!audited) return reportError(audited.error());

  if (!*approved) {
    const std::string text = "no pending pairing request with code " + code + " (expired, approved or mistyped)";
    return reportError(Error{ErrorCode::kNotFound, text, text});
  }
  const auto& r = **approved;
  if (o.json) {
    printJson(
        json::object{{"approved", true}, {"channel", r.channel}, {"accountId", r.accountId}, {"senderId", r.senderId}});
  } else {
    std::cout << "Approved " << r.channel << " sender " << r.senderId << " (account " << r.accountId << ").\n";
  }
  return 0;
}

}  // namespace

void registerPairingCommands(CLI::App& app, int& exitCode) {
  auto* pairing = app.add_subcommand("pairing", "List and approve DM pairing requests of channel senders");
  pairing->require_subcommand(1);
  auto o = std::make_shared<PairingOptions>();
  auto addCommon = [o](CLI::App* cmd) {
    cmd->add_option("--channel", o->channel, "Channel id (e.g. telegram, loopback)");
    cmd->add_option_function<std::string>(
        "--account",
        [o](const std::string& v) {
          o->account = v;
          o->accountGiven = true;
        },
        "Account id of a multi-account channel");
    cmd->add_flag("--json", o->json, "Print JSON");
  };
  auto* list = pairing->add_subcommand("list", "Pending pairing requests (unexpired), oldest first");
  list->add_option("channel", o->positionals, "Channel id")->expected(0, 1);
  addCommon(list);
  list->callback([o, &exitCode] { exitCode = listPairing(*o); });
  auto* approve = pairing->add_subcommand("approve", "Approve a pairing code: its sender may send direct messages");
  approve->add_option("args", o->positionals, "[channel] <code>")->expected(1, 2);
  addCommon(approve);
  approve->callback([o, &exitCode] { exitCode = approvePairing(*o); });
}

}  // namespace talon::cli
