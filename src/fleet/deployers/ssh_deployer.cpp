#include "fleet/deployers/ssh_deployer.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "base/file_io.h"
#include "base/hash.h"
#include "base/text.h"
#include "fleet/deployers/ssh_connection.h"
#include "fleet/local_process.h"

namespace talon::fleet {

namespace {

constexpr std::string_view kSshEnvFile = "gateway.env";
constexpr std::string_view kSshLauncher = "run.sh";
constexpr std::string_view kSshPidFile = "gateway.pid";
constexpr std::string_view kSshLogFile = "gateway.log";
constexpr std::string_view kSshTempSuffix = ".talon-tmp";
constexpr std::size_t kSshFailureLogLines = 15;
constexpr auto kSshPollInterval = std::chrono::milliseconds(250);
constexpr auto kSshProgressInterval = std::chrono::seconds(2);

/// The systemd quoting of one word (systemd.syntax(7)): double quotes, \ and " escaped, % and $ doubled.
std::string sshSystemdQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '%') out += '%';
    if (c == '$') out += '$';
    out += c;
  }
  return out + "\"";
}

/// A path in a systemd setting that takes one path: specifiers (%) escaped.
std::string sshSystemdPath(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '%' ? std::string("%%") : std::string(1, c);
  return out;
}

struct SshRuntimeEnvironment {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> unset;
  std::vector<std::string> argv;
};

/// The environment and command line of the gateway (as the process provider runs it).
SshRuntimeEnvironment sshRuntimeEnvironment(const RemoteGatewayLayout& l) {
  SshRuntimeEnvironment e;
  if (l.runtime == "openclaw") {
    e.set = {{"OPENCLAW_STATE_DIR", l.stateDir}, {"OPENCLAW_CONFIG_PATH", l.configPath}};
    e.unset = {"OPENCLAW_GATEWAY_PORT", "OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_PROFILE"};
    e.argv = {l.binary, "gateway", "run"};
  } else {
    e.set = {{"TALON_STATE_DIR", l.stateDir}};
    e.unset = {"TALON_GATEWAY_PORT", "TALON_CONFIG_PATH"};
    e.argv = {l.binary, "gateway", "run", "--config", l.configPath};
  }
  return e;
}

std::string sshLocalArchitecture() {
  struct utsname u {};
  if (::uname(&u) != 0) return {};
  return u.machine;
}

bool sshIsAbsolutePath(const std::string& p) { return !p.empty() && p[0] == '/'; }

std::string sshParentDir(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos || slash == 0 ? "/" : p.substr(0, slash);
}

