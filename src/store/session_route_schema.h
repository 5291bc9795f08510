#pragma once
// The table of store/session_route_repository.h (migration step 16, "session_routes").
#include <string_view>

namespace talon::store {

// One row per session key: the last external conversation the session was reached on. Written when a
// channel message is routed to the session (an upsert), read by the heartbeat's targets "last" and
// "owner" and by sessions.list.
constexpr std::string_view kSessionRouteSchema = R"sql(
CREATE TABLE session_routes (
  session_key   TEXT PRIMARY KEY NOT NULL,
  agent_id      TEXT NOT NULL,
  channel       TEXT NOT NULL CHECK (channel <> ''),
  account_id    TEXT NOT NULL DEFAULT '',
  target        TEXT NOT NULL CHECK (target <> ''),
  chat_type     TEXT NOT NULL CHECK (chat_type IN ('direct', 'group', 'channel')),
  thread_id     TEXT NOT NULL DEFAULT '',
  updated_at_ms INTEGER NOT NULL
);
)sql";

}  // namespace talon::store
