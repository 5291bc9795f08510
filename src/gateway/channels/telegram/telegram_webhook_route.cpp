// POST <webhookPath>: Telegram's webhook deliveries for the Telegram accounts in webhook mode
// (channels.telegram[.accounts.<id>].webhookUrl; OpenClaw docs/channels/telegram/transports.md). The
// route only finds the account's channel; the channel checks `X-Telegram-Bot-Api-Secret-Token` against
// webhookSecret and takes the update (TelegramChannel::acceptWebhookUpdate).
#include "gateway/channels/telegram/telegram_webhook_route.h"

#include <spdlog/spdlog.h>

#include "gateway/channels/channel_set.h"
#include "gateway/channels/telegram/telegram_channel.h"
#include "net/http_router.h"
#include "security/audit_sink.h"

namespace talon::gateway::channels {

namespace {

/// One webhook account: where Telegram posts and the channel that takes it.
struct WebhookAccount {
  std::string accountId;
  std::string channelId;
  std::string path;
};

std::vector<WebhookAccount> webhookAccounts(const config::ChannelsConfig& channels) {
  std::vector<WebhookAccount> out;
  for (const auto& c : channels.entries) {
    if (c.id != "telegram") continue;
    std::map<std::string, json::object> accounts;
    if (c.accountSettings.empty()) {
      accounts["default"] = c.settings.values;
    } else {
      for (const auto& [id, s] : c.accountSettings) {
        json::object merged = c.settings.values;
        for (const auto& kv : s.values) merged[kv.key()] = kv.value();
        accounts[id] = std::move(merged);
      }
    }
    for (const auto& [id, values] : accounts) {
      if (!getString(values, "webhookUrl")) continue;
      if (auto enabled = getBool(values, "enabled"); enabled && !*enabled) continue;
      out.push_back(WebhookAccount{id, "telegram:" + id,
                                   std::string(getString(values, "webhookPath").value_or(kTelegramWebhookPath))});
    }
  }
  return out;
}

}  // namespace

Status registerTelegramWebhookRoutes(net::HttpRouter& router, const GatewayServices& services) {
  for (auto& account : webhookAccounts(services.config->config.channels)) {
    const channels::ChannelSet* set = &services.channels;
    security::AuditSink* audit = &services.audit;
    net::Route route;
    route.methods = {"POST"};
    route.path = account.path;
    route.handler = [set, audit, account](const net::HttpExchangePtr& exchange) {
      auto* channel = dynamic_cast<TelegramChannel*>(set->find(account.channelId));
      if (!channel) {
        exchange->respond(net::errorResponse(
            Error(ErrorCode::kUnavailable, "the Telegram account " + account.accountId + " is not running")));
        return;
      }
      const auto& request = exchange->request();
      auto accepted = channel->acceptWebhookUpdate(request.header("X-Telegram-Bot-Api-Secret-Token"), request.body);
      if (!accepted && accepted.error().code == ErrorCode::kUnauthenticated) {
        security::AuditEvent event;
        event.kind = "channel.webhook";
        event.actor = "ip:" + request.remoteAddress;
        event.target = "telegram:" + account.accountId;
        event.outcome = security::AuditOutcome::kDenied;
        event.details["channel"] = "telegram";
        event.details["accountId"] = account.accountId;
        event.details["reason"] =
            request.header("X-Telegram-Bot-Api-Secret-Token").empty() ? "secret_missing" : "secret_mismatch";
        audit->record(std::move(event));
        spdlog::warn("telegram {}: webhook delivery from {} refused: {}", account.accountId, request.remoteAddress,
                     accepted.error().message);
      }
      if (!accepted) {
        exchange->respond(net::errorResponse(accepted.error()));
        return;
      }
      net::HttpResponse ok;
      ok.status = 200;
      ok.contentType = "text/plain";
      exchange->respond(std::move(ok));
    };
    if (auto s = router.add(std::move(route)); !s) {
      return fail(ErrorCode::kConfigInvalid,
                  "channels.telegram.accounts." + account.accountId + ".webhookPath: " + s.error().message);
    }
  }
  return {};
}

}  // namespace talon::gateway::channels
