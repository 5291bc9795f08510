// talon secrets set|get|list|rm|rotate [--json]: the vault of the state dir's store, offline (no gateway
// needed). Values are read from stdin or a terminal prompt, never from argv. Every read, write, removal
// and rotation is audited (secret name only) into the state dir's audit chain (docs/audit.md).
#include <unistd.h>

#include <iostream>
#include <iterator>

#include "base/clock.h"
#include "base/log.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/vault_access.h"
#include "config/config_paths.h"

namespace talon::cli {
namespace {

struct SecretsOptions {
  std::string name;
  std::vector<std::string> agents;
  std::string keyFile;     // --key-file
  std::string newKeyFile;  // rotate --new-key-file
  bool json = false;
};

int localError(const Error& e) {
  // The operator's own machine: the full message (it names paths and secret names, never values).
  std::cerr << "error: " << e.message << "\n";
  return exitCode(e.code);
}

// Runs `body` with the vault open; its events go to the state dir's audit chain (and log lines to the
// state dir's log file).
template <class Body>
int withVault(const SecretsOptions& o, Body body) {
  auto env = config::processEnvironment();
  auto stateDir = config::resolveStateDir(env);
  LogOptions lo;
  lo.file = stateDir / "logs" / "talon.log";
  lo.toStderr = false;
  if (auto s = initLogging(lo); !s) return localError(s.error());
  auto key = vaultKey(env, o.keyFile, /*allowPrompt=*/true);
  if (!key) return localError(key.error());
  auto v = openVault(stateDir, *key, nullptr, cliActor());
  if (!v) return localError(v.error());
  return body(*v->vault, env);
}

// The value to store: all of stdin (one trailing newline dropped) when it is not a terminal, else a
// prompt without echo.
Result<security::Secret> readValue(const std::string& name) {
  if (::isatty(STDIN_FILENO)) return promptSecret("value for " + name + ": ");
  std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!all.empty() && all.back() == '\n') all.pop_back();
  if (!all.empty() && all.back() == '\r') all.pop_back();
  security::Secret out(all);
  std::fill(all.begin(), all.end(), '\0');
  return out;
}

json::array agentsJson(const std::vector<std::string>& agents) {
  json::array a;
  for (const auto& x : agents) a.push_back(json::value(x));
  return a;
}

}  // namespace

