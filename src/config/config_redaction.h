#pragma once
// Secret redaction for showing a config (config.get, `talon config show`, logs). Pure; thread-safe.
#include <string_view>

#include "base/json.h"

namespace talon::config {

/// OpenClaw's redaction sentinel (dist `redact-sentinel`, REDACTED_SENTINEL). Writes that carry it
/// back must restore the original value or be refused.
inline constexpr std::string_view kRedactedSentinel = "__OPENCLAW_REDACTED__";

/// True when a key names a secret. The rule is OpenClaw's sensitive-path patterns (dist
/// `sensitive-paths`: /token$/i, /password/i, /secret/i, /api.?key/i, /encrypt.?key/i, /private.?key/i,
/// /serviceaccount(ref)?$/i, minus counters such as maxTokens/contextTokens and passwordFile) applied to
/// the key itself. Covers gateway.auth.token/password and models.providers.*.apiKey.
bool isSecretKey(std::string_view key);

/// A copy of `config` with every secret replaced by kRedactedSentinel:
/// - under a secret key (isSecretKey): a string or number becomes the sentinel, except empty strings
///   and unresolved `${VAR}` placeholders (they are not secrets, as in OpenClaw); a secret ref
///   {source, provider, id} keeps its shape with `id` redacted (OpenClaw redactSecretRefId); any other
///   object or array has all its strings and numbers redacted;
/// - header values under `models.providers.*.headers` whose name is a secret key or
///   authorization/proxy-authorization/cookie;
/// - any other string that carries URL credentials (hasUrlCredentials), e.g. a provider `baseUrl` of
///   `http://user:pw@host/v1`: the whole string becomes the sentinel, as OpenClaw redacts such URLs.
json::value redactConfigSecrets(const json::value& config);

/// True when `s` holds a URL (`scheme://...`) with user info (`user:pw@host`, `token@host`) or a query
/// parameter OpenClaw treats as a credential (`token`, `key`, `api_key`, `password`, `sig`, `*_token`,
/// ...; OpenClaw packages/net-policy redact-sensitive-url SENSITIVE_URL_QUERY_PARAM_NAMES).
bool hasUrlCredentials(std::string_view s);

}  // namespace talon::config
