#include "fleet/local_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/file_io.h"

extern char** environ;

namespace talon::fleet {

namespace {

constexpr std::size_t kMaxCommandOutput = 1u << 20;

/// argv as the char* array execve wants; the strings stay owned by `args`.
std::vector<char*> cArgv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  out.reserve(args.size() + 1);
  for (const auto& a : args) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

/// The caller's environment without `unset` and with `overrides` applied, as "K=V" strings.
std::vector<std::string> mergedEnvironment(const std::map<std::string, std::string>& overrides,
                                           const std::vector<std::string>& unset) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    std::string key(kv.substr(0, eq));
    if (overrides.count(key) == 0 && std::find(unset.begin(), unset.end(), key) == unset.end()) out.emplace_back(kv);
  }
  for (const auto& [k, v] : overrides) out.push_back(k + "=" + v);
  return out;
}

/// Marks every descriptor from 3 up close-on-exec (close_range, Linux 5.11+; best effort before).
void closeInheritedDescriptorsOnExec() {
#ifdef SYS_close_range
  syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
#endif
}

/// The start time of `pid` (clock ticks since boot) and whether it is a zombie; nullopt when it is gone.
std::optional<std::pair<uint64_t, bool>> readProcStat(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return std::nullopt;
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string state;
  fields >> state;
  std::string field;
  // Fields 4..21 (ppid … itrealvalue), then starttime (field 22).
  for (int i = 4; i <= 21 && fields >> field; ++i) {
  }
  uint64_t start = 0;
  if (!(fields >> start)) return std::nullopt;
  return std::make_pair(start, state == "Z" || state == "X");
}

Status errnoError(const std::string& what) { return fail(ErrorCode::kIo, what + ": " + std::strerror(errno)); }

}  // namespace

