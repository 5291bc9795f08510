#pragma once
// The tables of store/device_repository.h (migration step "devices, pairing requests, device tokens").
#include <string_view>

namespace talon::store {

constexpr std::string_view kDeviceSchema = R"sql(
CREATE TABLE paired_devices (
  device_id      TEXT PRIMARY KEY NOT NULL,
  public_key     TEXT NOT NULL,
  display_name   TEXT NOT NULL DEFAULT '',
  platform       TEXT NOT NULL DEFAULT '',
  device_family  TEXT NOT NULL DEFAULT '',
  client_id      TEXT NOT NULL DEFAULT '',
  client_mode    TEXT NOT NULL DEFAULT '',
  role           TEXT NOT NULL,
  scopes         TEXT NOT NULL DEFAULT '',
  remote_ip      TEXT NOT NULL DEFAULT '',
  created_at_ms  INTEGER NOT NULL,
  approved_at_ms INTEGER NOT NULL
);
CREATE INDEX paired_devices_by_approved ON paired_devices (approved_at_ms, device_id);

CREATE TABLE device_pairing_requests (
  request_id    TEXT PRIMARY KEY NOT NULL,
  device_id     TEXT NOT NULL,
  public_key    TEXT NOT NULL,
  display_name  TEXT NOT NULL DEFAULT '',
  platform      TEXT NOT NULL DEFAULT '',
  device_family TEXT NOT NULL DEFAULT '',
  client_id     TEXT NOT NULL DEFAULT '',
  client_mode   TEXT NOT NULL DEFAULT '',
  role          TEXT NOT NULL,
  scopes        TEXT NOT NULL DEFAULT '',
  remote_ip     TEXT NOT NULL DEFAULT '',
  ts            INTEGER NOT NULL
);
CREATE UNIQUE INDEX device_pairing_requests_by_device ON device_pairing_requests (device_id);
CREATE INDEX device_pairing_requests_by_ts ON device_pairing_requests (ts, request_id);

CREATE TABLE device_tokens (
  device_id       TEXT NOT NULL REFERENCES paired_devices (device_id) ON DELETE CASCADE,
  role            TEXT NOT NULL,
  token_hash      TEXT NOT NULL DEFAULT '',
  scopes          TEXT NOT NULL DEFAULT '',
  created_at_ms   INTEGER NOT NULL,
  rotated_at_ms   INTEGER NOT NULL DEFAULT 0,
  revoked_at_ms   INTEGER NOT NULL DEFAULT 0,
  last_used_at_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (device_id, role)
);
)sql";

}  // namespace talon::store
