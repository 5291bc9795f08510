#include "gateway/automation/heartbeat_target.h"

#include <algorithm>

#include "base/text.h"
#include "gateway/automation/cron_job.h"
#include "gateway/routing/id_normalization.h"

namespace talon::gateway::automation {

namespace {

const config::ChannelConfig* findHeartbeatChannel(const config::ChannelsConfig* channels, std::string_view id) {
  if (channels == nullptr) return nullptr;
  const std::string wanted = routing::trimLower(id);
  for (const auto& c : channels->entries) {
    if (routing::trimLower(c.id) == wanted) return &c;
  }
  return nullptr;
}

bool heartbeatChannelEnabled(const config::ChannelConfig& c) {
  auto it = c.settings.values.find("enabled");
  return it == c.settings.values.end() || !it->value().is_bool() || it->value().as_bool();
}

/// OpenClaw concreteAllowFromEntries: not blank, not "*", not "<channel>:*".
bool isConcreteOwnerEntry(std::string_view entry) {
  return !entry.empty() && entry != "*" && !(entry.size() >= 2 && entry.substr(entry.size() - 2) == ":*");
}

/// `entry` without a "<channel>:" prefix naming `channel`; nullopt when it names another configured
/// channel.
std::optional<std::string> heartbeatOwnerIdOn(const config::ChannelsConfig* channels, std::string_view channel,
                                              std::string_view entry) {
  auto colon = entry.find(':');
  if (colon != std::string_view::npos && findHeartbeatChannel(channels, entry.substr(0, colon)) != nullptr) {
    if (routing::trimLower(entry.substr(0, colon)) != routing::trimLower(channel)) return std::nullopt;
    return trimWhitespace(entry.substr(colon + 1));
  }
  return std::string(entry);
}

bool heartbeatAccountKnown(const config::ChannelConfig* channel, const std::string& accountId) {
  if (channel == nullptr || channel->accounts.empty()) return true;
  const std::string wanted = routing::normalizeAccountId(accountId);
  return std::any_of(channel->accounts.begin(), channel->accounts.end(),
                     [&](const auto& kv) { return routing::normalizeAccountId(kv.first) == wanted; });
}

HeartbeatDelivery heartbeatNoDelivery(std::string reason) {
  HeartbeatDelivery d;
  d.reason = std::move(reason);
  return d;
}

HeartbeatDelivery heartbeatDeliverTo(std::string channel, std::string to, std::string accountId,
                                     const std::optional<store::SessionRouteRecord>& last) {
  HeartbeatDelivery d;
  d.kind = routing::parsePeerTarget(to).kind;
  if (last && last->channel == channel && routing::parsePeerTarget(last->to).id == routing::parsePeerTarget(to).id &&
      routing::parsePeerTarget(last->to).kind == d.kind) {
    d.threadId = last->threadId;
  }
  d.channel = std::move(channel);
  d.to = std::move(to);
  d.accountId = std::move(accountId);
  return d;
}

HeartbeatDelivery resolveHeartbeatOwner(const HeartbeatTargetInputs& in, const std::string& heartbeatAccount) {
  // The channels to try: the session's last channel first, then the configured ones in file order.
  std::vector<const config::ChannelConfig*> order;
  auto add = [&](const config::ChannelConfig* c) {
    if (c == nullptr || !heartbeatChannelEnabled(*c)) return;
    if (std::find(order.begin(), order.end(), c) == order.end()) order.push_back(c);
  };
  if (in.last) add(findHeartbeatChannel(in.channels, in.last->channel));
  if (in.channels != nullptr) {
    for (const auto& c : in.channels->entries) add(&c);
  }
  auto accountOn = [&](const config::ChannelConfig& c) {
    if (!heartbeatAccount.empty()) return heartbeatAccount;
    if (in.last && routing::trimLower(in.last->channel) == routing::trimLower(c.id)) return in.last->accountId;
    return c.defaultAccount;
  };
  auto route = [&](const config::ChannelConfig& c, std::string ownerId) -> HeartbeatDelivery {
    if (!heartbeatAccount.empty() && !heartbeatAccountKnown(&c, heartbeatAccount))
      return heartbeatNoDelivery("no-route");
    return heartbeatDeliverTo(c.id, std::move(ownerId), accountOn(c), in.last);
  };
  if (in.ownerAllowFrom != nullptr) {
    for (const auto* c : order) {
      for (const auto& raw : *in.ownerAllowFrom) {
        const std::string entry = trimWhitespace(raw);
        if (!isConcreteOwnerEntry(entry)) continue;
        auto id = heartbeatOwnerIdOn(in.channels, c->id, entry);
        if (!id || id->empty() || routing::parsePeerTarget(*id).kind != routing::PeerKind::kDirect) continue;
        return route(*c, *id);
      }
    }
  }
  for (const auto* c : order) {
    const std::string account = accountOn(*c);
    const std::vector<std::string>* allowFrom = nullptr;
    for (const auto& [id, access] : c->accounts) {
      if (routing::normalizeAccountId(id) == routing::normalizeAccountId(account) && access.allowFrom) {
        allowFrom = &*access.allowFrom;
      }
    }
    if (allowFrom == nullptr && c->access.allowFrom) allowFrom = &*c->access.allowFrom;
    if (allowFrom == nullptr) continue;
    for (const auto& raw : *allowFrom) {
      const std::string entry = trimWhitespace(raw);
      if (!isConcreteOwnerEntry(entry)) continue;
      auto id = heartbeatOwnerIdOn(in.channels, c->id, entry);
      if (!id || id->empty()) continue;
      // OpenClaw takes the channel's first concrete entry; it must be a direct peer.
      if (routing::parsePeerTarget(*id).kind != routing::PeerKind::kDirect) break;
      return route(*c, *id);
    }
  }
  return heartbeatNoDelivery("no-route");
}

}  // namespace

HeartbeatDelivery resolveHeartbeatDelivery(const HeartbeatTargetInputs& in) {
  const config::HeartbeatConfig& hb = *in.heartbeat;
  const std::string target = std::string(trimWhitespace(hb.target.value_or("owner")));
  const std::string account = std::string(trimWhitespace(hb.accountId.value_or("")));
  const std::string to = std::string(trimWhitespace(hb.to.value_or("")));
  if (target == "none") return heartbeatNoDelivery("target-none");
  if (target == "owner") return resolveHeartbeatOwner(in, account);
  if (target == "last") {
    if (!in.last) return heartbeatNoDelivery("no-route");
    const config::ChannelConfig* channel = findHeartbeatChannel(in.channels, in.last->channel);
    if (!account.empty() && !heartbeatAccountKnown(channel, account)) return heartbeatNoDelivery("unknown-account");
    return heartbeatDeliverTo(in.last->channel, to.empty() ? in.last->to : to,
                              account.empty() ? in.last->accountId : account, in.last);
  }
  // An explicit channel.
  const config::ChannelConfig* channel = findHeartbeatChannel(in.channels, target);
  if (!account.empty() && !heartbeatAccountKnown(channel, account)) return heartbeatNoDelivery("unknown-account");
  if (!to.empty()) return heartbeatDeliverTo(target, to, account, in.last);
  if (in.last && routing::trimLower(in.last->channel) == routing::trimLower(target)) {
    return heartbeatDeliverTo(target, in.last->to, account.empty() ? in.last->accountId : account, in.last);
  }
  return heartbeatNoDelivery("no-target");
}

}  // namespace talon::gateway::automation