Result<CommandOutput> runCommand(const std::vector<std::string>& argv, const std::filesystem::path& workingDir) {
  if (argv.empty()) return fail(ErrorCode::kInvalidArgument, "runCommand: empty argv");
  int outPipe[2];
  int errPipe[2];
  int execPipe[2];
  if (pipe2(outPipe, O_CLOEXEC) != 0) return fail(errnoError("pipe").error());
  if (pipe2(errPipe, O_CLOEXEC) != 0) {
    ::close(outPipe[0]);
    ::close(outPipe[1]);
    return fail(errnoError("pipe").error());
  }
  if (pipe2(execPipe, O_CLOEXEC) != 0) {
    for (int fd : {outPipe[0], outPipe[1], errPipe[0], errPipe[1]}) ::close(fd);
    return fail(errnoError("pipe").error());
  }
  auto args = cArgv(argv);
  std::string dir = workingDir.string();
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {outPipe[0], outPipe[1], errPipe[0], errPipe[1], execPipe[0], execPipe[1]}) ::close(fd);
    return fail(errnoError("fork").error());
  }
  if (pid == 0) {
    int devNull = ::open("/dev/null", O_RDONLY);
    if (devNull >= 0) dup2(devNull, 0);
    dup2(outPipe[1], 1);
    dup2(errPipe[1], 2);
    if (!dir.empty() && chdir(dir.c_str()) != 0) {
      int e = errno;
      (void)!write(execPipe[1], &e, sizeof e);
      _exit(127);
    }
    execvp(args[0], args.data());
    int e = errno;
    (void)!write(execPipe[1], &e, sizeof e);
    _exit(127);
  }
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  ::close(execPipe[1]);
  CommandOutput result;
  pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = 2;
  char buf[4096];
  while (open > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        if (sinks[i]->size() < kMaxCommandOutput) sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  int execErrno = 0;
  ssize_t got = read(execPipe[0], &execErrno, sizeof execErrno);
  ::close(execPipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got == static_cast<ssize_t>(sizeof execErrno)) {
    return fail(ErrorCode::kNotFound,
                "cannot run " + argv[0] + (dir.empty() ? "" : " in " + dir) + ": " + std::strerror(execErrno));
  }
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

Result<ProcessId> startDetached(const DetachedSpec& spec) {
  if (spec.argv.empty() || !std::filesystem::path(spec.argv[0]).is_absolute())
    return fail(ErrorCode::kInvalidArgument, "startDetached: argv[0] must be an absolute path");
  int logFd = ::open(spec.logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (logFd < 0) return fail(errnoError("cannot open the log " + spec.logPath.string()).error());
  int execPipe[2];
  int pidPipe[2];
  if (pipe2(execPipe, O_CLOEXEC) != 0) {
    ::close(logFd);
    return fail(errnoError("pipe").error());
  }
  if (pipe2(pidPipe, O_CLOEXEC) != 0) {
    for (int fd : {logFd, execPipe[0], execPipe[1]}) ::close(fd);
    return fail(errnoError("pipe").error());
  }
  auto args = cArgv(spec.argv);
  auto envStrings = mergedEnvironment(spec.env, spec.unsetEnv);
  auto envp = cArgv(envStrings);
  std::string dir = spec.workingDir.string();

  pid_t first = fork();
  if (first < 0) {
    for (int fd : {logFd, execPipe[0], execPipe[1], pidPipe[0], pidPipe[1]}) ::close(fd);
    return fail(errnoError("fork").error());
  }
  if (first == 0) {
    // The intermediate child: a new session, then the gateway as its child, so that the gateway is
    // adopted by init (or the nearest subreaper) and never becomes the caller's zombie.
    setsid();
    pid_t second = fork();
    if (second == 0) {
      signal(SIGHUP, SIG_IGN);
      int devNull = ::open("/dev/null", O_RDONLY);
      if (devNull >= 0) dup2(devNull, 0);
      dup2(logFd, 1);
      dup2(logFd, 2);
      closeInheritedDescriptorsOnExec();
      if (!dir.empty() && chdir(dir.c_str()) != 0) {
        int e = errno;
        (void)!write(execPipe[1], &e, sizeof e);
        _exit(127);
      }
      execve(args[0], args.data(), envp.data());
      int e = errno;
      (void)!write(execPipe[1], &e, sizeof e);
      _exit(127);
    }
    int p = static_cast<int>(second);
    (void)!write(pidPipe[1], &p, sizeof p);
    _exit(second < 0 ? 1 : 0);
  }
  ::close(logFd);
  ::close(execPipe[1]);
  ::close(pidPipe[1]);
  int status = 0;
  while (waitpid(first, &status, 0) < 0 && errno == EINTR) {
  }
  int pid = -1;
  ssize_t gotPid = read(pidPipe[0], &pid, sizeof pid);
  ::close(pidPipe[0]);
  int execErrno = 0;
  ssize_t gotErr;
  do {
    gotErr = read(execPipe[0], &execErrno, sizeof execErrno);
  } while (gotErr < 0 && errno == EINTR);
  ::close(execPipe[0]);
  if (gotPid != static_cast<ssize_t>(sizeof pid) || pid <= 0)
    return fail(ErrorCode::kIo, "cannot start " + spec.argv[0] + ": fork failed");
  if (gotErr == static_cast<ssize_t>(sizeof execErrno)) {
    return fail(execErrno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kPermissionDenied,
                "cannot start " + spec.argv[0] + ": " + std::strerror(execErrno));
  }
  ProcessId id;
  id.pid = pid;
  auto stat = readProcStat(pid);
  if (stat) id.startTicks = stat->first;
  return id;
}

bool processAlive(const ProcessId& id) {
  if (id.pid <= 0) return false;
  auto stat = readProcStat(id.pid);
  if (!stat || stat->second) return false;
  return id.startTicks == 0 || stat->first == id.startTicks;
}

bool terminateProcess(const ProcessId& id, std::chrono::milliseconds grace) {
  if (!processAlive(id)) return true;
  auto waitGone = [&](std::chrono::milliseconds budget) {
    auto deadline = std::chrono::steady_clock::now() + budget;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!processAlive(id)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return !processAlive(id);
  };
  ::kill(id.pid, SIGTERM);
  if (waitGone(grace)) return true;
  ::kill(id.pid, SIGKILL);
  return waitGone(std::chrono::seconds(5));
}

Status writePidFile(const std::filesystem::path& path, const ProcessId& id) {
  return writeFileAtomic(path, std::to_string(id.pid) + " " + std::to_string(id.startTicks) + "\n", 0600);
}

Result<std::optional<ProcessId>> readPidFile(const std::filesystem::path& path) {
  auto text = readFile(path, 4096);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return std::optional<ProcessId>();
    return fail(text.error());
  }
  std::istringstream in(*text);
  ProcessId id;
  if (!(in >> id.pid >> id.startTicks) || id.pid <= 0)
    return fail(ErrorCode::kInvalidArgument, path.string() + ": not a pid file (expected \"<pid> <startTicks>\")");
  return std::optional<ProcessId>(id);
}

std::string tailFile(const std::filesystem::path& path, std::size_t lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  constexpr std::streamoff kMaxTail = 4 << 20;
  std::streamoff start = size > kMaxTail ? size - kMaxTail : 0;
  in.seekg(start);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  std::size_t pos = end;
  std::size_t seen = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++seen == lines) break;
    --pos;
  }
  if (lines == 0) return {};
  return text.substr(pos);
}

}  // namespace talon::fleet