/// "key=value" lines into a map.
std::map<std::string, std::string> sshKeyValueLines(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

std::string sshLastLines(const std::string& text, std::size_t n) {
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (std::size_t i = 0; i < n && pos != std::string::npos && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

/// What the host said about itself.
struct SshHostFacts {
  std::string os;
  std::string arch;
  std::string home;
  bool root = false;
  std::string openclaw;
  bool systemctl = false;
  bool sha256sum = false;
};

/// One gateway on its host: the connection and where everything lives there.
struct SshGatewaySite {
  SshConnection* connection = nullptr;
  SshHostFacts facts;
  SshSettings settings;
  RemoteGatewayLayout layout;
  /// systemd: the unit file's path; detached: run.sh.
  std::string serviceFile;
  /// "systemctl --user" or "systemctl".
  std::string systemctl;
  std::string journalctl;

  bool systemd() const { return settings.service == "systemd"; }
  std::string file(std::string_view name) const { return layout.remoteDir + "/" + std::string(name); }
  std::string unit() const { return sshUnitName(layout.gatewayId); }
};

/// The shell function `alive` of the detached scripts: true when gateway.pid names a live process with
/// the recorded start time (a reused pid does not count), not a zombie.
std::string sshAliveFunction(const SshGatewaySite& s) {
  return "alive() { [ -f " + shellQuote(s.file(kSshPidFile)) + " ] || return 1; read p t < " +
         shellQuote(s.file(kSshPidFile)) +
         " || return 1; st=$(cat /proc/$p/stat 2>/dev/null) || return 1; st=${st##*) }; set -- $st; "
         "[ \"$1\" != Z ] && [ \"${20}\" = \"$t\" ]; }\n";
}

/// A script printing "state=<…>" (detached: running | exited | stopped; systemd: systemctl is-active's
/// word) and, with the probe, "probe=<HTTP status>" of GET /readyz sent from the host itself.
std::string sshStateScript(const SshGatewaySite& s, const DeployTarget& t, bool probe) {
  std::string script;
  if (s.systemd()) {
    script = "printf 'state=%s\\n' \"$(" + s.systemctl + " is-active " + shellQuote(s.unit()) + " 2>/dev/null)\"\n" +
             "printf 'pid=%s\\n' \"$(" + s.systemctl + " show -p MainPID --value " + shellQuote(s.unit()) +
             " 2>/dev/null)\"\n";
  } else {
    script = sshAliveFunction(s) + "if alive; then echo state=running; echo pid=$p; elif [ -f " +
             shellQuote(s.file(kSshPidFile)) + " ]; then echo state=exited; echo pid=$p; else echo state=stopped; fi\n";
  }
  if (probe) {
    std::string host = t.probeHost.find(':') != std::string::npos ? "[" + t.probeHost + "]" : t.probeHost;
    std::string url = "http://" + host + ":" + std::to_string(t.port) + "/readyz";
    script +=
        "if command -v curl >/dev/null 2>&1; then printf 'probe=%s\\n' \"$(curl -s -o /dev/null -m 2 -w "
        "'%{http_code}' " +
        shellQuote(url) +
        ")\"; elif command -v bash >/dev/null 2>&1; then l=$(timeout 3 bash -c 'exec 3<>/dev/tcp/$0/$1 && "
        "printf \"GET /readyz HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n\" \"$0\" >&3 && head -n1 <&3' " +
        shellQuote(t.probeHost) + " " + std::to_string(t.port) +
        " 2>/dev/null); set -- $l; printf 'probe=%s\\n' \"${2:-000}\"; else echo probe=none; fi\n";
  }
  return script;
}

class SshDeployer final : public Deployer {
 public:
  Status check(const DeployTarget& target, const DeployContext& context) const override {
    auto site = prepare(target, context);
    if (!site) return fail(site.error());
    return {};
  }

  Result<ApplyAction> apply(const DeployTarget& target, const DeployContext& context, bool configChanged) override {
    auto prepared = prepare(target, context);
    if (!prepared) return fail(prepared.error());
    SshGatewaySite& s = *prepared;
    SshConnection& c = *s.connection;

    // Directories, and the SHA-256 of every file this gateway has on the host (one round trip).
    std::vector<std::string> dirs = {s.layout.remoteDir,         s.layout.remoteDir + "/bin",
                                     target.paths.stateDir,      sshParentDir(s.layout.configPath),
                                     target.paths.workspaceRoot, sshParentDir(s.serviceFile)};
    std::string script = "umask 077\nmkdir -p";
    for (const auto& d : dirs) script += " " + shellQuote(d);
    script += " || exit 1\nchmod 700 " + shellQuote(s.layout.remoteDir) + "\nfor f in";
    std::vector<std::string> files = {s.layout.configPath, s.file(kSshEnvFile), s.serviceFile};
    if (target.runtime == "talon") files.push_back(s.layout.binary);
    for (const auto& f : files) script += " " + shellQuote(f);
    script += "; do if [ -f \"$f\" ]; then printf 'sha256=%s\\n' \"$(sha256sum \"$f\")\" || exit 1; fi; done\n";
    // The process state in the same round trip.
    script += sshStateScript(s, target, false);
    auto inspected =
        c.runChecked("creating the gateway's directories, hashing its files, checking its process", script);
    if (!inspected) return fail(onHost(target, inspected.error()));
    std::map<std::string, std::string> remoteSha;
    {
      std::istringstream in(*inspected);
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind("sha256=", 0) != 0 || line.size() < 7 + 64 + 2) continue;
        remoteSha[line.substr(7 + 64 + 2)] = line.substr(7, 64);
      }
    }
    auto state = sshKeyValueLines(*inspected);
    bool running = isRunning(s, state);

    // What should be there.
    auto env = environmentFile(target);
    if (!env) return fail(env.error());
    std::vector<std::pair<std::string, std::string>> texts = {
        {s.layout.configPath, target.configText},
        {s.serviceFile, s.systemd() ? sshSystemdUnit(s.layout) : sshLauncherScript(s.layout)}};
    if (!env->empty()) texts.push_back({s.file(kSshEnvFile), *env});
    std::vector<std::string> finalize;
    bool filesChanged = false;
    bool serviceChanged = false;
    auto uploadDir = context.fleetStateDir / "gateways" / target.id / "ssh-upload";
    std::error_code ec;
    std::filesystem::create_directories(uploadDir, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot create " + uploadDir.string() + ": " + ec.message());
    for (const auto& [path, text] : texts) {
      auto it = remoteSha.find(path);
      if (it != remoteSha.end() && it->second == sha256Hex(text)) continue;
      filesChanged = true;
      if (path == s.serviceFile) serviceChanged = true;
      auto local = uploadDir / std::filesystem::path(path).filename();
      auto written = writeFileAtomic(local, text, 0600);
      Status sent = written ? c.upload(local, path + std::string(kSshTempSuffix)) : written;
      std::filesystem::remove(local, ec);
      if (!sent) return fail(onHost(target, sent.error()));
      std::string mode = path == s.serviceFile && !s.systemd() ? "700" : "600";
      finalize.push_back("chmod " + mode + " " + shellQuote(path + std::string(kSshTempSuffix)) + " && mv -f " +
                         shellQuote(path + std::string(kSshTempSuffix)) + " " + shellQuote(path));
    }
    if (env->empty() && remoteSha.count(s.file(kSshEnvFile)) != 0) {
      filesChanged = true;
      finalize.push_back("rm -f " + shellQuote(s.file(kSshEnvFile)));
    }
    if (target.runtime == "talon") {
      auto local = localBinary(target, context);
      auto sha = localSha256(local);
      if (!sha) return fail(sha.error());
      auto it = remoteSha.find(s.layout.binary);
      if (it == remoteSha.end() || it->second != *sha) {
        filesChanged = true;
        progress(context,
                 target.id + ": installing " + local.string() + " on " + c.destination() + " as " + s.layout.binary);
        if (auto sent = c.upload(local, s.layout.binary + std::string(kSshTempSuffix)); !sent)
          return fail(onHost(target, sent.error()));
        finalize.push_back("chmod 755 " + shellQuote(s.layout.binary + std::string(kSshTempSuffix)) + " && mv -f " +
                           shellQuote(s.layout.binary + std::string(kSshTempSuffix)) + " " +
                           shellQuote(s.layout.binary));
      }
    }
    if (!finalize.empty()) {
      std::string moves;
      for (const auto& f : finalize) moves += f + " || exit 1\n";
      if (auto r = c.runChecked("moving the uploaded files into place", moves); !r)
        return fail(onHost(target, r.error()));
    }
    if (s.systemd() && serviceChanged) {
      if (auto r = c.runChecked(s.systemctl + " daemon-reload", s.systemctl + " daemon-reload && " + s.systemctl +
                                                                    " enable " + shellQuote(s.unit()) + " >/dev/null");
          !r)
        return fail(onHost(target, r.error()));
    }

    if (running && !configChanged && !filesChanged) {
      if (auto w = waitReady(s, target, context); !w) return fail(w.error());
      return ApplyAction::kUnchanged;
    }
    if (running) progress(context, target.id + ": config, binary or unit changed, restarting on " + c.destination());
    if (auto st = launch(s, target, context, running); !st) return fail(st.error());
    return running ? ApplyAction::kRestarted : ApplyAction::kStarted;
  }

  Status start(const DeployTarget& target, const DeployContext& context) override {
    auto prepared = prepare(target, context);
    if (!prepared) return fail(prepared.error());
    SshGatewaySite& s = *prepared;
    auto present = s.connection->run("looking for the deployed config", "test -f " + shellQuote(s.layout.configPath) +
                                                                            " && test -f " + shellQuote(s.serviceFile));
    if (!present) return fail(onHost(target, present.error()));
    if (present->exitCode != 0) {
      return fail(ErrorCode::kFailedPrecondition, "gateway " + target.id + " has no deployed config on " +
                                                      s.connection->destination() + " (" + s.layout.configPath +
                                                      "): run `talon fleet apply --gateway " + target.id + "` first");
    }
    auto state = remoteState(s, target, false);
    if (!state) return fail(state.error());
    if (isRunning(s, *state)) {
      progress(context, target.id + ": already running on " + s.connection->destination());
      return {};
    }
    return launch(s, target, context, false);
  }

  Status stop(const DeployTarget& target, const DeployContext& context) override {
    auto prepared = prepare(target, context);
    if (!prepared) return fail(prepared.error());
    SshGatewaySite& s = *prepared;
    progress(context, target.id + ": stopping on " + s.connection->destination());
    if (s.systemd()) {
      auto r =
          s.connection->runChecked(s.systemctl + " stop " + s.unit(), s.systemctl + " stop " + shellQuote(s.unit()));
      if (!r) return fail(onHost(target, r.error()));
      return {};
    }
    return stopDetached(s, target, context);
  }

  GatewayRuntimeStatus status(const DeployTarget& target, const DeployContext& context) override {
    GatewayRuntimeStatus out;
    auto prepared = prepare(target, context);
    if (!prepared) {
      out.state = ProcessState::kFailed;
      out.detail = prepared.error().message;
      return out;
    }
    SshGatewaySite& s = *prepared;
    auto state = remoteState(
        s, target, true,
        "printf 'config=%s\\n' \"$(sha256sum " + shellQuote(s.layout.configPath) + " 2>/dev/null | cut -c1-64)\"\n");
    if (!state) {
      out.state = ProcessState::kFailed;
      out.detail = state.error().message;
      return out;
    }
    out.remoteConfigSha256 = (*state)["config"];
    const std::string& word = (*state)["state"];
    if (auto pid = std::atoi((*state)["pid"].c_str()); pid > 0) out.pid = pid;
    if (!isRunning(s, *state)) {
      bool failed = s.systemd() ? word == "failed" : word == "exited";
      out.state = failed ? ProcessState::kFailed : ProcessState::kStopped;
      if (failed) {
        auto log = logs(target, context, kSshFailureLogLines);
        out.detail = "the gateway on " + s.connection->destination() + " exited without `talon fleet stop`" +
                     (log ? "; last log lines:\n" + *log : "");
      }
      return out;
    }
    out.readyz = readyzOf(*state);
    out.state = out.readyz.ok() ? ProcessState::kRunning : ProcessState::kDegraded;
    if (!out.readyz.ok()) {
      out.detail = out.readyz.status != 0 ? "/readyz answered " + std::to_string(out.readyz.status)
                                          : "/readyz unreachable from the host: " + out.readyz.error;
    }
    return out;
  }

  Result<std::string> logs(const DeployTarget& target, const DeployContext& context, std::size_t lines) override {
    auto prepared = prepare(target, context);
    if (!prepared) return fail(prepared.error());
    SshGatewaySite& s = *prepared;
    std::string n = std::to_string(lines);
    if (s.systemd()) {
      auto r = s.connection->runChecked(s.journalctl + " -u " + s.unit(), s.journalctl + " -u " + shellQuote(s.unit()) +
                                                                              " -n " + n + " --no-pager -o cat");
      if (!r) return fail(onHost(target, r.error()));
      return std::move(*r);
    }
    auto r = s.connection->run("tail " + s.file(kSshLogFile), "tail -n " + n + " " + shellQuote(s.file(kSshLogFile)));
    if (!r) return fail(onHost(target, r.error()));
    if (r->exitCode != 0) {
      return fail(ErrorCode::kNotFound, "gateway " + target.id + " has no log yet on " + s.connection->destination() +
                                            " (" + s.file(kSshLogFile) + ")");
    }
    return std::move(r->out);
  }

  Result<GatewayAddress> gatewayAddress(const DeployTarget& target, const DeployContext& context) override {
    auto prepared = prepare(target, context);
    if (!prepared) return fail(prepared.error());
    SshConnection* c = prepared->connection;
    auto local = c->openForward(target.probeHost, target.port);
    if (!local) return fail(onHost(target, local.error()));
    std::string remoteHost = target.probeHost;
    int remotePort = target.port;
    int localPort = *local;
    return GatewayAddress("127.0.0.1", localPort, "ssh-tunnel", [c, localPort, remoteHost, remotePort] {
      c->cancelForward(localPort, remoteHost, remotePort);
    });
  }

  Result<bool> fetchFiles(const DeployTarget& target, const DeployContext& context,
                          const std::filesystem::path& configInto, const std::filesystem::path& stateInto) override {
    auto prepared = prepare(target, context);
    if (!prepared) return fail(prepared.error());
    SshConnection& c = *prepared->connection;
    std::error_code ec;
    std::filesystem::create_directories(configInto.parent_path(), ec);
    std::filesystem::create_directories(stateInto, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot create " + stateInto.string() + ": " + ec.message());
    std::string config = shellQuote(target.paths.configPath);
    auto got = c.runToFile("reading the config " + target.paths.configPath,
                           "if [ -f " + config + " ]; then exec cat " + config + "; else exit 3; fi", configInto);
    if (!got) return fail(onHost(target, got.error()));
    if (got->exitCode == 3) {
      std::filesystem::remove(configInto, ec);
    } else if (got->exitCode != 0) {
      return fail(onHost(
          target, Error{ErrorCode::kIo, "on " + c.destination() + ": reading " + target.paths.configPath +
                                            " failed (exit " + std::to_string(got->exitCode) + "): " + got->err}));
    }
    // The state dir as one tar stream into a local file, then unpacked here. --ignore-failed-read: a file the
    // running gateway removes meanwhile is left out; exit 1 is tar's "a file changed as it was read".
    std::filesystem::path tarFile = stateInto.string() + ".tar";
    std::string state = shellQuote(target.paths.stateDir);
    auto tarred = c.runToFile(
        "archiving the state dir " + target.paths.stateDir,
        "if [ -d " + state + " ]; then exec tar --ignore-failed-read -C " + state + " -cf - .; else exit 3; fi",
        tarFile);
    if (!tarred) return fail(onHost(target, tarred.error()));
    if (tarred->exitCode != 0 && tarred->exitCode != 1 && tarred->exitCode != 3) {
      std::filesystem::remove(tarFile, ec);
      return fail(onHost(target, Error{ErrorCode::kIo, "on " + c.destination() + ": tar of " + target.paths.stateDir +
                                                           " failed (exit " + std::to_string(tarred->exitCode) +
                                                           "): " + trimWhitespace(tarred->err)}));
    }
    if (tarred->exitCode != 3) {
      auto x = runCommand({"tar", "--no-same-owner", "-p", "-xf", tarFile.string(), "-C", stateInto.string()}, {});
      std::filesystem::remove(tarFile, ec);
      if (!x) return fail(x.error());
      if (x->exitCode != 0)
        return fail(ErrorCode::kIo, "gateway " + target.id + ": unpacking the state dir copied from host " +
                                        target.host + " failed: " + trimWhitespace(x->err));
    }
    std::filesystem::remove(tarFile, ec);
    progress(context, target.id + ": copied the config and state dir from " + c.destination());
    return true;
  }

  Result<std::optional<std::string>> putFiles(const DeployTarget& target, const DeployContext& context,
                                              const std::filesystem::path& from,
                                              const std::map<std::string, std::pair<std::string, unsigned>>& files,
                                              const std::string& tag) override {
    auto prepared = prepare(target, context);
    if (!prepared) return fail(prepared.error());
    SshConnection& c = *prepared->connection;
    const std::string& stateDir = target.paths.stateDir;
    const std::string& configPath = target.paths.configPath;
    // The upload: the backup's config/ and state/ with the digests and modes to check and set on the host.
    auto uploadDir = context.fleetStateDir / "gateways" / target.id / "ssh-upload";
    std::error_code ec;
    std::filesystem::create_directories(uploadDir, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot create " + uploadDir.string() + ": " + ec.message());
    std::string sums;
    std::string modes;
    std::string configFile;
    for (const auto& [path, digest] : files) {
      sums += digest.first + "  " + path + "\n";
      char mode[8];
      std::snprintf(mode, sizeof mode, "%o", digest.second == 0 ? 0600u : digest.second & 07777u);
      modes += std::string(mode) + " " + path + "\n";
      if (path.rfind("config/", 0) == 0) configFile = path;
    }
    if (auto st = writeFileAtomic(uploadDir / "talon-restore.sha256", sums, 0600); !st) return fail(st.error());
    if (auto st = writeFileAtomic(uploadDir / "talon-restore.modes", modes, 0600); !st) return fail(st.error());
    auto tarFile = uploadDir / ("restore-" + tag + ".tar");
    std::vector<std::string> argv = {"tar", "-cf", tarFile.string(), "-C", from.string()};
    for (const char* part : {"config", "state"}) {
      if (std::filesystem::is_directory(from / part, ec)) argv.push_back(part);
    }
    argv.insert(argv.end(), {"-C", uploadDir.string(), "talon-restore.sha256", "talon-restore.modes"});
    auto packed = runCommand(argv, {});
    auto cleanup = [&] {
      std::filesystem::remove(tarFile, ec);
      std::filesystem::remove(uploadDir / "talon-restore.sha256", ec);
      std::filesystem::remove(uploadDir / "talon-restore.modes", ec);
    };
    if (!packed || packed->exitCode != 0) {
      cleanup();
      return fail(ErrorCode::kIo, "gateway " + target.id + ": packing backup " + from.string() +
                                      " failed: " + (packed ? trimWhitespace(packed->err) : packed.error().message));
    }
    std::string stage = stateDir + ".restore-" + tag;
    std::string remoteTar = stage + ".tar";
    if (auto r = c.runChecked("creating " + sshParentDir(stateDir), "mkdir -p " + shellQuote(sshParentDir(stateDir)));
        !r) {
      cleanup();
      return fail(onHost(target, r.error()));
    }
    auto sent = c.upload(tarFile, remoteTar);
    cleanup();
    if (!sent) return fail(onHost(target, sent.error()));
    std::string q = shellQuote(stage);
    std::string aside = shellQuote(stateDir + ".before-restore-" + tag);
    std::string script =
        "rm -rf " + q + " && mkdir -p " + q + " && cd " + q + " && tar -xpf " + shellQuote(remoteTar) + " || { rm -f " +
        shellQuote(remoteTar) + "; exit 1; }\n" + "rm -f " + shellQuote(remoteTar) + "\n" +
        "if ! sha256sum -c --quiet talon-restore.sha256 >&2; then cd / && rm -rf " + q +
        "; echo 'the uploaded files do not match the backup manifest; nothing was replaced' >&2; exit 3; fi\n" +
        "while read m p; do chmod \"$m\" \"$p\" || exit 1; done < talon-restore.modes\n" + "moved=\n" + "if [ -e " +
        shellQuote(stateDir) + " ]; then rm -rf " + aside + " && mv " + shellQuote(stateDir) + " " + aside +
        " || exit 1; moved=" + aside + "; fi\n" + "if [ -d state ]; then mv state " + shellQuote(stateDir) +
        " || exit 1; else mkdir -p " + shellQuote(stateDir) + " || exit 1; fi\n";
    if (!configFile.empty()) {
      std::string tmp = shellQuote(configPath + std::string(kSshTempSuffix));
      script += "mkdir -p " + shellQuote(sshParentDir(configPath)) + " && mv -f " + shellQuote(configFile) + " " + tmp +
                " && mv -f " + tmp + " " + shellQuote(configPath) + " || exit 1\n";
    }
    script += "cd / && rm -rf " + q + "\nprintf 'moved=%s\\n' \"$moved\"\n";
    auto r = c.run("putting the restored files in place", script);
    if (!r) return fail(onHost(target, r.error()));
    if (r->exitCode == 3)
      return fail(ErrorCode::kFailedPrecondition,
                  "gateway " + target.id + " on host " + target.host + ": " + trimWhitespace(r->err));
    if (r->exitCode != 0)
      return fail(onHost(target, Error{ErrorCode::kIo,
                                       "on " + c.destination() + ": putting the restored files in place failed (exit " +
                                           std::to_string(r->exitCode) + "): " + trimWhitespace(r->err)}));
    progress(context, target.id + ": restored files verified (sha256sum) and in place on " + c.destination());
    return std::optional<std::string>(sshKeyValueLines(r->out)["moved"]);
  }

 private:
  struct HostSession {
    std::unique_ptr<SshConnection> connection;
    std::optional<SshHostFacts> facts;
  };

  static void progress(const DeployContext& context, const std::string& line) {
    if (context.progress) context.progress(line);
  }

  static Error onHost(const DeployTarget& target, Error e) {
    e.message = "gateway " + target.id + " on host " + target.host + ": " + e.message;
    return e;
  }

  static std::filesystem::path localBinary(const DeployTarget& target, const DeployContext& context) {
    return target.binary.empty() ? context.talonBinary : std::filesystem::path(target.binary);
  }

  /// sha256sum of a local file, cached by path, size and modification time.
  Result<std::string> localSha256(const std::filesystem::path& path) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    auto mtime = std::filesystem::last_write_time(path, ec);
    std::string key =
        path.string() + "\n" + std::to_string(size) + "\n" + std::to_string(mtime.time_since_epoch().count());
    if (auto it = localSha_.find(key); it != localSha_.end()) return it->second;
    auto r = runCommand({"sha256sum", path.string()}, {});
    if (!r) return fail(r.error());
    if (r->exitCode != 0 || r->out.size() < 64)
      return fail(ErrorCode::kIo, "sha256sum " + path.string() + " failed: " + trimWhitespace(r->err));
    return localSha_[key] = r->out.substr(0, 64);
  }

  /// The variables the config references, as `NAME='value'` lines (read by sh and by systemd's
  /// EnvironmentFile alike). Errors: kInvalidArgument for a value neither can carry (a ' or a newline).
  static Result<std::string> environmentFile(const DeployTarget& target) {
    std::string out;
    for (const auto& name : referencedEnvironmentVariables(target.configText)) {
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) continue;  // apply refused earlier; start/restart keep the file deployed
      std::string v = value;
      if (v.find('\'') != std::string::npos || v.find('\n') != std::string::npos) {
        return fail(ErrorCode::kInvalidArgument,
                    "gateway " + target.id + ": the value of " + name +
                        " holds a single quote or a newline, which the gateway's environment file cannot carry");
      }
      out += name + "='" + v + "'\n";
    }
    return out;
  }

  /// Connects (or reuses the connection to) the gateway's host, learns the host, and checks that this
  /// gateway can run there.
  Result<SshGatewaySite> prepare(const DeployTarget& target, const DeployContext& context) const {
    auto refuse = [&](ErrorCode code, const std::string& message) -> Unexpected<Error> {
      return fail(code, "gateway " + target.id + " on host " + target.host + ": " + message);
    };
    if (target.runtime != "talon" && target.runtime != "openclaw")
      return fail(ErrorCode::kUnsupported, "gateway " + target.id + ": unknown runtime \"" + target.runtime + "\"");
    if (target.host.empty() || target.host == "local")
      return fail(ErrorCode::kInvalidArgument, "gateway " + target.id +
                                                   ": the ssh provider needs a `host` (the ssh destination); "
                                                   "\"local\" is the process provider's");
    if (target.port <= 0) return fail(ErrorCode::kInvalidArgument, "gateway " + target.id + " has no port");
    for (const auto& [key, path] : {std::pair<std::string, std::string>{"stateDir", target.paths.stateDir},
                                    {"configPath", target.paths.configPath},
                                    {"workspaceRoot", target.paths.workspaceRoot}}) {
      if (!sshIsAbsolutePath(path))
        return refuse(ErrorCode::kInvalidArgument,
                      key + " \"" + path + "\" must be an absolute path on the host for the ssh provider");
    }
    if (target.runtime == "talon") {
      auto local = localBinary(target, context);
      std::error_code ec;
      if (!std::filesystem::is_regular_file(local, ec))
        return fail(ErrorCode::kNotFound, "gateway " + target.id + ": the Talon binary to install, " + local.string() +
                                              (target.binary.empty() ? "," : " (runtimes.talon.versions),") +
                                              " is not a file");
    }
    SshGatewaySite site;
    site.settings = sshSettings(target.settings);
    SshEndpoint endpoint;
    endpoint.host = target.host;
    endpoint.user = site.settings.user;
    endpoint.port = site.settings.port;
    endpoint.identityFile = site.settings.identityFile;
    endpoint.knownHostsFile = site.settings.knownHostsFile;
    endpoint.strictHostKeyChecking = site.settings.strictHostKeyChecking;
    endpoint.connectTimeoutSeconds = site.settings.connectTimeoutSeconds;
    std::string key = endpoint.host + "\n" + endpoint.user + "\n" + std::to_string(endpoint.port) + "\n" +
                      endpoint.identityFile + "\n" + endpoint.knownHostsFile + "\n" + endpoint.strictHostKeyChecking;
    HostSession& session = sessions_[key];
    if (!session.connection)
      session.connection = std::make_unique<SshConnection>(endpoint, context.fleetStateDir / "ssh");
    site.connection = session.connection.get();
    if (!session.facts) {
      auto out = session.connection->runChecked(
          "inspecting the host (uname, id, command -v)",
          "printf 'os=%s\\narch=%s\\nhome=%s\\nuid=%s\\n' \"$(uname -s)\" \"$(uname -m)\" \"$HOME\" \"$(id -u)\"\n"
          "printf 'openclaw=%s\\n' \"$(command -v openclaw 2>/dev/null)\"\n"
          "printf 'systemctl=%s\\n' \"$(command -v systemctl 2>/dev/null)\"\n"
          "printf 'sha256sum=%s\\n' \"$(command -v sha256sum 2>/dev/null)\"\n");
      if (!out) return fail(onHost(target, out.error()));
      auto kv = sshKeyValueLines(*out);
      SshHostFacts f;
      f.os = kv["os"];
      f.arch = kv["arch"];
      f.home = kv["home"];
      f.root = kv["uid"] == "0";
      f.openclaw = kv["openclaw"];
      f.systemctl = !kv["systemctl"].empty();
      f.sha256sum = !kv["sha256sum"].empty();
      session.facts = f;
    }
    site.facts = *session.facts;
    const SshHostFacts& f = site.facts;
    if (f.os != "Linux") return refuse(ErrorCode::kUnsupported, "the host runs \"" + f.os + "\", not Linux");
    if (!f.sha256sum) return refuse(ErrorCode::kUnsupported, "the host has no sha256sum (GNU coreutils)");
    std::string remoteDir = site.settings.remoteDir.empty() ? "~/.talon-fleet/" + target.id : site.settings.remoteDir;
    if (remoteDir == "~" || remoteDir.rfind("~/", 0) == 0) remoteDir = f.home + remoteDir.substr(1);
    if (!sshIsAbsolutePath(remoteDir))
      return refuse(ErrorCode::kInvalidArgument,
                    "ssh.remoteDir \"" + site.settings.remoteDir + "\" must be absolute or start with \"~/\"");
    while (remoteDir.size() > 1 && remoteDir.back() == '/') remoteDir.pop_back();
    site.layout.gatewayId = target.id;
    site.layout.runtime = target.runtime;
    site.layout.remoteDir = remoteDir;
    site.layout.stateDir = target.paths.stateDir;
    site.layout.configPath = target.paths.configPath;
    site.layout.systemUnit = f.root;
    site.layout.stopGraceSeconds = std::max<long>(1, static_cast<long>(context.stopGrace.count() / 1000));
    if (target.runtime == "talon") {
      auto local = sshLocalArchitecture();
      if (f.arch != local)
        return refuse(ErrorCode::kUnsupported, "the host's architecture is " + f.arch + "; this talon binary is " +
                                                   local + " (install a matching binary through runtimes.talon)");
      site.layout.binary = remoteDir + "/bin/talon";
    } else if (!target.binary.empty()) {
      auto r = site.connection->run("looking for " + target.binary, "test -x " + shellQuote(target.binary));
      if (!r) return fail(onHost(target, r.error()));
      if (r->exitCode != 0)
        return refuse(ErrorCode::kNotFound, "the OpenClaw " + target.version + " executable " + target.binary +
                                                " (runtimes.openclaw.versions) is not an executable file there");
      site.layout.binary = target.binary;
    } else if (f.openclaw.empty()) {
      return refuse(ErrorCode::kNotFound,
                    "OpenClaw is not installed there (no `openclaw` on the ssh user's PATH); Talon does not install "
                    "Node and OpenClaw remotely: install them on the host, or list the executable's path in "
                    "runtimes.openclaw.versions");
    } else {
      site.layout.binary = f.openclaw;
    }
    if (site.settings.service == "systemd") {
      if (!f.systemctl)
        return refuse(ErrorCode::kUnsupported,
                      "the host has no systemctl; set ssh.service to \"detached\" for a host without systemd");
      site.systemctl = f.root ? "systemctl" : "systemctl --user";
      site.journalctl = f.root ? "journalctl" : "journalctl --user";
      site.serviceFile = (f.root ? std::string("/etc/systemd/system") : f.home + "/.config/systemd/user") + "/" +
                         sshUnitName(target.id);
    } else {
      site.serviceFile = site.file(kSshLauncher);
    }
    return site;
  }

  /// The state script's "key=value" lines; `extra` runs in the same round trip.
  static Result<std::map<std::string, std::string>> remoteState(SshGatewaySite& s, const DeployTarget& target,
                                                                bool probe, const std::string& extra = "") {
    auto out = s.connection->runChecked(
        probe ? "checking the gateway's process and /readyz" : "checking the gateway's process",
        sshStateScript(s, target, probe) + extra);
    if (!out) return fail(onHost(target, out.error()));
    return sshKeyValueLines(*out);
  }

  static bool isRunning(const SshGatewaySite& s, std::map<std::string, std::string>& state) {
    const std::string& word = state["state"];
    return s.systemd() ? word == "active" || word == "activating" || word == "reloading" : word == "running";
  }

  static ProbeResult readyzOf(std::map<std::string, std::string>& state) {
    ProbeResult r;
    const std::string& p = state["probe"];
    if (p == "none") {
      r.error = "neither curl nor bash on the host to probe it";
    } else {
      r.status = std::atoi(p.c_str());
      if (r.status == 0) r.error = "no answer";
    }
    return r;
  }

  Status launch(SshGatewaySite& s, const DeployTarget& target, const DeployContext& context, bool running) {
    SshConnection& c = *s.connection;
    if (s.systemd()) {
      std::string verb = running ? "restart" : "start";
      if (auto r = c.runChecked(s.systemctl + " " + verb + " " + s.unit(),
                                s.systemctl + " " + verb + " " + shellQuote(s.unit()));
          !r)
        return fail(onHost(target, r.error()));
      progress(context, target.id + ": " + verb + "ed " + s.unit() + " on " + c.destination());
    } else {
      if (running) {
        if (auto st = stopDetached(s, target, context); !st) return st;
      }
      std::string pid = shellQuote(s.file(kSshPidFile));
      std::string script = "rm -f " + pid + "\n(setsid nohup sh " + shellQuote(s.serviceFile) + " >> " +
                           shellQuote(s.file(kSshLogFile)) + " 2>&1 < /dev/null &)\ni=0\nwhile [ ! -s " + pid +
                           " ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done\n[ -s " + pid +
                           " ] || { echo 'the launcher wrote no pid file within 10 s; last log lines:' >&2; tail -n " +
                           std::to_string(kSshFailureLogLines) + " " + shellQuote(s.file(kSshLogFile)) +
                           " >&2; exit 1; }\ncut -d' ' -f1 " + pid + "\n";
      auto r = c.runChecked("starting " + s.serviceFile, script);
      if (!r) return fail(onHost(target, r.error()));
      progress(context, target.id + ": started on " + c.destination() + " (pid " + trimWhitespace(*r) + "), log " +
                            s.file(kSshLogFile));
    }
    return waitReady(s, target, context);
  }

  Status stopDetached(SshGatewaySite& s, const DeployTarget& target, const DeployContext& context) {
    long tenths = std::max<long>(1, static_cast<long>(context.stopGrace.count() / 100));
    std::string script = sshAliveFunction(s) + "if alive; then kill -TERM $p\ni=0\nwhile alive && [ $i -lt " +
                         std::to_string(tenths) +
                         " ]; do sleep 0.1; i=$((i+1)); done\n"
                         "if alive; then kill -KILL $p; i=0; while alive && [ $i -lt 50 ]; do sleep 0.1; "
                         "i=$((i+1)); done; fi\n"
                         "if alive; then echo \"pid $p did not exit\" >&2; exit 1; fi\nfi\nrm -f " +
                         shellQuote(s.file(kSshPidFile)) + "\n";
    auto r = s.connection->runChecked(
        "stopping the gateway (SIGTERM, then SIGKILL after " + std::to_string(context.stopGrace.count()) + " ms)",
        script);
    if (!r) return fail(onHost(target, r.error()));
    return {};
  }

  Status waitReady(SshGatewaySite& s, const DeployTarget& target, const DeployContext& context) {
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + context.readyTimeout;
    auto nextProgress = start + kSshProgressInterval;
    while (true) {
      auto state = remoteState(s, target, true);
      if (!state) return fail(state.error());
      if (!isRunning(s, *state)) {
        auto log = logs(target, context, kSshFailureLogLines);
        return fail(ErrorCode::kUnavailable, "gateway " + target.id + " on host " + target.host + " exited (" +
                                                 (*state)["state"] + "); last log lines:\n" +
                                                 (log ? sshLastLines(*log, kSshFailureLogLines) : log.error().message));
      }
      ProbeResult last = readyzOf(*state);
      auto now = std::chrono::steady_clock::now();
      auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count();
      std::string where = target.probeHost + ":" + std::to_string(target.port) + " on " + s.connection->destination();
      if (last.ok()) {
        progress(context, target.id + ": ready on " + where + " (" + std::to_string(elapsed) + " ms)");
        return {};
      }
      std::string seen = last.status != 0 ? "status " + std::to_string(last.status) : last.error;
      if (now >= deadline) {
        return fail(ErrorCode::kDeadlineExceeded,
                    "gateway " + target.id + " on host " + target.host + " was not ready within " +
                        std::to_string(context.readyTimeout.count()) + " ms (/readyz: " + seen + ")");
      }
      if (now >= nextProgress) {
        progress(context, target.id + ": waiting for /readyz on " + where + " (" + std::to_string(elapsed / 1000) +
                              " s, " + seen + ")");
        nextProgress = now + kSshProgressInterval;
      }
      std::this_thread::sleep_for(kSshPollInterval);
    }
  }

  mutable std::map<std::string, HostSession> sessions_;
  std::map<std::string, std::string> localSha_;
};

}  // namespace

SshSettings sshSettings(const json::object& gatewaySettings) {
  SshSettings s;
  const json::value* v = gatewaySettings.if_contains("ssh");
  if (v == nullptr || !v->is_object()) return s;
  const auto& o = v->as_object();
  s.user = std::string(getString(o, "user").value_or(""));
  s.port = static_cast<int>(getInt(o, "port").value_or(0));
  s.identityFile = std::string(getString(o, "identityFile").value_or(""));
  s.knownHostsFile = std::string(getString(o, "knownHostsFile").value_or(""));
  s.strictHostKeyChecking = std::string(getString(o, "strictHostKeyChecking").value_or("yes"));
  s.remoteDir = std::string(getString(o, "remoteDir").value_or(""));
  s.service = std::string(getString(o, "service").value_or("systemd"));
  s.connectTimeoutSeconds = static_cast<int>(getInt(o, "connectTimeoutSeconds").value_or(10));
  return s;
}

std::string sshUnitName(const std::string& gatewayId) { return "talon-gateway-" + gatewayId + ".service"; }

std::string sshSystemdUnit(const RemoteGatewayLayout& l) {
  SshRuntimeEnvironment e = sshRuntimeEnvironment(l);
  std::string out = "# Written by `talon fleet apply` for gateway " + l.gatewayId +
                    "; it is overwritten by the next apply.\n"
                    "[Unit]\n"
                    "Description=Talon fleet gateway " +
                    l.gatewayId + " (" + l.runtime +
                    " runtime)\n"
                    "Wants=network-online.target\n"
                    "After=network-online.target\n"
                    "\n"
                    "[Service]\n"
                    "Type=simple\n"
                    "WorkingDirectory=" +
                    sshSystemdPath(l.stateDir) + "\n";
  for (const auto& [name, value] : e.set) out += "Environment=" + sshSystemdQuote(name + "=" + value) + "\n";
  out += "EnvironmentFile=-" + sshSystemdPath(l.remoteDir + "/" + std::string(kSshEnvFile)) + "\n";
  out += "UnsetEnvironment=";
  for (std::size_t i = 0; i < e.unset.size(); ++i) out += (i ? " " : "") + e.unset[i];
  out += "\nExecStart=";
  for (std::size_t i = 0; i < e.argv.size(); ++i) out += (i ? " " : "") + sshSystemdQuote(e.argv[i]);
  out +=
      "\nUMask=0077\n"
      "Restart=on-failure\n"
      "RestartSec=2\n"
      "KillSignal=SIGTERM\n"
      "TimeoutStopSec=" +
      std::to_string(l.stopGraceSeconds) +
      "\n"
      "\n"
      "[Install]\n"
      "WantedBy=" +
      std::string(l.systemUnit ? "multi-user.target" : "default.target") + "\n";
  return out;
}

std::string sshLauncherScript(const RemoteGatewayLayout& l) {
  SshRuntimeEnvironment e = sshRuntimeEnvironment(l);
  std::string dir = shellQuote(l.remoteDir);
  std::string out = "#!/bin/sh\n# Written by `talon fleet apply` for gateway " + l.gatewayId +
                    " (service \"detached\"); it is overwritten by the next apply.\n"
                    "umask 077\n"
                    "set -a\n"
                    "if [ -f " +
                    dir + "/" + std::string(kSshEnvFile) + " ]; then . " + dir + "/" + std::string(kSshEnvFile) +
                    "; fi\n"
                    "set +a\n";
  out += "unset";
  for (const auto& name : e.unset) out += " " + name;
  out += "\n";
  for (const auto& [name, value] : e.set) out += name + "=" + shellQuote(value) + "; export " + name + "\n";
  out += "cd " + shellQuote(l.stateDir) +
         " || exit 1\n"
         "# The pid and its start time (field 22 of /proc/<pid>/stat): a reused pid is not mistaken for it.\n"
         "st=$(cat /proc/$$/stat); st=${st##*) }; set -- $st\n"
         "echo \"$$ ${20}\" > " +
         dir + "/" + std::string(kSshPidFile) + ".tmp && mv -f " + dir + "/" + std::string(kSshPidFile) + ".tmp " +
         dir + "/" + std::string(kSshPidFile) + "\nexec";
  for (const auto& a : e.argv) out += " " + shellQuote(a);
  return out + "\n";
}

DeployerPtr createSshDeployer() { return std::make_unique<SshDeployer>(); }

}  // namespace talon::fleet
