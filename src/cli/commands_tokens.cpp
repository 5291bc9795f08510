// talon tokens create --name <n> --role <r> [--expires <duration>] [--config <path>] [--json]
// talon tokens list [--json]
// talon tokens revoke <name> [--json]
// Named operator tokens bound to a role (docs/security.md "Operator tokens"). Like `talon pairing`, these
// work on the state dir's database (<stateDir>/state/talon.sqlite) whether or not a gateway is running:
// SQLite's WAL lets the CLI and a running gateway share the file, and the gateway looks a token up at
// every connect, so a new token works and a revoked one is refused from the next connect on. Each create
// and revoke is a record of the state dir's audit chain ("operator.token.create" / "operator.token.revoke").
#include <charconv>
#include <ctime>
#include <iostream>

#include "base/clock.h"
#include "cli/cli_audit.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/state_store.h"
#include "cli/vault_access.h"
#include "config/config_loader.h"
#include "config/config_paths.h"
#include "security/audit_sink.h"
#include "security/operator_roles.h"
#include "security/operator_token_authenticator.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace talon::cli {
namespace {

struct TokenOptions {
  std::string name;
  std::string role;
  std::string expires;
  std::string configPath;
  bool json = false;
};

/// --expires: a positive duration "<n>m", "<n>h", "<n>d" or "<n>w" (minutes, hours, days, weeks), in ms.
Result<int64_t> parseExpires(const std::string& text) {
  auto bad = [&] {
    const std::string msg = "--expires " + text + ": expected a duration such as 90m, 12h, 30d or 4w";
    return fail(ErrorCode::kInvalidArgument, msg, msg);
  };
  if (text.size() < 2) return bad();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || end != text.data() + text.size() - 1 || n <= 0 || n > 100'000) return bad();
  switch (text.back()) {
    case 'm':
      return n * 60'000;
    case 'h':
      return n * 3'600'000;
    case 'd':
      return n * 86'400'000;
    case 'w':
      return n * 7 * 86'400'000;
    default:
      return bad();
  }
}

std::string stateOf(const store::OperatorTokenRecord& r, int64_t now) {
  if (r.revokedAtMs != 0) return "revoked";
  if (r.expiresAtMs != 0 && now >= r.expiresAtMs) return "expired";
  return "active";
}

json::object tokenJson(const store::OperatorTokenRecord& r, int64_t now) {
  json::object o{{"name", r.name},
                 {"role", r.role},
                 {"prefix", r.tokenPrefix},
                 {"state", stateOf(r, now)},
                 {"createdBy", r.createdBy},
                 {"createdAtMs", r.createdAtMs},
                 {"expiresAtMs", r.expiresAtMs == 0 ? json::value(nullptr) : json::value(r.expiresAtMs)},
                 {"revokedAtMs", r.revokedAtMs == 0 ? json::value(nullptr) : json::value(r.revokedAtMs)},
                 {"lastUsedAtMs", r.lastUsedAtMs == 0 ? json::value(nullptr) : json::value(r.lastUsedAtMs)}};
  return o;
}

/// Appends `event` to the audit chain; a failure to record is reported, not hidden.
Status audit(store::Store& store, security::AuditEvent event) {
  return appendCliAudit(store, cliStateDir(), std::move(event));
}

int createToken(const TokenOptions& o) {
  if (!store::isValidOperatorTokenName(o.name)) {
    const std::string msg = "--name " + o.name + ": expected 1..64 characters of A-Z a-z 0-9 . _ -";
    return reportError(Error(ErrorCode::kInvalidArgument, msg, msg));
  }
  config::LoadOptions lo;
  if (!o.configPath.empty()) lo.configPath = std::filesystem::path(o.configPath);
  auto loaded = config::loadConfig(lo);
  if (!loaded) return reportError(loaded.error());
  auto roles = security::OperatorRoles::fromConfig(loaded->config.gateway.roles);
  std::string roleName = o.role.empty() ? roles.defaultRole() : o.role;
  if (roleName.empty()) {
    return reportError(
        Error(ErrorCode::kInvalidArgument, "--role missing", "--role is required (gateway.roles.default is not set)"));
  }
  if (roles.find(roleName) == nullptr) {
    std::string known;
    for (const auto& r : roles.all()) known += (known.empty() ? "" : ", ") + r.name;
    const std::string msg = "unknown role \"" + roleName + "\" (roles: " + known + ")";
    return reportError(Error(ErrorCode::kInvalidArgument, msg, msg));
  }
  int64_t ttl = 0;
  if (!o.expires.empty()) {
    auto parsed = parseExpires(o.expires);
    if (!parsed) return reportError(parsed.error());
    ttl = *parsed;
  }
  auto store = openStateStore(MissingStore::kCreate);
  if (!store) return reportError(store.error());
  const int64_t now = SystemClock::instance()->nowMs();
  const std::string token = security::newOperatorToken();
  store::OperatorTokenRecord record;
  record.name = o.name;
  record.role = roleName;
  record.tokenHash = security::operatorTokenHash(token);
  record.tokenPrefix = security::operatorTokenDisplayPrefix(token);
  record.createdBy = cliActor();
  record.createdAtMs = now;
  record.expiresAtMs = ttl == 0 ? 0 : now + ttl;
  store::WriteBatch batch;
  store::OperatorTokenRepository::create(batch, record);
  auto written = (*store)->write(std::move(batch));

  security::AuditEvent event;
  event.kind = "operator.token.create";
  event.actor = cliActor();
  event.target = o.name;
  event.outcome = written ? security::AuditOutcome::kAllowed : security::AuditOutcome::kFailed;
  event.details = {{"role", roleName}, {"prefix", record.tokenPrefix}};
  if (record.expiresAtMs != 0) event.details["expiresAtMs"] = record.expiresAtMs;
  if (!written) event.details["reason"] = written.error().publicMessage();
  auto audited = audit(**store, std::move(event));
  (*store)->close();
  if (!written) {
    Error e = written.error();
    // A taken name is a precondition of this command (revoke first), not a second gateway (exit 78).
    if (e.code == ErrorCode::kAlreadyExists) e.code = ErrorCode::kFailedPrecondition;
    return reportError(e);
  }
  if (!audited) return reportError(audited.error());

  if (o.json) {
    json::object out = tokenJson(record, now);
    out["token"] = token;
    printJson(out);
  } else {
    std::cout << "Created operator token \"" << o.name << "\" (role " << roleName
              << (record.expiresAtMs ? ", expires " + formatRfc3339(record.expiresAtMs) : std::string()) << ").\n"
              << "Token (shown once; store it now):\n"
              << token << "\n";
  }
  return 0;
}

int listTokens(const TokenOptions& o) {
  auto store = openStateStore(MissingStore::kCreate);
  if (!store) return reportError(store.error());
  auto tokens = (*store)->operatorTokens().list();
  (*store)->close();
  if (!tokens) return reportError(tokens.error());
  const int64_t now = SystemClock::instance()->nowMs();
  if (o.json) {
    json::array out;
    for (const auto& t : *tokens) out.push_back(tokenJson(t, now));
    printJson(json::object{{"tokens", std::move(out)}});
    return 0;
  }
  if (tokens->empty()) {
    std::cout << "No operator tokens.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : *tokens) {
    rows.push_back({t.name, t.role, t.tokenPrefix + "...", stateOf(t, now), formatAge(now - t.createdAtMs),
                    t.expiresAtMs ? formatRfc3339(t.expiresAtMs) : "never",
                    t.lastUsedAtMs ? formatAge(now - t.lastUsedAtMs) : "never"});
  }
  printTable({"NAME", "ROLE", "PREFIX", "STATE", "CREATED", "EXPIRES", "LAST USED"}, rows);
  return 0;
}

int revokeToken(const TokenOptions& o) {
  auto store = openStateStore(MissingStore::kCreate);
  if (!store) return reportError(store.error());
  const int64_t now = SystemClock::instance()->nowMs();
  auto revoked = std::make_shared<bool>(false);
  store::WriteBatch batch;
  store::OperatorTokenRepository::revoke(batch, o.name, now, revoked);
  auto written = (*store)->write(std::move(batch));
  security::AuditEvent event;
  event.kind = "operator.token.revoke";
  event.actor = cliActor();
  event.target = o.name;
  event.outcome = !written   ? security::AuditOutcome::kFailed
                  : *revoked ? security::AuditOutcome::kAllowed
                             : security::AuditOutcome::kDenied;
  if (!written) {
    event.details["reason"] = written.error().publicMessage();
  } else if (!*revoked) {
    event.details["reason"] = "no active token with this name";
  }
  auto audited = audit(**store, std::move(event));
  (*store)->close();
  if (!written) return reportError(written.error());
  if (!audited) return reportError(audited.error());
  if (!*revoked) {
    const std::string msg = "no active operator token named \"" + o.name + "\"";
    return reportError(Error(ErrorCode::kNotFound, msg, msg));
  }
  if (o.json) {
    printJson(json::object{{"name", o.name}, {"revoked", true}, {"revokedAtMs", now}});
  } else {
    std::cout << "Revoked operator token \"" << o.name << "\"; it is refused from the next connect on.\n";
  }
  return 0;
}

}  // namespace

