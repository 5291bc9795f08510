#pragma once
// A child process for end-to-end tests: fork/exec with stdout and stderr appended to a log file.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace talon::test {

class ChildProcess {
 public:
  /// Starts `argv` with `env` added to the current environment; output goes to `logPath`.
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env, std::string logPath);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  /// Sends `sig` and waits up to `timeout` for the exit; returns the exit status as from waitpid, or
  /// nullopt when it did not exit in time.
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Waits for the exit without signalling. nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  /// The log written so far.
  std::string log() const;

 private:
  int pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string logPath_;
};

/// Polls `path` until it holds a port number, up to `timeout`. 0 on timeout.
int waitForPortFile(const std::string& path, std::chrono::milliseconds timeout);

}  // namespace talon::test
