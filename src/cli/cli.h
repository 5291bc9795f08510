#pragma once
// The command line: parses argv, runs one command, returns the process exit code.
namespace talon::cli {

/// Entry point of the `talon` binary. Returns the exit code (0 success; base/error.h exitCode()).
int run(int argc, char** argv);

}  // namespace talon::cli
