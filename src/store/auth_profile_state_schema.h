#pragma once
// The table of store/auth_profile_state_repository.h (migration step 19, "auth_profile_state").
#include <string_view>

namespace talon::store {

// One row per auth profile (OpenClaw auth.profiles) that has failed or been used since its last reset:
// its cooldown and disable windows and failure counts, so that a restart does not send calls to a
// credential that is rate limited or out of credit (OpenClaw keeps the same usage state in its per-agent
// store). Upserted by the gateway's auth-profile pool when a profile's state changes; rows of profiles no
// longer configured are deleted at start.
constexpr std::string_view kAuthProfileStateSchema = R"sql(
CREATE TABLE auth_profile_state (
  profile_id          TEXT PRIMARY KEY NOT NULL CHECK (profile_id <> ''),
  provider_id         TEXT NOT NULL,
  error_count         INTEGER NOT NULL DEFAULT 0 CHECK (error_count >= 0),
  last_failure_at_ms  INTEGER NOT NULL DEFAULT 0,
  cooldown_until_ms   INTEGER NOT NULL DEFAULT 0,
  disabled_until_ms   INTEGER NOT NULL DEFAULT 0,
  reason              TEXT NOT NULL DEFAULT '',
  disable_counts_json TEXT NOT NULL DEFAULT '{}',
  last_used_at_ms     INTEGER NOT NULL DEFAULT 0,
  updated_at_ms       INTEGER NOT NULL
);
)sql";

}  // namespace talon::store
