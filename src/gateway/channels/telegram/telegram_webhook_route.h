#pragma once
// The gateway's HTTP route for Telegram webhook mode: for every Telegram account with `webhookUrl`, a
// `POST <webhookPath>` (default "/telegram-webhook") on the gateway port that hands the delivered Update
// to that account's TelegramChannel (found in GatewayServices::channels as "telegram:<accountId>", the
// channel runtime's naming). Answers: 200 with an empty body once the update is taken; 401 for a missing or
// wrong `X-Telegram-Bot-Api-Secret-Token` (audited as "channel.webhook", denied, with the reason and
// never the secret); 400 for a body that is not an Update; 503 while the account's channel is not running.
// OpenClaw docs/channels/telegram/transports.md (OpenClaw serves it on a listener of its own, webhookHost
// and webhookPort; Talon on the gateway's port — those two keys are not supported yet).
#include "base/error.h"
#include "gateway/gateway_services.h"
#include "net/http_router.h"

namespace talon::gateway::channels {

/// Registers the webhook route of each Telegram account in webhook mode. Errors: kConfigInvalid naming
/// the account's webhookPath when two routes share a path (HttpRouter::add's kAlreadyExists).
Status registerTelegramWebhookRoutes(net::HttpRouter& router, const GatewayServices& services);

}  // namespace talon::gateway::channels
