#pragma once
// The typed view of the subset of OpenClaw's config that Talon implements. Field names follow
// OpenClaw's schema (`openclaw config schema`, OpenClaw 2026.9.6). Produced by config_loader.h after
// parsing, `$include`, `${VAR}` substitution and strict validation; plain data, freely copyable.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"

namespace talon::config {

/// `gateway.auth.rateLimit`: the failed-auth limiter (OpenClaw 2026.9.6 dist/auth-rate-limit-*.mjs;
/// docs/gateway/config-gateway.md). Defaults are OpenClaw's.
struct AuthRateLimitConfig {
  /// Failed attempts per client address within windowMs that trigger a lockout.
  int64_t maxAttempts = 10;
  /// Sliding window, ms.
  int64_t windowMs = 60'000;
  /// How long a locked-out address is refused, ms.
  int64_t lockoutMs = 300'000;
  /// Loopback clients (127.0.0.0/8, ::1, connected directly, without forwarded headers) are never
  /// locked out.
  bool exemptLoopback = true;
};

/// A secret ref `{source, provider, id}` (OpenClaw docs/gateway/secrets/secretref-contract.md) whose
/// value is read after loading, by security/secret_resolver.h: sources "file", "exec" and "store"
/// (env refs and `${VAR}` are resolved while loading). Holds no secret value.
struct SecretRef {
  /// "file" | "exec" | "store" (or "env" when built by hand).
  std::string source;
  /// The provider alias (`^[a-z][a-z0-9_-]{0,63}$`), e.g. "default", "filemain".
  std::string provider;
  /// file: an absolute JSON pointer or "value"; exec: `^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,255}$`;
  /// store: `^[A-Z][A-Z0-9_]{0,127}$`.
  std::string id;
  /// The config path of the field that holds the ref (e.g. "models.providers.openai.apiKey").
  std::string path;
};

/// `secrets.providers.<alias>`: how the refs naming this alias are read (OpenClaw's provider config;
/// defaults from its secretref contract). Only the keys of `source` apply.
struct SecretProviderConfig {
  std::string alias;   // the map key
  std::string source;  // "env" | "file" | "exec" | "store"
  // env
  /// Exact env var names the provider may read; nullopt: any, empty: none.
  std::optional<std::vector<std::string>> allowlist;
  // file
  std::string path;           // the file; `~/` is expanded at resolution
  std::string mode = "json";  // "json" (id is a JSON pointer) | "singleValue" (id is "value")
  int64_t timeoutMs = 5000;   // file and exec: bound on the read / the run
  int64_t maxBytes = 1 << 20;
  // exec
  std::string command;  // absolute path of the binary, run without a shell
  std::vector<std::string> args;
  std::vector<std::string> passEnv;          // env vars copied from the gateway's environment
  std::map<std::string, std::string> env;    // env vars set for the command
  std::vector<std::string> trustedDirs;      // when non-empty, `command` must sit under one of them
  std::optional<int64_t> noOutputTimeoutMs;  // unset: timeoutMs
  int64_t maxOutputBytes = 1 << 20;
  bool jsonOnly = true;
};

/// `secrets`.
struct SecretsConfig {
  /// By alias.
  std::map<std::string, SecretProviderConfig> providers;
  /// `secrets.defaults.<source>`: the alias an `env`/`store` ref falls back to without a provider
  /// entry ("default" when unset), and the documented default alias of `file`/`exec` refs.
  std::string defaultEnv = "default";
  std::string defaultFile = "default";
  std::string defaultExec = "default";
  std::string defaultStore = "default";
};

/// `gateway.auth.trustedProxy` (OpenClaw docs/gateway/trusted-proxy-auth.md "Configuration reference").
struct TrustedProxyAuthConfig {
  /// The header carrying the user identity the proxy authenticated (matched case-insensitively);
  /// required, non-blank.
  std::string userHeader;
  /// Headers that must be present and non-blank on every request (proxy verification).
  std::vector<std::string> requiredHeaders;
  /// Identities allowed (exact match of the trimmed header value); empty: every authenticated user.
  std::vector<std::string> allowUsers;
  /// Accept a same-host proxy connecting from loopback (the loopback address must also be listed in
  /// gateway.trustedProxies). Default false.
  bool allowLoopback = false;
  /// `deviceAutoApprove.enabled`: Talon does not implement automatic device approval yet; validation
  /// refuses `true`, so this is always false in a valid config.
  bool deviceAutoApprove = false;
  /// `deviceAutoApprove.scopes` as written (validated against the operator scope set); unused while
  /// automatic approval is unsupported, kept for the security audit.
  std::vector<std::string> deviceAutoApproveScopes;
};

/// `gateway.auth`.
struct GatewayAuthConfig {
  /// "none" | "token" | "password" | "trusted-proxy". Unset in the file means "token".
  std::string mode = "token";
  /// Resolved secret values (after `${VAR}` / env secret refs); empty when not configured.
  std::string token;
  std::string password;
  /// When the active mode's secret is configured but did not resolve: why, e.g. `env var "GW_TOKEN" is
  /// not set` (empty otherwise). `talon config validate` only warns about it (as OpenClaw does); the
  /// gateway refuses to start (config_loader.h requireGatewayAuthSecret).
  std::string secretUnavailable;
  /// The config path of that secret ("gateway.auth.token" or "gateway.auth.password"); empty otherwise.
  std::string secretPath;
  /// `token` / `password` given as a file, exec or store ref: read by the secret resolver, which then
  /// fills `token`/`password` (or `secretUnavailable`).
  std::optional<SecretRef> tokenRef;
  std::optional<SecretRef> passwordRef;
  AuthRateLimitConfig rateLimit;
  /// `gateway.auth.trustedProxy`; set when the block is present (required in mode "trusted-proxy").
  std::optional<TrustedProxyAuthConfig> trustedProxy;
  /// `gateway.auth.identityScopes`: verified identity (trusted-proxy user) -> operator scope names (each
  /// one of the closed operator set), in file order. Email keys match case-insensitively at connect.
  std::vector<std::pair<std::string, std::vector<std::string>>> identityScopes;
};

/// Talon's limits on what one caller can make the gateway hold (`gateway.limits`, a Talon-only
/// section: OpenClaw 2026.9.6 has no such key).
struct GatewayLimitsConfig {
  /// Largest user message accepted by chat.send, agent and POST /v1/chat/completions, in bytes of
  /// UTF-8 text (`gateway.limits.maxMessageBytes`). Default 1 MiB.
  int64_t maxMessageBytes = 1 << 20;
};

/// How long an idempotency key is remembered (`gateway.idempotency`, a Talon-only section: OpenClaw
/// 2026.9.6 keeps its dedupe entries 5 minutes in memory, not configurable, dist/server-constants-*.mjs
/// DEDUPE_TTL_MS; Talon keeps them in the store, so they survive a restart). docs/config.md.
struct GatewayIdempotencyConfig {
  /// `gateway.idempotency.ttlSeconds`: seconds after its run ended that a key still returns that run's
  /// outcome; a key is forgotten within a minute after (gateway/idempotency_pruner.h). Default 300.
  int64_t ttlSeconds = 300;
};

/// `gateway.channelHealth.recovery` (Talon-only): what the channel runtime does about an account that
/// stays unhealthy (transport down, unauthenticated, or muted). docs/channels.md "Recovery" has the
/// arithmetic of the defaults: a dead channel reaches the alert targets within 2 minutes.
struct ChannelRecoveryConfig {
  /// `enabled` (default true): false only reports (no restarts, no alerts).
  bool enabled = true;
  /// `graceSeconds`: how long an account is unhealthy before the first recovery attempt, in seconds.
  int64_t graceSeconds = 30;
  /// `maxAttempts`: failed recovery attempts (restart + probe) before the account is escalated to
  /// `gateway.alerts`; 0 escalates at the end of the grace period without restarting.
  int64_t maxAttempts = 2;
  /// `probeTimeoutSeconds`: how long the re-verification (Channel::probe) after a restart may take.
  int64_t probeTimeoutSeconds = 10;
};

/// The channel health monitor's timing (`gateway.channelHealth`, a Talon-only section: OpenClaw 2026.9.6
/// retired its `gateway.channelHealthCheckMinutes` / `gateway.channelStaleEventThresholdMinutes` knobs and
/// uses built-in defaults of 5 and 30 minutes; Talon keeps the 30-minute stale threshold and checks every
/// 30 s). docs/channels.md.
struct ChannelHealthConfig {
  /// `checkIntervalSeconds`: how often every channel account's health is reconciled, in seconds. Default
  /// 30 (OpenClaw's built-in monitor checks every 5 minutes; Talon checks more often so that recovery and
  /// escalation meet their 2-minute bound, docs/channels.md "Recovery").
  int64_t checkIntervalSeconds = 30;
  /// `staleEventThresholdSeconds`: an account whose transport is up but that received no inbound traffic
  /// for this long is reported muted (functional dimension unhealthy), in seconds; 0 turns the check off.
  int64_t staleEventThresholdSeconds = 1800;
  /// `recovery`: bounded self-recovery of unhealthy accounts, then escalation (docs/channels.md
  /// "Recovery").
  ChannelRecoveryConfig recovery;
};

/// One entry of `gateway.alerts.targets` (Talon-only): where alerts go. docs/alerts.md.
struct AlertTargetConfig {
  /// `id`: names the target in logs, the health record `alerts/<id>` and `talon health --deep`; default
  /// "<kind>-<index>" (index from 0 in the array).
  std::string id;
  /// `kind`: "channel" | "webhook" | "email".
  std::string kind;
  /// channel: `channel` (the provider, e.g. "irc"), `accountId` (empty: the channel's default account)
  /// and `to` (the peer: "user:<id>", "group:<id>", "channel:<id>", or a bare user id). email: `to`, the
  /// recipient address.
  std::string channel;
  std::string accountId;
  std::string to;
  /// webhook: `url` (http/https) and `secret` (a SecretInput, required: every alert is signed,
  /// docs/webhooks.md "Outbound").
  std::string url;
  std::string secret;
  std::optional<SecretRef> secretRef;
  /// Why a configured secret (webhook `secret`, email `smtp.password`) has no value; empty otherwise.
  std::string secretUnavailable;
  /// email: `from` (the sender address) and `smtp.{host, port, security, username, password}`.
  std::string from;
  std::string smtpHost;
  /// `smtp.port`; 0: 587 with security "starttls", 465 with "tls", 25 with "none".
  int64_t smtpPort = 0;
  /// `smtp.security`: "starttls" (default: STARTTLS required), "tls" (implicit TLS, smtps) or "none".
  std::string smtpSecurity = "starttls";
  std::string smtpUsername;
  /// `smtp.password` (a SecretInput).
  std::string smtpPassword;
  std::optional<SecretRef> smtpPasswordRef;
};

/// `gateway.alerts` (Talon-only; OpenClaw has no such key): the targets operators are told on, for
/// incidents such as a channel account that stays down. docs/alerts.md.
struct AlertsConfig {
  std::vector<AlertTargetConfig> targets;
  /// `cooldownSeconds`: an open incident is alerted once, and again only after this long (seconds).
  int64_t cooldownSeconds = 3600;
  /// `rateLimit.burst`: alerts a target may take at once (the token bucket's size).
  int64_t rateLimitBurst = 10;
  /// `rateLimit.refillSeconds`: one more alert is allowed every this many seconds, up to the burst.
  int64_t rateLimitRefillSeconds = 60;
};

/// `gateway.metrics` (a Talon-only section: OpenClaw 2026.9.6 serves no /metrics). docs/metrics.md.
struct GatewayMetricsConfig {
  /// `gateway.metrics.allowUnauthenticatedLoopback` (default false): GET /metrics from a loopback peer
  /// (no proxy headers) is answered without a bearer token. Every other scrape needs a token whose
  /// caller holds operator.read.
  bool allowUnauthenticatedLoopback = false;
};

/// One entry of `gateway.probes` (a Talon-only key; OpenClaw has no synthetic probes): a check the gateway
/// runs on an interval and reports as the health record `probe:<name>` and the talon_probe_* metrics.
/// docs/probes.md.
struct SyntheticProbeConfig {
  /// Unique among the probes; letters, digits, `-`, `_` and `.`.
  std::string name;
  /// "provider": a small completion against `model` (reachability, latency, success); "cron": the
  /// scheduler is running and its next wake is not overdue by more than `timeoutSeconds`; "channel": a
  /// ping/expect round trip on a channel account (`text` sent to `to`, a reply containing `expect`).
  std::string kind;
  /// provider: the model to call, "provider/model"; the provider must be configured.
  std::string model;
  /// provider: the user message sent.
  std::string prompt = "Reply with the single word OK.";
  /// channel: the configured channel ("irc", "telegram", ...).
  std::string channel;
  /// channel: the account of `channel` that sends and receives; resolved at load to the channel's default
  /// account when not written (so never empty in a valid channel probe).
  std::string accountId;
  /// channel: the peer pinged, as a target's `to` ("user:<id>", "group:<id>", "channel:<id>" or a bare
  /// user id), e.g. an echo bot.
  std::string to;
  /// channel: the text sent; a fresh nonce is always appended ("<text> <nonce>").
  std::string text = "talon-probe";
  /// channel: what the reply must contain; empty: the nonce of the run.
  std::string expect;
  /// How often the probe runs, seconds (10..86400; default 300).
  int64_t intervalSeconds = 300;
  /// provider: the call's budget; cron: how late the next wake may be; channel: how long the round trip
  /// (the send and the reply) may take. Seconds (1..600; default 30).
  int64_t timeoutSeconds = 30;
  /// `alertAfter`: failed runs in a row before the probe is the incident `probe:<name>` for
  /// gateway.alerts (1..100; default 2); its next success resolves it.
  int64_t alertAfter = 2;
};

/// One entry of `gateway.roles.definitions` (OpenClaw docs/gateway/operator-scopes.md "Named operator
/// roles"; dist/zod-schema-*.mjs GatewayOperatorRoleDefinitionSchema): a ceiling on the operator scopes a
/// caller bound to the role holds, and the agents it may run. Talon binds named operator tokens to roles
/// (docs/security.md "Operator tokens").
struct OperatorRoleConfig {
  /// `scopes`: operator scope names of the closed set ("operator.read", ...), duplicates dropped, in
  /// the order written.
  std::vector<std::string> scopes;
  /// `agents`: normalised agent ids the role may run (chat.send, agent); nullopt for `"*"` (every agent).
  /// An empty list allows no agent.
  std::optional<std::vector<std::string>> agents;
  /// `sessions.others`: Talon has no per-person session ownership, so only "write" (every session is
  /// shared, Talon's behaviour) is accepted; "none" | "view" | "suggest" are refused as not supported yet.
  std::string sessionsOthers = "write";
};

/// `gateway.roles` (OpenClaw: optional; when present `default` and a non-empty `definitions` are
/// required and `default` names a definition). Talon also knows the built-in roles `admin` and
/// `operator` (security/operator_roles.h), which a definition of the same name overrides.
struct GatewayRolesConfig {
  /// `gateway.roles` was written.
  bool configured = false;
  /// `default`: the role of a named operator token whose own role is no longer defined (OpenClaw: "applies
  /// to profiles without a valid assigned role"); empty when `gateway.roles` is absent.
  std::string defaultRole;
  /// `definitions`, by role name (trimmed, 1..128 characters).
  std::map<std::string, OperatorRoleConfig> definitions;
};

/// `gateway`.
/// `gateway.controlUi`: the browser UI the gateway serves (Talon: the WebChat page, docs/channels.md
/// "WebChat") and the browser-origin policy of WebSocket connects. OpenClaw's keys and defaults
/// (docs/web/control-ui.md; dist/origin-check-*.mjs checkBrowserOrigin).
struct ControlUiConfig {
  /// `gateway.controlUi.enabled` (default true): serve the page and its assets.
  bool enabled = true;
  /// `gateway.controlUi.basePath`: URL prefix of every page path ("" or "/talon"; normalised to a
  /// leading '/' and no trailing '/').
  std::string basePath;
  /// `gateway.controlUi.allowedOrigins`: browser origins ("https://chat.example.com", or "*") allowed
  /// to open a WebSocket besides the gateway's own host; lower-cased, trailing '/' removed.
  std::vector<std::string> allowedOrigins;
  /// `gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback`: accept an Origin whose host equals
  /// the request's Host header even on a public host name (default false).
  bool allowHostHeaderOriginFallback = false;
};

struct GatewayConfig {
  /// Listening port; precedence `--port` > `TALON_GATEWAY_PORT` > `gateway.port` > 18789 (applied by the CLI).
  int port = 18789;
  /// `gateway.mode`: "local" (run the gateway). OpenClaw's "remote" (client mode) is reported as not
  /// supported yet.
  std::string mode = "local";
  /// "loopback" | "lan" | "auto" | "custom" ("tailnet" is not supported yet).
  std::string bind = "loopback";
  /// With bind "custom": the address to listen on.
  std::string customBindHost;
  GatewayAuthConfig auth;
  /// `gateway.trustedProxies`: addresses or CIDR ranges of reverse proxies whose X-Forwarded-For (and,
  /// with allowRealIpFallback, X-Real-IP) name the client (OpenClaw's semantics, dist/net-*.mjs
  /// resolveClientIp). Checked to be addresses/CIDRs by validation.
  std::vector<std::string> trustedProxies;
  /// `gateway.allowRealIpFallback`: from a trusted proxy without a usable X-Forwarded-For, take X-Real-IP.
  bool allowRealIpFallback = false;
  GatewayLimitsConfig limits;
  /// `gateway.idempotency` (Talon-only).
  GatewayIdempotencyConfig idempotency;
  /// `gateway.channelHealth` (Talon-only).
  ChannelHealthConfig channelHealth;
  /// `gateway.metrics` (Talon-only).
  GatewayMetricsConfig metrics;
  /// `gateway.probes` (Talon-only), in config order.
  std::vector<SyntheticProbeConfig> probes;
  /// `gateway.alerts` (Talon-only).
  AlertsConfig alerts;
  ControlUiConfig controlUi;
  /// `gateway.roles`: named operator roles.
  GatewayRolesConfig roles;
  /// `gateway.http.endpoints.chatCompletions.enabled` (default false): serves /v1/chat/completions
  /// and /v1/models.
  bool chatCompletionsEnabled = false;
  /// `gateway.reload.mode`: "hybrid" (default: watch the file, apply what can be applied live, report
  /// what needs a restart) or "off" (watch and validate only). config/reload_plan.h.
  std::string reloadMode = "hybrid";
};

/// A model reference: `"provider/model"` string, or `{primary, fallbacks}`.
struct ModelRef {
  std::string primary;  // "provider/model"; empty when unset
  std::vector<std::string> fallbacks;
  /// `fallbacks` was written (even as `[]`): an agent entry with its own fallbacks is not strict
  /// (OpenClaw docs/concepts/model-failover.md, "Selection source policy").
  bool fallbacksSet = false;
};

/// Provider request parameters (`params`) that Talon applies, by OpenClaw's names (docs/gateway/
/// config-agents/models.md). Other OpenClaw params keys are refused as not supported yet.
struct ModelParams {
  std::optional<double> temperature;  // sampling temperature, 0..2
  std::optional<int64_t> maxTokens;   // the reply's token cap (overrides the provider's and model's)
};

/// One `models["provider/model"]` entry of `agents.defaults` or `agents.entries.<id>`: an alias and
/// per-model params. Entries never restrict selection (that is modelPolicy).
struct ModelEntryConfig {
  std::string ref;                   // the map key as written ("provider/model" or "provider/*")
  std::optional<std::string> alias;  // `alias`; "" disables an alias set at a lower layer
  ModelParams params;
};

/// `modelPolicy`: the allowlist of model overrides (aliases, exact refs, trailing `provider/*`
/// wildcards at a segment boundary). Unset or `[]`: any model.
struct ModelPolicyConfig {
  bool allowSet = false;  // `allow` was written (an agent's `[]` opts it into allow-any)
  std::vector<std::string> allow;
};

/// `heartbeat.activeHours` (OpenClaw docs/gateway/heartbeat.md "activeHours"): the window in which
/// scheduled heartbeats run, in minutes of the local day; start inclusive, end exclusive; an end before
/// the start spans midnight; start == end is a zero-width window (never inside).
struct HeartbeatActiveHoursConfig {
  /// `start` "HH:MM" as minutes (0..1439; unset: 0).
  int startMinute = 0;
  /// `end` "HH:MM" as minutes (0..1440, "24:00" = 1440; unset: 1440).
  int endMinute = 1440;
  /// `timezone`: an IANA zone; "" (unset, "user" or "local"): the host's zone.
  std::string timezone;
};

/// `agents.defaults.heartbeat` / `agents.entries.<id>.heartbeat` (OpenClaw docs/gateway/heartbeat.md,
/// docs/gateway/config-agents/heartbeat-compaction-and-streaming.md; zod HeartbeatSchema, strict). Each
/// field is optional: an entry's block merges over the defaults' field by field. Talon implements every
/// key of OpenClaw's strict HeartbeatSchema.
struct HeartbeatConfig {
  /// `every` (a duration, default unit minutes) in ms; 0 disables the recurring cadence.
  std::optional<int64_t> everyMs;
  /// `prompt`: the heartbeat turn's message (sent verbatim; not merged).
  std::optional<std::string> prompt;
  /// `target`: "owner" (the default when unset: the operator's DM from commands.ownerAllowFrom, then a
  /// channel's allowFrom) | "last" (the session's last external route) | "none" | a channel id
  /// ("telegram", "loopback", …).
  std::optional<std::string> target;
  /// `to`: the recipient on a channel target ("user:<id>", "group:<id>", "channel:<id>" or a bare id).
  std::optional<std::string> to;
  /// `accountId`: the channel account.
  std::optional<std::string> accountId;
  /// `directPolicy`: "allow" (default) | "block" (no delivery to a direct peer; reason dm-blocked).
  std::optional<std::string> directPolicy;
  std::optional<HeartbeatActiveHoursConfig> activeHours;
  /// `timeoutSeconds` (> 0): the turn's budget.
  std::optional<int64_t> timeoutSeconds;
  /// `session`: "main" (default) or a session key (an `agent:` key as given, any other key under the agent).
  std::optional<std::string> session;
  /// `isolatedSession`: each heartbeat in a fresh session.
  std::optional<bool> isolatedSession;
  /// `model`: the model of heartbeat turns as written ("provider/model" or an alias), resolved per agent
  /// (config/heartbeat_config.h resolveHeartbeatModel).
  std::optional<std::string> model;
  /// `lightContext`: heartbeat turns skip the workspace bootstrap files (the checklist is still sent).
  std::optional<bool> lightContext;
  /// `agentId` (agents.defaults.heartbeat only): the one agent that runs the shared heartbeat when no
  /// entry has a heartbeat block of its own.
  std::optional<std::string> agentId;
};

/// `spendLimit` (Talon-only; docs/providers.md "Spending limits"): cost ceilings of one agent, in the unit
/// of the price table (`models.providers.*.models[].cost`: USD per million tokens, so USD), over the UTC
/// calendar day and month. A turn that would start with the agent's recorded spend at or over a ceiling
/// is refused. nullopt: no ceiling.
struct SpendLimitConfig {
  std::optional<double> dailyUsd;
  std::optional<double> monthlyUsd;
};

/// `routing` (Talon-only; docs/providers.md "Routing"): how an agent orders its candidate chain (the
/// primary, then `fallbacks`) before a turn's first model call. Every key is optional; an entry's key
/// replaces the defaults' one (gateway/agent/model_routing.h effectiveRoutingPolicy).
struct RoutingConfig {
  std::optional<std::string> strategy;      // "ordered" (default) | "latency" | "cost" | "health"
  std::optional<int64_t> latencySloMs;      // > 0; required when the effective strategy is "latency"
  std::optional<double> maxCostPerMTokUsd;  // > 0: input + output USD per million tokens ("cost")
  std::optional<int64_t> minCalls;          // >= 1 (default 5): calls before latency/health data counts
};

/// `agents.defaults.compaction` (OpenClaw docs/gateway/config-agents/heartbeat-compaction-and-streaming.md):
/// the keys Talon implements (config/compaction_config.h reads them; the others are warned about).
struct CompactionConfig {
  bool enabled = true;               // threshold compaction before a turn (overflow recovery runs anyway)
  int64_t keepRecentTokens = 20000;  // recent transcript tail kept verbatim, in estimated tokens
  int recentTurnsPreserve = 3;       // recent user turns kept verbatim
  int64_t timeoutSeconds = 180;      // budget of the summarisation call
  std::string model;                 // "provider/model" or alias as written; empty: the session's model
  bool notifyUser = false;           // chat status events when compaction starts and completes
};

/// `agents.defaults`.
struct AgentDefaultsConfig {
  ModelRef model;
  /// `agents.defaults.models`, in file order (a later alias for the same name wins, as in OpenClaw).
  std::vector<ModelEntryConfig> models;
  /// `agents.defaults.params`: the base of every model's params.
  ModelParams params;
  /// `agents.defaults.modelPolicy`.
  ModelPolicyConfig modelPolicy;
  std::string workspace;  // empty: <stateDir>/workspace (default agent) or <stateDir>/workspace-<id>
  /// `agents.defaults.maxConcurrent`: global cap on concurrently running turns (0: default max(8, 4*CPUs)).
  int maxConcurrent = 0;
  /// `agents.defaults.timeoutSeconds`: one turn's budget (0: default).
  int64_t timeoutSeconds = 0;
  /// `agents.defaults.heartbeat` (nullopt: not written).
  std::optional<HeartbeatConfig> heartbeat;
  /// `agents.defaults.spendLimit` (Talon-only): every agent's cost ceilings unless its entry sets its own.
  SpendLimitConfig spendLimit;
  /// `agents.defaults.routing` (Talon-only): every agent's routing policy unless its entry sets its own keys.
  RoutingConfig routing;
  /// `agents.defaults.compaction`.
  CompactionConfig compaction;
};

/// `agents.entries.<id>`.
struct AgentEntryConfig {
  std::string id;  // the map key
  std::string name;
  std::string workspace;  // empty: from defaults
  ModelRef model;         // empty primary: from defaults
  /// `agents.entries.<id>.models`: the agent's aliases and per-model params (over the defaults').
  std::vector<ModelEntryConfig> models;
  /// `agents.entries.<id>.params`: agent-wide params (the last layer).
  ModelParams params;
  /// `agents.entries.<id>.modelPolicy`: replaces the defaults' policy when `allow` is written.
  ModelPolicyConfig modelPolicy;
  /// `agents.entries.<id>.heartbeat` (nullopt: not written): merged over the defaults' block.
  std::optional<HeartbeatConfig> heartbeat;
  /// `agents.entries.<id>.spendLimit` (Talon-only): each ceiling it sets replaces the defaults' one.
  SpendLimitConfig spendLimit;
  /// `agents.entries.<id>.routing` (Talon-only): each key it sets replaces the defaults' one.
  RoutingConfig routing;
};

/// `agents`.
struct AgentsConfig {
  /// "" (unset) | "explicit". Required to be "explicit" with two or more entries.
  std::string ownership;
  AgentDefaultsConfig defaults;
  /// Roster in file order (the order matters for display only).
  std::vector<AgentEntryConfig> entries;
  /// True when the file has no `agents.entries`: `entries` then holds only the implicit agent "main".
  bool implicitMain = false;
};

/// `bindings[].match.peer`.
struct PeerMatch {
  std::string kind;  // "direct" | "group" | "channel" ("dm" is normalised to "direct")
  std::string id;    // "*" is a per-kind wildcard
};

/// `bindings[].match`.
struct BindingMatch {
  std::string channel;                   // required
  std::optional<std::string> accountId;  // omitted: default account only; "*": every account
  std::optional<PeerMatch> peer;
  std::optional<std::string> guildId;
  std::optional<std::string> teamId;
  std::vector<std::string> roles;
};

/// `bindings[]` (type "route"; "acp" bindings are reported as not supported yet).
struct BindingConfig {
  std::string agentId;
  std::string comment;
  BindingMatch match;
  std::optional<std::string> dmScope;     // `session.dmScope` override for matched peers
  std::optional<std::string> groupScope;  // `session.groupScope` override
  /// Index of this binding in the file's `bindings` array (bindings Talon cannot use are left out, so
  /// it can differ from the position in TalonConfig::bindings).
  std::size_t index = 0;
};

/// The values of `session.dmScope` (and `bindings[].session.dmScope`).
inline constexpr std::string_view kDmScopes[] = {"main", "per-peer", "per-channel-peer", "per-account-channel-peer"};
/// The values of `session.groupScope` (and `bindings[].session.groupScope`).
inline constexpr std::string_view kGroupScopes[] = {"main", "per-group"};

/// `session`.
struct SessionConfig {
  /// "main" | "per-peer" | "per-channel-peer" | "per-account-channel-peer".
  std::string dmScope = "main";
  /// "per-group" | "main".
  std::string groupScope = "per-group";
};

/// `models.providers.<id>.models[].cost`: prices in USD per million tokens (OpenClaw's unit).
struct ModelCost {
  double input = 0;
  double output = 0;
  double cacheRead = 0;
  double cacheWrite = 0;
};

/// `models.providers.<id>.models[]` (the subset Talon reads).
struct ProviderModelConfig {
  std::string id;
  std::string name;
  std::optional<int64_t> contextWindow;
  std::optional<int64_t> maxTokens;
  std::optional<ModelCost> cost;
  /// Input modalities, "text" and/or "image" (empty: unset, OpenClaw then assumes ["text"]).
  std::vector<std::string> input;
};

/// `models.providers.<id>`.
struct ProviderConfig {
  std::string id;       // the map key
  std::string baseUrl;  // e.g. "https://api.openai.com/v1", "http://127.0.0.1:11434/v1"
  /// Resolved API key (a literal, `${ENV}`, or `{source:"env", provider, id}`); empty when none or when
  /// the variable is unset (then `apiKeyUnavailable` says why).
  std::string apiKey;
  std::string apiKeyUnavailable;
  /// `apiKey` given as a file, exec or store ref, read by the secret resolver into `apiKey` (or
  /// `apiKeyUnavailable`).
  std::optional<SecretRef> apiKeyRef;
  std::string api = "openai-completions";
  std::map<std::string, std::string> headers;
  /// `authHeader: true`: send the key in the `Authorization` header even where the API has its own
  /// header (e.g. anthropic-messages' x-api-key). Unset: the API's default.
  std::optional<bool> authHeader;
  /// Where the entry comes from: "config" (models.providers.<id>) or "catalog" (an OpenClaw bundled
  /// provider a model ref names, added implicitly under `models.mode: "merge"`; provider_catalog.h).
  std::string source = "config";
  /// The env var the key was read from when it came from the catalog's env vars (not the config);
  /// empty otherwise.
  std::string apiKeyEnv;
  /// Header values given as file, exec or store refs, by header name; the resolver moves each resolved
  /// value into `headers` (an unresolved one leaves the header out and sets `apiKeyUnavailable`).
  std::map<std::string, SecretRef> headerRefs;
  std::optional<int64_t> timeoutSeconds;
  std::optional<int64_t> maxTokens;
  std::vector<ProviderModelConfig> models;
};

/// `auth.profiles.<id>`: one credential of a model provider (OpenClaw docs/gateway/config-secrets-env.md
/// "Auth storage", docs/concepts/model-failover.md; dist zod-schema `auth`). OpenClaw keeps the credential
/// itself in its per-agent SQLite store; Talon has no such store and reads it from the Talon-only
/// `apiKey` (mode "api_key") or `token` (mode "token"), each a SecretInput.
struct AuthProfileConfig {
  std::string id;        // the map key, e.g. "anthropic:work" (OpenClaw: `provider:default`, `provider:<email>`)
  std::string provider;  // provider id, lower-cased
  std::string mode;      // "api_key" | "token" ("oauth", "aws-sdk": not supported by Talon yet)
  std::string email;
  std::string displayName;
  /// The resolved credential (api_key: `apiKey`; token: `token`); empty when none is configured (an
  /// api_key profile then uses the provider's own key) or unavailable (`unavailable` says why).
  std::string secret;
  std::string unavailable;
  /// A file, exec or store ref, read by the secret resolver into `secret` (or `unavailable`).
  std::optional<SecretRef> secretRef;
  /// True when `apiKey`/`token` was written.
  bool hasSecret = false;
};

/// `auth`: credential profiles and their rotation order per provider.
struct AuthConfig {
  std::vector<AuthProfileConfig> profiles;  // file order
  /// `auth.order.<provider>`: profile ids in the order they are tried.
  std::map<std::string, std::vector<std::string>> order;
};

/// `commands` (OpenClaw docs/tools/slash-commands.md, docs/gateway/heartbeat.md): Talon reads
/// `ownerAllowFrom` only; its other keys are refused as not supported yet.
struct CommandsConfig {
  /// `ownerAllowFrom`: the operator's identities ("telegram:123456789", or a bare id for any channel),
  /// numbers written as their decimal text, in file order. The first concrete direct entry is the
  /// heartbeat's `owner` target.
  std::vector<std::string> ownerAllowFrom;
};

/// `logging`.
struct LoggingConfig {
  /// `logging.level` in Talon's names (OpenClaw "silent" -> "off", "fatal" -> "critical", the others
  /// unchanged); empty when unset (the gateway then logs at "info").
  std::string level;
};

/// `channels.<channel>.groups.<groupId>` (the key "*" holds the defaults of every group).
struct ChannelGroupConfig {
  /// `requireMention`: only messages that mention the agent are processed (unset: inherits "*", then true).
  std::optional<bool> requireMention;
};

/// The access settings of a channel (`channels.<channel>`) or of one of its accounts
/// (`channels.<channel>.accounts.<accountId>`): DM policy, group policy, allowlists and group settings
/// (OpenClaw docs/gateway/config-channels/shared-policies.md, docs/channels/groups.md). Unset fields
/// inherit: account → channel → built-in default.
struct ChannelAccessConfig {
  /// "pairing" | "allowlist" | "open" | "disabled" (default "pairing").
  std::optional<std::string> dmPolicy;
  /// Senders admitted in direct messages; "*" admits every sender.
  std::optional<std::vector<std::string>> allowFrom;
  /// "allowlist" | "open" | "disabled" (default `channels.defaults.groupPolicy`, then "allowlist").
  std::optional<std::string> groupPolicy;
  /// Senders admitted in groups; unset or empty falls back to `allowFrom` (never the pairing store).
  std::optional<std::vector<std::string>> groupAllowFrom;
  /// Groups by id ("*": every group); under groupPolicy "allowlist" the keys are the allowed groups.
  /// An account's map replaces the channel's (no deep merge).
  std::optional<std::map<std::string, ChannelGroupConfig>> groups;
};

/// The transport settings of a channel or of one of its accounts: the keys its adapter declares
/// (config/channel_transports.h) plus `enabled` and `name`, for the adapter's factory.
struct ChannelSettings {
  /// Values by key, as written; a secret setting holds its value once known (`${VAR}` at load, file/exec/
  /// store refs after security::resolveConfigSecrets), else it is absent.
  json::object values;
  /// Secret settings given as file/exec/store refs, by key (resolved into `values` at start).
  std::map<std::string, SecretRef> secretRefs;
  /// Why a configured secret setting has no value, by key (an unset env var, an unreadable ref).
  std::map<std::string, std::string> unavailable;
};

/// `channels.<channel>`: access (the gate) and transport (the adapter) settings.
struct ChannelConfig {
  std::string id;  // the map key ("telegram", "loopback", ...)
  ChannelAccessConfig access;
  /// `accounts.<accountId>`, by account id as written.
  std::map<std::string, ChannelAccessConfig> accounts;
  /// The channel-level transport settings (the defaults of every account, and the settings of the
  /// implicit "default" account when `accounts` is empty).
  ChannelSettings settings;
  /// The transport settings of each `accounts.<accountId>` object, by account id (same keys as
  /// `accounts`).
  std::map<std::string, ChannelSettings> accountSettings;
  /// `defaultAccount`: the account that sends when none is named; empty = "default", else the first.
  std::string defaultAccount;
};

/// The values of `dmPolicy`.
inline constexpr std::string_view kDmPolicies[] = {"pairing", "allowlist", "open", "disabled"};
/// The values of `groupPolicy`.
inline constexpr std::string_view kGroupPolicies[] = {"allowlist", "open", "disabled"};

/// `channels`.
struct ChannelsConfig {
  /// `channels.defaults.groupPolicy`: the group policy of a configured channel that sets none.
  std::optional<std::string> defaultGroupPolicy;
  /// Configured channels in file order.
  std::vector<ChannelConfig> entries;
};

/// One entry of `hooks.mappings` (OpenClaw docs/gateway/config-hooks.md, "Mapping details"): the first
/// mapping whose match holds owns a request to `<hooks.path>/<subPath>`.
struct HookMappingConfig {
  /// `id`; "mapping-<n>" (1-based position) when not set.
  std::string id;
  /// `match.path`: the sub-path after hooks.path without leading/trailing '/'; "" matches any path.
  std::string matchPath;
  /// `match.source`: equals the payload's string `source`; "" matches any.
  std::string matchSource;
  /// `action`: "agent" (Talon does not implement "wake" yet: refused at load).
  std::string action = "agent";
  /// `name`: templated run label ("Hook" when empty).
  std::string name;
  /// `agentId`: the target agent ("" = the default agent).
  std::string agentId;
  /// `sessionKey`: static or templated logical session key ("" = hooks.defaultSessionKey or generated).
  std::string sessionKey;
  /// `sessionMode`: "isolated" (a fresh session per run) | "persistent" (the resolved session).
  std::string sessionMode = "isolated";
  /// `messageTemplate`: the agent's input ({{payload.x}}, {{headers.x}}, {{query.x}}, {{path}}, {{now}}).
  std::string messageTemplate;
  /// `timeoutSeconds`: the turn's budget (nullopt: the agent's default).
  std::optional<int64_t> timeoutSeconds;
};

/// `hooks.signing` (Talon-only; OpenClaw has no such key: docs/webhooks.md): HMAC-SHA256 request
/// signatures with a replay window, accepted in place of the hook token.
struct HooksSigningConfig {
  /// The shared signing secret (a SecretInput); empty: signatures are not accepted.
  std::string secret;
  /// When true a request must carry a valid signature; the token alone is refused.
  bool required = false;
  /// Largest distance between the signed timestamp and now, seconds.
  int64_t toleranceSeconds = 300;
};

/// `hooks` (OpenClaw docs/gateway/config-hooks.md): the HTTP ingress `POST <path>/agent` and
/// `POST <path>/<mapping>`.
struct HooksConfig {
  bool enabled = false;
  /// `hooks.token` (required when enabled).
  std::string token;
  /// `hooks.path`, normalized: a leading '/', no trailing '/'; never "/".
  std::string path = "/hooks";
  /// `hooks.allowedAgentIds`: nullopt (or containing "*") allows every agent; [] denies all.
  std::optional<std::vector<std::string>> allowedAgentIds;
  /// `hooks.defaultSessionKey` ("" = a generated `hook:<uuid>`).
  std::string defaultSessionKey;
  bool allowRequestSessionKey = false;
  /// `hooks.allowedSessionKeyPrefixes`, lower-cased, blanks dropped; empty: no restriction.
  std::vector<std::string> allowedSessionKeyPrefixes;
  std::vector<HookMappingConfig> mappings;
  HooksSigningConfig signing;
  /// Largest request body, bytes (OpenClaw's DEFAULT_HOOKS_MAX_BODY_BYTES, 256 KiB; not a config key).
  int64_t maxBodyBytes = 262'144;
};

/// `cron.failureAlert` (OpenClaw docs/automation/cron-jobs, "Failure alerts"; openclaw-semantics.md §4):
/// the global alert policy for repeated job failures. A job's own `failureAlert` fields win over it.
struct CronFailureAlertConfig {
  /// The object was written in the config (OpenClaw: a global failureAlert object turns alerts on for
  /// every job that does not opt out).
  bool configured = false;
  /// `enabled` (default true when the object is present).
  bool enabled = true;
  /// Consecutive errors before the first alert of an incident (≥ 1).
  int64_t after = 2;
  /// Least time between two alerts of one job, ms (≥ 0).
  int64_t cooldownMs = 3'600'000;
  /// Skipped runs count towards `after` too.
  bool includeSkipped = false;
  /// "announce" (a channel message) | "webhook" (a POST to `to`).
  std::string mode = "announce";
  /// announce: the channel ("telegram", …); webhook: unused.
  std::string channel;
  /// announce: the peer ("user:<id>", "group:<id>", …); webhook: the http(s) URL.
  std::string to;
  /// announce: the account to send from (empty: the channel's default).
  std::string accountId;
};

/// `cron.escalation` (Talon-only; OpenClaw has no such key: docs/cron.md "Escalation"): what the
/// scheduler does while a recurring job keeps failing. The retry after error n (n ≥ 1) waits
/// min(maxMs, initialMs·2^(n-1)) instead of the job's normal cadence; the job is disabled after
/// `disableAfter` consecutive errors.
struct CronEscalationConfig {
  /// `retryBackoff.initialMs`: the wait after the first error, ms (≥ 1000). Default 1 min.
  int64_t retryInitialMs = 60'000;
  /// `retryBackoff.maxMs`: the longest wait, ms (≥ initialMs). Default 60 min.
  int64_t retryMaxMs = 3'600'000;
  /// `disableAfter`: consecutive errors that disable the job (state.autoDisabled reason
  /// "consecutive-failures"); 0 never disables. Default 10 (OpenClaw's backstop).
  int64_t disableAfter = 10;
};

/// `cron` (OpenClaw docs/gateway/config-automation.md; openclaw-semantics.md §4 "Config"): the scheduler.
/// Implemented: enabled, skipMissedJobs, failureAlert, webhookToken, sessionRetention (only `false` /
/// "0h": Talon does not prune cron sessions yet) and Talon's `escalation`. `triggers` and
/// `webhookSsrfPolicy` are reported as not supported yet.
struct CronConfig {
  /// `enabled` (default true): false keeps the scheduler stopped (jobs stay stored; cron.status says
  /// enabled:false). OPENCLAW_SKIP_CRON=1 / TALON_SKIP_CRON=1 in the environment do the same.
  bool enabled = true;
  /// `skipMissedJobs`: after downtime, a recurring job's missed slots are skipped (true) or run once
  /// (false, default).
  bool skipMissedJobs = false;
  CronFailureAlertConfig failureAlert;
  /// `webhookToken`: sent as `Authorization: Bearer <token>` with webhook deliveries and alerts; empty:
  /// none. A SecretInput (string, `${VAR}`, or a ref resolved by security::resolveConfigSecrets).
  std::string webhookToken;
  /// webhookToken given as a file/exec/store ref (resolved into webhookToken at start).
  std::optional<SecretRef> webhookTokenRef;
  /// Why a configured webhookToken has no value (an unset env var, an unreadable ref); empty otherwise.
  std::string webhookTokenUnavailable;
  CronEscalationConfig escalation;
};

/// The whole effective config.
struct TalonConfig {
  GatewayConfig gateway;
  AgentsConfig agents;
  std::vector<BindingConfig> bindings;
  SessionConfig session;
  std::vector<ProviderConfig> providers;  // file order, then implicit catalog providers
  /// `models.mode`: "merge" (default: OpenClaw's bundled providers that a model ref names are added
  /// from the catalog) | "replace" (only `models.providers`).
  std::string modelsMode = "merge";
  LoggingConfig logging;
  SecretsConfig secrets;
  AuthConfig auth;
  ChannelsConfig channels;
  HooksConfig hooks;
  CronConfig cron;
  CommandsConfig commands;
};

}  // namespace talon::config