void registerSecretsCommands(CLI::App& app, int& exitCode) {
  auto* secrets = app.add_subcommand(
      "secrets", "Manage the vault of `source: \"store\"` secret refs (offline, on the state dir's store)");
  secrets->require_subcommand(1);
  auto o = std::make_shared<SecretsOptions>();
  auto keyOption = [o](CLI::App* cmd) {
    cmd->add_option("--key-file", o->keyFile,
                    "Vault key file (64 hex digits, mode 0600); default: TALON_VAULT_KEY_FILE, else "
                    "TALON_VAULT_PASSPHRASE, else a prompt");
    cmd->add_flag("--json", o->json, "Print JSON");
  };

  auto* set = secrets->add_subcommand("set", "Store a secret; the value is read from stdin (or a prompt)");
  set->add_option("name", o->name, "Secret name (^[A-Z][A-Z0-9_]{0,127}$)")->required();
  set->add_option("--agent", o->agents, "Grant to this agent only (repeatable); default: every agent");
  keyOption(set);
  set->callback([o, &exitCode] {
    exitCode = withVault(*o, [&](security::Vault& v, const config::Environment&) {
      auto value = readValue(o->name);
      if (!value) return localError(value.error());
      if (auto s = v.set(o->name, *value, o->agents); !s) return localError(s.error());
      if (o->json) {
        printJson(json::object{{"ok", true}, {"name", o->name}, {"agents", agentsJson(o->agents)}});
      } else {
        std::cout << "stored " << o->name << "\n";
      }
      return 0;
    });
  });

  auto* get = secrets->add_subcommand("get", "Print a secret's value (audited)");
  get->add_option("name", o->name, "Secret name")->required();
  keyOption(get);
  get->callback([o, &exitCode] {
    exitCode = withVault(*o, [&](security::Vault& v, const config::Environment&) {
      auto value = v.get(o->name);
      if (!value) return localError(value.error());
      if (o->json) {
        printJson(json::object{{"name", o->name}, {"value", value->reveal()}});
      } else {
        std::cout << value->reveal() << "\n";
      }
      return 0;
    });
  });

  auto* list = secrets->add_subcommand("list", "List the secrets' names and grants (never values)");
  keyOption(list);
  list->callback([o, &exitCode] {
    exitCode = withVault(*o, [&](security::Vault& v, const config::Environment&) {
      auto entries = v.list();
      if (!entries) return localError(entries.error());
      if (o->json) {
        json::array rows;
        for (const auto& e : *entries) {
          rows.push_back(json::object{{"name", e.name},
                                      {"agents", agentsJson(e.agents)},
                                      {"createdAtMs", e.createdAtMs},
                                      {"updatedAtMs", e.updatedAtMs}});
        }
        printJson(json::object{{"secrets", rows}});
      } else {
        std::vector<std::vector<std::string>> rows;
        int64_t now = SystemClock().nowMs();
        for (const auto& e : *entries) {
          std::string agents;
          for (const auto& a : e.agents) agents += (agents.empty() ? "" : ",") + a;
          rows.push_back({e.name, agents.empty() ? "*" : agents, formatAge(now - e.updatedAtMs)});
        }
        printTable({"NAME", "AGENTS", "UPDATED"}, rows);
      }
      return 0;
    });
  });

  auto* rm = secrets->add_subcommand("rm", "Delete a secret");
  rm->add_option("name", o->name, "Secret name")->required();
  keyOption(rm);
  rm->callback([o, &exitCode] {
    exitCode = withVault(*o, [&](security::Vault& v, const config::Environment&) {
      if (auto s = v.remove(o->name); !s) return localError(s.error());
      if (o->json) {
        printJson(json::object{{"ok", true}, {"name", o->name}});
      } else {
        std::cout << "removed " << o->name << "\n";
      }
      return 0;
    });
  });

  auto* rotate = secrets->add_subcommand(
      "rotate",
      "Re-encrypt every secret under a new key: --new-key-file, else TALON_VAULT_NEW_PASSPHRASE, else a "
      "prompt (twice)");
  rotate->add_option("--new-key-file", o->newKeyFile, "The new key file (64 hex digits, mode 0600)");
  keyOption(rotate);
  rotate->callback([o, &exitCode] {
    exitCode = withVault(*o, [&](security::Vault& v, const config::Environment& env) {
      security::VaultKeySource next;
      if (!o->newKeyFile.empty()) {
        next.keyFile = o->newKeyFile;
      } else if (const std::string* p = config::findEnv(env, "TALON_VAULT_NEW_PASSPHRASE"); p && !p->empty()) {
        next.passphrase = security::Secret(*p);
      } else {
        auto first = promptSecret("new vault passphrase: ");
        if (!first) {
          return localError(Error(ErrorCode::kFailedPrecondition,
                                  "no new key: pass --new-key-file, set TALON_VAULT_NEW_PASSPHRASE or run on a "
                                  "terminal"));
        }
        auto second = promptSecret("again: ");
        if (!second || !first->equals(*second)) {
          return localError(Error(ErrorCode::kInvalidArgument, "the passphrases differ"));
        }
        next.passphrase = std::move(*first);
      }
      if (auto s = v.rotate(next); !s) return localError(s.error());
      if (o->json) {
        printJson(json::object{{"ok", true}});
      } else {
        std::cout << "rotated the vault key\n";
      }
      return 0;
    });
  });
}

}  // namespace talon::cli