void registerTokenCommands(CLI::App& app, int& exitCode) {
  auto* tokens = app.add_subcommand("tokens", "Named operator tokens bound to a role (admin, operator, gateway.roles)");
  tokens->require_subcommand(1);
  {
    auto o = std::make_shared<TokenOptions>();
    auto* cmd = tokens->add_subcommand("create", "Create a named operator token; the token is printed once");
    cmd->add_option("--name", o->name, "Token name (1..64 of A-Z a-z 0-9 . _ -)")->required();
    cmd->add_option("--role", o->role, "Role: admin, operator or a gateway.roles.definitions name");
    cmd->add_option("--expires", o->expires, "Lifetime: 90m, 12h, 30d, 4w (default: never expires)");
    cmd->add_option("--config", o->configPath,
                    "Config file with gateway.roles (default: TALON_CONFIG_PATH or "
                    "<stateDir>/talon.json)");
    cmd->add_flag("--json", o->json, "Print JSON (with the token)");
    cmd->callback([o, &exitCode] { exitCode = createToken(*o); });
  }
  {
    auto o = std::make_shared<TokenOptions>();
    auto* cmd = tokens->add_subcommand("list", "List operator tokens (never the tokens themselves)");
    cmd->add_flag("--json", o->json, "Print JSON");
    cmd->callback([o, &exitCode] { exitCode = listTokens(*o); });
  }
  {
    auto o = std::make_shared<TokenOptions>();
    auto* cmd = tokens->add_subcommand("revoke", "Revoke an operator token; it is refused from the next connect on");
    cmd->add_option("name", o->name, "Token name")->required();
    cmd->add_flag("--json", o->json, "Print JSON");
    cmd->callback([o, &exitCode] { exitCode = revokeToken(*o); });
  }
}

}  // namespace talon::cli
