#pragma once
// The table of store/operator_token_repository.h (migration step 9, "operator_tokens").
#include <string_view>

namespace talon::store {

// One row per token name. token_hash is the SHA-256 (hex) of the whole token; the token itself is never
// stored. token_prefix is the first characters of the token ("talon_op_AbCd"), for `talon tokens list`.
constexpr std::string_view kOperatorTokenSchema = R"sql(
CREATE TABLE operator_tokens (
  name            TEXT PRIMARY KEY NOT NULL,
  role            TEXT NOT NULL,
  token_hash      TEXT NOT NULL,
  token_prefix    TEXT NOT NULL DEFAULT '',
  created_by      TEXT NOT NULL DEFAULT '',
  created_at_ms   INTEGER NOT NULL,
  expires_at_ms   INTEGER NOT NULL DEFAULT 0,
  revoked_at_ms   INTEGER NOT NULL DEFAULT 0,
  last_used_at_ms INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX operator_tokens_by_hash ON operator_tokens (token_hash);
)sql";

}  // namespace talon::store
