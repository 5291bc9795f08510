// The channels family: `channels.status` (OpenClaw 2026.9.6 shape, reference/openclaw-wire/
// res.channels.status.json: with no channels, every map empty).
#include "gateway/channels/channel_set.h"
#include "gateway/methods/builtin_methods.h"

namespace talon::gateway::methods {

Status registerChannelMethods(MethodRegistry& registry, const GatewayServices& services) {
  return registry.add(
      {"channels.status",
       protocol::Scope::kRead,
       {{"probe", ParamType::kBoolean}, {"timeoutMs", ParamType::kInteger}},
       [&channelSet = services.channels, clock = services.clock](const MethodCall& call) {
         if (getBool(call.params, "probe").value_or(false)) {
           return call.error(notSupportedYet("channels.status probe:true"));
         }
         json::array order;
         json::object labels, channelMap, accounts, defaults;
         json::array issues;
         for (const auto& c : channelSet.snapshot()) {
           const auto state = channels::channelStateName(c.health.state);
           const bool connected = c.health.state == channels::ChannelHealth::State::kConnected;
           const bool running = c.health.state != channels::ChannelHealth::State::kStopped;
           order.push_back(json::string(c.id));
           labels[c.id] = c.provider;
           channelMap[c.id] = json::object{
               {"configured", true},
               {"running", running},
               {"connected", connected},
               {"lastError", c.health.detail.empty() ? json::value(nullptr) : json::value(c.health.detail)}};
           accounts[c.id] = json::array{json::object{{"accountId", "default"},
                                                     {"enabled", true},
                                                     {"configured", true},
                                                     {"running", running},
                                                     {"connected", connected},
                                                     {"state", state},
                                                     {"since", c.health.sinceMs},
                                                     {"received", c.health.received},
                                                     {"sent", c.health.sent},
                                                     {"sendFailures", c.health.sendFailures}}};
           defaults[c.id] = "default";
           if (!connected && running) {
             issues.push_back(json::object{{"channel", c.id}, {"state", state}, {"message", c.health.detail}});
           }
         }
         call.ok(json::serialize(json::object{{"ts", clock->nowMs()},
                                              {"channelOrder", std::move(order)},
                                              {"channelLabels", std::move(labels)},
                                              {"channelDetailLabels", json::object{}},
                                              {"channelSystemImages", json::object{}},
                                              {"channelMeta", json::array{}},
                                              {"channels", std::move(channelMap)},
                                              {"channelAccounts", std::move(accounts)},
                                              {"channelDefaultAccountId", std::move(defaults)},
                                              {"statusIssues", std::move(issues)}}));
       }});
}

}  // namespace talon::gateway::methods
