#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>

#ifndef TALON_VERSION
#define TALON_VERSION "0.1.0"
#endif

namespace talon::cli {

int run(int argc, char** argv) {
  CLI::App app{"Talon: an OpenClaw-compatible agent gateway and fleet control plane"};
  app.require_subcommand(1);
  auto* version = app.add_subcommand("version", "Print the version");
  version->callback([] { std::cout << "talon " << TALON_VERSION << "\n"; });
  CLI11_PARSE(app, argc, argv);
  return 0;
}

}  // namespace talon::cli
