#include "gateway/routing/access_gate.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "gateway/routing/id_normalization.h"
#include "store/store.h"

namespace talon::gateway::routing {

namespace {

/// True when `list` has "*" or `sender` (entries and sender compared after trimming).
bool listAdmits(const std::vector<std::string>& list, std::string_view sender) {
  const std::string_view s = trimWhitespace(sender);
  return std::any_of(list.begin(), list.end(), [&](const std::string& e) {
    std::string_view entry = trimWhitespace(e);
    return entry == "*" || (!s.empty() && entry == s);
  });
}

bool listHasWildcard(const std::vector<std::string>& list) {
  return std::any_of(list.begin(), list.end(), [](const std::string& e) { return trimWhitespace(e) == "*"; });
}

AccessDecision admit(std::string reason, std::string policy) { return {true, std::move(reason), false, policy}; }
AccessDecision refuse(std::string reason, std::string policy) { return {false, std::move(reason), false, policy}; }

void inherit(const config::ChannelAccessConfig& from, EffectiveAccess& out) {
  if (from.dmPolicy) out.dmPolicy = *from.dmPolicy;
  if (from.allowFrom) out.allowFrom = *from.allowFrom;
  if (from.groupPolicy) out.groupPolicy = *from.groupPolicy;
  if (from.groupAllowFrom) out.groupAllowFrom = *from.groupAllowFrom;
  if (from.groups) out.groups = *from.groups;  // replaces, no deep merge
}

}  // namespace

AccessGate::AccessGate(config::ChannelsConfig channels, store::Store* store, ClockPtr clock)
    : channels_(std::make_shared<const config::ChannelsConfig>(std::move(channels))),
      store_(store),
      clock_(std::move(clock)) {}

void AccessGate::update(config::ChannelsConfig channels) {
  channels_.store(std::make_shared<const config::ChannelsConfig>(std::move(channels)), std::memory_order_release);
}

EffectiveAccess AccessGate::resolve(std::string_view channel, std::string_view accountId) const {
  EffectiveAccess out;
  const std::string ch = trimLower(channel);
  const std::string account = normalizeAccountId(accountId);
  const auto channels = channels_.load(std::memory_order_acquire);
  auto it = std::find_if(channels->entries.begin(), channels->entries.end(),
                         [&](const config::ChannelConfig& c) { return trimLower(c.id) == ch; });
  if (it == channels->entries.end()) return out;  // not configured: pairing / allowlist, fail closed
  if (channels->defaultGroupPolicy) out.groupPolicy = *channels->defaultGroupPolicy;
  inherit(it->access, out);
  for (const auto& [id, acc] : it->accounts) {
    if (normalizeAccountId(id) == account) inherit(acc, out);
  }
  return out;
}

AccessDecision AccessGate::decide(const InboundMessage& message) const {
  const EffectiveAccess access = resolve(message.channel, message.accountId);
  if (message.peer.kind == PeerKind::kDirect) {
    const std::string policy = "dmPolicy=" + access.dmPolicy;
    if (access.dmPolicy == "disabled") return refuse("dm_disabled", policy);
    if (access.dmPolicy == "open") {
      if (listHasWildcard(access.allowFrom)) return admit("dm_open", policy);
      return listAdmits(access.allowFrom, message.sender) ? admit("dm_allowlisted", policy)
                                                          : refuse("dm_not_allowlisted", policy);
    }
    if (listAdmits(access.allowFrom, message.sender)) return admit("dm_allowlisted", policy);
    if (access.dmPolicy != "pairing") return refuse("dm_not_allowlisted", policy);
    AccessDecision pairing = refuse("dm_pairing_required", policy);
    pairing.pairing = true;
    if (store_ == nullptr || trimWhitespace(message.sender).empty()) return pairing;
    auto allowed = store::ChannelPairingRepository(*store_).isAllowed(
        trimLower(message.channel), normalizeAccountId(message.accountId), std::string(trimWhitespace(message.sender)));
    if (!allowed) {
      spdlog::error("access gate: cannot read the pairing allow store, refusing: {}", allowed.error().toString());
      return pairing;
    }
    return *allowed ? admit("dm_paired", policy) : pairing;
  }

  const std::string policy = "groupPolicy=" + access.groupPolicy;
  if (access.groupPolicy == "disabled") return refuse("group_disabled", policy);
  if (access.groupPolicy == "allowlist") {
    if (!access.groups.contains(message.peer.id) && !access.groups.contains("*")) {
      return refuse("group_not_allowlisted", policy);
    }
    const auto& senders = access.groupAllowFrom.empty() ? access.allowFrom : access.groupAllowFrom;
    if (!listAdmits(senders, message.sender)) return refuse("group_sender_not_allowlisted", policy);
  }
  std::optional<bool> requireMention;
  if (auto g = access.groups.find(message.peer.id); g != access.groups.end()) requireMention = g->second.requireMention;
  if (!requireMention) {
    if (auto g = access.groups.find("*"); g != access.groups.end()) requireMention = g->second.requireMention;
  }
  if (requireMention.value_or(true) && message.mentioned.has_value() && !*message.mentioned) {
    return refuse("mention_required", policy);
  }
  return admit("group_allowed", policy);
}

void AccessGate::requestPairing(const InboundMessage& message,
                                std::function<void(Result<store::ChannelPairingOutcome>)> done) const {
  if (store_ == nullptr) {
    done(fail(ErrorCode::kFailedPrecondition, "no pairing store"));
    return;
  }
  auto out = std::make_shared<store::ChannelPairingOutcome>();
  store::WriteBatch batch;
  store::ChannelPairingRepository::requestPairing(batch, trimLower(message.channel),
                                                  normalizeAccountId(message.accountId),
                                                  std::string(trimWhitespace(message.sender)), clock_->nowMs(), out);
  store_->submit(std::move(batch), [out, done = std::move(done)](Status s) {
    if (!s) {
      done(fail(s.error()));
    } else {
      done(*out);
    }
  });
}

std::string AccessGate::pairingReply(std::string_view channel, std::string_view senderId, std::string_view code) {
  std::string out = "Talon: access not configured.\n\nYour ";
  out.append(channel).append(" id: ").append(senderId).append("\nPairing code:\n```\n").append(code);
  out.append("\n```\n\nAsk the bot owner to approve with:\n```\ntalon pairing approve ");
  out.append(channel).append(" ").append(code).append("\n```");
  return out;
}

}  // namespace talon::gateway::routing
