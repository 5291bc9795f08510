#pragma once
// Internal to src/cli: the table of the CLI's command groups and which top-level commands each adds, so
// that a run builds only the subtree of the command it was given (cli.cpp).
#include <CLI/CLI.hpp>
#include <span>
#include <string_view>

namespace talon::cli {

/// One command group: its register function (commands.h) and the top-level commands it adds, separated
/// by spaces. A group may add subcommands to a top-level command another group adds (`message` adds
/// `channels deliveries`): both groups then list that command. command_groups_test.cpp checks each
/// entry against what its function really adds.
struct CommandGroup {
  std::string_view commands;
  void (*add)(CLI::App& app, int& exitCode);
};

/// Every command group, in registration order (the order of `talon --help`).
std::span<const CommandGroup> commandGroups();

/// Adds to `app` the groups that add the top-level command `first` (argv[1]), in table order; every group
/// when `first` names none of them (no command, `--help`, an unknown command: the full tree gives the
/// full help and CLI11's usual error). Returns the number of groups added. `version` and `--version` need
/// none (the caller adds them to `app` itself).
std::size_t addCommandGroups(CLI::App& app, int& exitCode, std::string_view first);

}  // namespace talon::cli
