#pragma once
// Errors about a channel account's settings, named by their config key path, for the adapters'
// fromContext() checks (the config section validates types; adapters check what only they know).
#include <string>
#include <string_view>

#include "base/error.h"

namespace talon::gateway::channels {

/// "channels.<channel>.accounts.<accountId>.<key>", the key path an error about that setting names.
inline std::string accountKeyPath(std::string_view channel, std::string_view accountId, std::string_view key) {
  std::string out = "channels.";
  out.append(channel).append(".accounts.").append(accountId).append(".").append(key);
  return out;
}

/// kConfigInvalid "<accountKeyPath>: <what>".
inline Error invalidAccountSetting(std::string_view channel, std::string_view accountId, std::string_view key,
                                   std::string_view what) {
  return Error{ErrorCode::kConfigInvalid, accountKeyPath(channel, accountId, key) + ": " + std::string(what)};
}

}  // namespace talon::gateway::channels
