#include "security/secret_resolver.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>

namespace talon::security {

namespace {

namespace json = boost::json;

// Wipes a std::string that held secret bytes before it goes away.
struct Wiped {
  std::string bytes;
  ~Wiped() {
    if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
  }
};

Error refError(ErrorCode code, const config::SecretRef& ref, std::string_view why) {
  return Error(code, fmt::format("{}: {}", SecretResolver::describe(ref), why),
               fmt::format("secret ref {} could not be resolved", ref.path.empty() ? ref.id : ref.path));
}

const config::SecretProviderConfig* findProvider(const config::SecretsConfig& s, const config::SecretRef& ref) {
  auto it = s.providers.find(ref.provider);
  if (it == s.providers.end() || it->second.source != ref.source) return nullptr;
  return &it->second;
}

std::string expandHome(const std::string& path, const config::Environment& env) {
  if (path.rfind("~/", 0) != 0) return path;
  const std::string* home = config::findEnv(env, "HOME");
  return (home != nullptr ? *home : std::string()) + path.substr(1);
}

// Checks the mode bits and ownership OpenClaw requires of secret files and exec commands.
Status checkOwnedBy(const config::SecretRef& ref, const struct stat& st, std::string_view what) {
  if (st.st_uid != geteuid()) {
    return fail(refError(ErrorCode::kPermissionDenied, ref, fmt::format("{} is not owned by the current user", what)));
  }
  return {};
}

}  // namespace

SecretResolver::SecretResolver(SecretResolverOptions options) : options_(std::move(options)) {}

std::string SecretResolver::describe(const config::SecretRef& ref) {
  std::string out = fmt::format("source \"{}\" ref \"{}:{}\"", ref.source, ref.provider, ref.id);
  if (!ref.path.empty()) out += fmt::format(" (at {})", ref.path);
  return out;
}

void SecretResolver::audit(const config::SecretRef& ref, AuditOutcome outcome, const Error* error) const {
  if (options_.audit == nullptr) return;
  AuditEvent e;
  e.kind = "secret.read";
  e.actor = options_.actor;
  e.target = fmt::format("{}:{}:{}", ref.source, ref.provider, ref.id);
  e.outcome = outcome;
  if (!ref.path.empty()) e.details["configPath"] = ref.path;
  if (error != nullptr) e.details["code"] = std::string(errorCodeName(error->code));
  options_.audit->record(std::move(e));
}

Result<Secret> SecretResolver::resolve(const config::SecretRef& ref, std::span<const std::string> agents) const {
  const config::SecretsConfig& s = options_.secrets;
  const config::SecretProviderConfig* provider = findProvider(s, ref);
  if (ref.source == "env") {
    if (provider == nullptr && ref.provider != s.defaultEnv) {
      return fail(refError(ErrorCode::kConfigInvalid, ref,
                           fmt::format("no secrets.providers.{} with source \"env\"", ref.provider)));
    }
    return resolveEnv(ref, provider);
  }
  if (ref.source == "store") {
    if (provider == nullptr && ref.provider != s.defaultStore) {
      return fail(refError(ErrorCode::kConfigInvalid, ref,
                           fmt::format("no secrets.providers.{} with source \"store\"", ref.provider)));
    }
    if (options_.store == nullptr) {
      return fail(refError(ErrorCode::kFailedPrecondition, ref,
                           "the vault is not open (set TALON_VAULT_PASSPHRASE or TALON_VAULT_KEY_FILE)"));
    }
    return options_.store->read(ref, agents);
  }
  if (ref.source != "file" && ref.source != "exec") {
    return fail(refError(ErrorCode::kConfigInvalid, ref, "unknown source"));
  }
  if (provider == nullptr) {
    return fail(refError(ErrorCode::kConfigInvalid, ref,
                         fmt::format("no secrets.providers.{} with source \"{}\"", ref.provider, ref.source)));
  }
  Result<Secret> out = ref.source == "file" ? resolveFile(ref, *provider) : resolveExec(ref, *provider);
  audit(ref, out ? AuditOutcome::kAllowed : AuditOutcome::kFailed, out ? nullptr : &out.error());
  return out;
}

Result<Secret> SecretResolver::resolveEnv(const config::SecretRef& ref,
                                          const config::SecretProviderConfig* provider) const {
  if (provider != nullptr && provider->allowlist &&
      std::find(provider->allowlist->begin(), provider->allowlist->end(), ref.id) == provider->allowlist->end()) {
    return fail(refError(ErrorCode::kPermissionDenied, ref,
                         fmt::format("env var \"{}\" is not in secrets.providers.{}.allowlist", ref.id, ref.provider)));
  }
  const std::string* v = config::findEnv(options_.env, ref.id);
  if (v == nullptr || v->empty()) {
    return fail(refError(ErrorCode::kNotFound, ref, fmt::format("env var \"{}\" is not set", ref.id)));
  }
  return Secret(*v);
}

Result<Secret> SecretResolver::resolveFile(const config::SecretRef& ref,
                                           const config::SecretProviderConfig& provider) const {
  std::string path = expandHome(provider.path, options_.env);
  if (provider.mode == "singleValue" && ref.id != "value") {
    return fail(refError(ErrorCode::kConfigInvalid, ref, "a singleValue file provider takes the id \"value\""));
  }
  if (provider.mode == "json" && (ref.id.empty() || ref.id[0] != '/')) {
    return fail(refError(ErrorCode::kConfigInvalid, ref, "a json file provider takes an absolute JSON pointer id"));
  }
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) != 0) {
    return fail(refError(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, ref,
                         fmt::format("cannot stat {}: {}", path, std::strerror(errno))));
  }
  if (S_ISLNK(lst.st_mode)) {
    return fail(refError(ErrorCode::kPermissionDenied, ref, fmt::format("{} is a symlink", path)));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return fail(refError(ErrorCode::kIo, ref, fmt::format("cannot open {}: {}", path, std::strerror(errno))));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail(refError(ErrorCode::kIo, ref, fmt::format("cannot stat {}: {}", path, std::strerror(errno))));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(refError(ErrorCode::kPermissionDenied, ref, fmt::format("{} is not a regular file", path)));
  }
  if (st.st_ino != lst.st_ino || st.st_dev != lst.st_dev) {
    return fail(refError(ErrorCode::kPermissionDenied, ref, fmt::format("{} changed while being opened", path)));
  }
  if (st.st_nlink != 1) {
    return fail(refError(ErrorCode::kPermissionDenied, ref, fmt::format("{} must not be hardlinked", path)));
  }
  if ((st.st_mode & 077) != 0) {
    return fail(refError(
        ErrorCode::kPermissionDenied, ref,
        fmt::format("{} is accessible by group or others (mode {:o}; chmod 600 it)", path, st.st_mode & 07777)));
  }
  if (auto owned = checkOwnedBy(ref, st, path); !owned) return fail(owned.error());
  if (st.st_size > provider.maxBytes) {
    return fail(refError(ErrorCode::kResourceExhausted, ref,
                         fmt::format("{} is larger than maxBytes ({} bytes)", path, provider.maxBytes)));
  }
  Wiped content;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(provider.timeoutMs);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      OPENSSL_cleanse(buf, sizeof buf);
      return fail(refError(ErrorCode::kIo, ref, fmt::format("cannot read {}: {}", path, std::strerror(errno))));
    }
    if (n == 0) break;
    content.bytes.append(buf, static_cast<std::size_t>(n));
    if (static_cast<int64_t>(content.bytes.size()) > provider.maxBytes) {
      OPENSSL_cleanse(buf, sizeof buf);
      return fail(refError(ErrorCode::kResourceExhausted, ref,
                           fmt::format("{} is larger than maxBytes ({} bytes)", path, provider.maxBytes)));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      OPENSSL_cleanse(buf, sizeof buf);
      return fail(refError(ErrorCode::kDeadlineExceeded, ref, fmt::format("reading {} took over timeoutMs", path)));
    }
  }
  OPENSSL_cleanse(buf, sizeof buf);
  if (provider.mode == "singleValue") {
    std::string_view v(content.bytes);
    if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
    if (!v.empty() && v.back() == '\r') v.remove_suffix(1);
    if (v.empty()) return fail(refError(ErrorCode::kNotFound, ref, fmt::format("{} is empty", path)));
    return Secret(v);
  }
  boost::system::error_code ec;
  json::value doc = json::parse(content.bytes, ec);
  if (ec || !doc.is_object()) {
    return fail(refError(ErrorCode::kConfigInvalid, ref, fmt::format("{} is not a JSON object", path)));
  }
  const json::value* v = doc.find_pointer(ref.id, ec);
  if (ec || v == nullptr) {
    return fail(refError(ErrorCode::kNotFound, ref, fmt::format("{} has no value at this pointer", path)));
  }
  if (!v->is_string() || v->get_string().empty()) {
    return fail(refError(ErrorCode::kConfigInvalid, ref,
                         fmt::format("{}: the value at this pointer is not a non-empty string", path)));
  }
  Secret out(std::string_view(v->get_string()));
  // Wipe the parsed copy's strings (the value and any neighbours) before the document goes away.
  std::function<void(json::value&)> wipe = [&](json::value& x) {
    if (x.is_string()) {
      auto& s = x.get_string();
      OPENSSL_cleanse(s.data(), s.size());
    } else if (x.is_object()) {
      for (auto& kv : x.get_object()) wipe(kv.value());
    } else if (x.is_array()) {
      for (auto& item : x.get_array()) wipe(item);
    }
  };
  wipe(doc);
  return out;
}

Result<Secret> SecretResolver::resolveExec(const config::SecretRef& ref,
                                           const config::SecretProviderConfig& provider) const {
  namespace fs = std::filesystem;
  const std::string& command = provider.command;
  if (command.empty() || command[0] != '/') {
    return fail(refError(ErrorCode::kConfigInvalid, ref, "the provider's command must be an absolute path"));
  }
  struct stat st {};
  if (::lstat(command.c_str(), &st) != 0) {
    return fail(
        refError(ErrorCode::kNotFound, ref, fmt::format("cannot stat command {}: {}", command, std::strerror(errno))));
  }
  if (S_ISLNK(st.st_mode)) {
    return fail(refError(ErrorCode::kPermissionDenied, ref, fmt::format("command {} is a symlink", command)));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(refError(ErrorCode::kPermissionDenied, ref, fmt::format("command {} is not a regular file", command)));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return fail(
        refError(ErrorCode::kPermissionDenied, ref, fmt::format("command {} is writable by group or others", command)));
  }
  if (auto owned = checkOwnedBy(ref, st, "command " + command); !owned) return fail(owned.error());
  if (!provider.trustedDirs.empty()) {
    fs::path cmd = fs::path(command).lexically_normal();
    bool trusted = std::any_of(provider.trustedDirs.begin(), provider.trustedDirs.end(), [&](const std::string& dir) {
      fs::path d = fs::path(expandHome(dir, options_.env)).lexically_normal();
      auto rel = cmd.lexically_relative(d);
      return !rel.empty() && *rel.begin() != "..";
    });
    if (!trusted) {
      return fail(
          refError(ErrorCode::kPermissionDenied, ref,
                   fmt::format("command {} is not under secrets.providers.{}.trustedDirs", command, ref.provider)));
    }
  }

  // argv and a minimal environment: passEnv from ours, then env.
  std::vector<std::string> argvStore{command};
  argvStore.insert(argvStore.end(), provider.args.begin(), provider.args.end());
  std::vector<std::string> envStore;
  for (const auto& name : provider.passEnv) {
    if (const std::string* v = config::findEnv(options_.env, name)) envStore.push_back(name + "=" + *v);
  }
  for (const auto& [k, v] : provider.env) envStore.push_back(k + "=" + v);
  std::vector<char*> argv;
  for (auto& a : argvStore) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : envStore) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return fail(refError(ErrorCode::kIo, ref, "pipe failed"));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return fail(refError(ErrorCode::kIo, ref, "pipe failed"));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  // Its own process group, so a timeout kills what the command started too.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, command.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    return fail(refError(ErrorCode::kIo, ref, fmt::format("cannot run {}: {}", command, std::strerror(rc))));
  }

  json::object request{{"protocolVersion", 1}, {"provider", ref.provider}, {"ids", json::array{json::value(ref.id)}}};
  std::string requestText = json::serialize(request);
  std::size_t written = 0;
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  int inFd = in[1];
  Wiped output;
  bool tooLarge = false;
  bool timedOut = false;
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  auto deadline = start + std::chrono::milliseconds(provider.timeoutMs);
  auto firstByteDeadline = start + std::chrono::milliseconds(provider.noOutputTimeoutMs.value_or(provider.timeoutMs));
  bool gotOutput = false;
  for (;;) {
    auto now = Clock::now();
    auto limit = gotOutput ? deadline : std::min(deadline, firstByteDeadline);
    if (now >= limit) {
      timedOut = true;
      break;
    }
    pollfd fds[2];
    int nfds = 0;
    fds[nfds++] = {out[0], POLLIN, 0};
    if (inFd >= 0) fds[nfds++] = {inFd, POLLOUT, 0};
    int wait = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(limit - now).count()) + 1;
    int n = ::poll(fds, nfds, wait);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (inFd >= 0 && nfds == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t w = ::write(inFd, requestText.data() + written, requestText.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = requestText.size();
      if (written >= requestText.size()) {
        ::close(inFd);
        inFd = -1;
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buf[4096];
      ssize_t r = ::read(out[0], buf, sizeof buf);
      if (r > 0) {
        gotOutput = true;
        output.bytes.append(buf, static_cast<std::size_t>(r));
        OPENSSL_cleanse(buf, sizeof buf);
        if (static_cast<int64_t>(output.bytes.size()) > provider.maxOutputBytes) {
          tooLarge = true;
          break;
        }
      } else if (r == 0) {
        break;  // EOF
      } else if (errno != EAGAIN && errno != EINTR) {
        break;
      }
    }
  }
  if (inFd >= 0) ::close(inFd);
  ::close(out[0]);
  if (timedOut || tooLarge) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timedOut) {
    return fail(refError(ErrorCode::kDeadlineExceeded, ref,
                         fmt::format("command {} did not answer within {} ms", command, provider.timeoutMs)));
  }
  if (tooLarge) {
    return fail(
        refError(ErrorCode::kResourceExhausted, ref,
                 fmt::format("command {} wrote more than maxOutputBytes ({})", command, provider.maxOutputBytes)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail(refError(ErrorCode::kUpstream, ref,
                         fmt::format("command {} failed ({})", command,
                                     WIFEXITED(status) ? fmt::format("exit code {}", WEXITSTATUS(status))
                                                       : fmt::format("signal {}", WTERMSIG(status)))));
  }
  boost::system::error_code ec;
  json::value doc = json::parse(output.bytes, ec);
  if (ec || !doc.is_object()) {
    if (!provider.jsonOnly) {
      std::string_view v(output.bytes);
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.remove_suffix(1);
      if (v.empty()) return fail(refError(ErrorCode::kNotFound, ref, "the command printed nothing"));
      return Secret(v);
    }
    // The output may hold credential material: never quote it.
    return fail(
        refError(ErrorCode::kUpstream, ref, fmt::format("command {} did not answer with a JSON object", command)));
  }
  Result<Secret> result = fail(refError(ErrorCode::kUpstream, ref, "the answer has no value for this id"));
  const json::object& o = doc.get_object();
  const json::value* version = o.if_contains("protocolVersion");
  if (version == nullptr || !version->is_int64() || version->get_int64() != 1) {
    result = fail(refError(ErrorCode::kUpstream, ref, "the answer's protocolVersion is not 1"));
  } else if (const json::value* values = o.if_contains("values");
             values != nullptr && values->is_object() && values->get_object().if_contains(ref.id) != nullptr) {
    const json::value& v = values->get_object().at(ref.id);
    if (v.is_string() && !v.get_string().empty()) {
      result = Secret(std::string_view(v.get_string()));
    } else {
      result = fail(refError(ErrorCode::kUpstream, ref, "the answer's value is not a non-empty string"));
    }
  } else if (const json::value* errors = o.if_contains("errors"); errors != nullptr && errors->is_object()) {
    const json::value* e = errors->get_object().if_contains(ref.id);
    const json::value* code = e != nullptr && e->is_object() ? e->get_object().if_contains("code") : nullptr;
    // Only OpenClaw's recognised codes are shown: other fields can hold credential material.
    if (code != nullptr && code->is_string() && (code->get_string() == "NOT_FOUND")) {
      result = fail(refError(ErrorCode::kNotFound, ref, "the command answered NOT_FOUND"));
    } else if (code != nullptr && code->is_string() && code->get_string() == "AMBIGUOUS_DUPLICATE_KEY") {
      result = fail(refError(ErrorCode::kUpstream, ref, "the command answered AMBIGUOUS_DUPLICATE_KEY"));
    } else if (e != nullptr) {
      result = fail(refError(ErrorCode::kUpstream, ref, "the command answered an error"));
    }
  }
  std::function<void(json::value&)> wipe = [&](json::value& x) {
    if (x.is_string()) {
      auto& s = x.get_string();
      OPENSSL_cleanse(s.data(), s.size());
    } else if (x.is_object()) {
      for (auto& kv : x.get_object()) wipe(kv.value());
    }
  };
  wipe(doc);
  return result;
}

bool configUsesSecretSource(const config::TalonConfig& config, std::string_view source) {
  auto is = [&](const std::optional<config::SecretRef>& r) { return r && r->source == source; };
  if (is(config.gateway.auth.tokenRef) || is(config.gateway.auth.passwordRef)) return true;
  for (const auto& p : config.providers) {
    if (is(p.apiKeyRef)) return true;
    for (const auto& [name, ref] : p.headerRefs) {
      if (ref.source == source) return true;
    }
  }
  auto settingsUse = [&](const config::ChannelSettings& s) {
    return std::any_of(s.secretRefs.begin(), s.secretRefs.end(),
                       [&](const auto& kv) { return kv.second.source == source; });
  };
  for (const auto& c : config.channels.entries) {
    if (settingsUse(c.settings)) return true;
    for (const auto& [id, s] : c.accountSettings) {
      if (settingsUse(s)) return true;
    }
  }
  for (const auto& p : config.auth.profiles) {
    if (is(p.secretRef)) return true;
  }
  if (is(config.cron.webhookTokenRef)) return true;
  for (const auto& t : config.gateway.alerts.targets) {
    if (is(t.secretRef) || is(t.smtpPasswordRef)) return true;
  }
  return false;
}

std::vector<std::string> agentsUsingProvider(const config::TalonConfig& config, std::string_view providerId) {
  auto names = [&](const config::ModelRef& m) {
    auto hit = [&](const std::string& r) {
      return r.size() > providerId.size() && r.compare(0, providerId.size(), providerId) == 0 &&
             r[providerId.size()] == '/';
    };
    return hit(m.primary) || std::any_of(m.fallbacks.begin(), m.fallbacks.end(), hit);
  };
  std::vector<std::string> out;
  for (const auto& a : config.agents.entries) {
    const config::ModelRef& m = a.model.primary.empty() ? config.agents.defaults.model : a.model;
    if (names(m)) out.push_back(a.id);
  }
  return out;
}

void resolveConfigSecrets(config::TalonConfig& config, const SecretResolver& resolver) {
  config::GatewayAuthConfig& auth = config.gateway.auth;
  auto gatewaySecret = [&](const std::optional<config::SecretRef>& ref, std::string& into, std::string_view mode) {
    if (!ref) return;
    auto v = resolver.resolve(*ref);
    if (v) {
      into = std::string(v->reveal());
    } else if (auth.mode == mode) {
      auth.secretUnavailable = v.error().message;
      auth.secretPath = ref->path;
    }
  };
  gatewaySecret(auth.tokenRef, auth.token, "token");
  gatewaySecret(auth.passwordRef, auth.password, "password");
  for (auto& p : config.providers) {
    std::vector<std::string> agents = agentsUsingProvider(config, p.id);
    if (p.apiKeyRef) {
      auto v = resolver.resolve(*p.apiKeyRef, agents);
      if (v) {
        p.apiKey = std::string(v->reveal());
      } else {
        p.apiKeyUnavailable = v.error().message;
      }
    }
    for (const auto& [name, ref] : p.headerRefs) {
      auto v = resolver.resolve(ref, agents);
      if (v) {
        p.headers[name] = std::string(v->reveal());
      } else if (p.apiKeyUnavailable.empty()) {
        p.apiKeyUnavailable = v.error().message;
      }
    }
  }
  for (auto& p : config.auth.profiles) {
    if (!p.secretRef) continue;
    auto v = resolver.resolve(*p.secretRef, agentsUsingProvider(config, p.provider));
    if (v) {
      p.secret = std::string(v->reveal());
    } else {
      p.unavailable = v.error().message;
    }
  }
  auto resolveSettings = [&](config::ChannelSettings& s) {
    for (const auto& [key, ref] : s.secretRefs) {
      auto v = resolver.resolve(ref);
      if (v) {
        s.values[key] = std::string(v->reveal());
      } else {
        s.unavailable[key] = v.error().message;
      }
    }
  };
  for (auto& c : config.channels.entries) {
    resolveSettings(c.settings);
    for (auto& [id, s] : c.accountSettings) resolveSettings(s);
  }
  if (config.cron.webhookTokenRef) {
    auto v = resolver.resolve(*config.cron.webhookTokenRef);
    if (v) {
      config.cron.webhookToken = std::string(v->reveal());
    } else {
      config.cron.webhookTokenUnavailable = v.error().message;
    }
  }
  // gateway.alerts: a target whose secret cannot be read is reported by the alert router (never used
  // unsigned or unauthenticated).
  for (auto& t : config.gateway.alerts.targets) {
    for (auto [ref, into] : {std::pair{&t.secretRef, &t.secret}, std::pair{&t.smtpPasswordRef, &t.smtpPassword}}) {
      if (!*ref) continue;
      auto v = resolver.resolve(**ref);
      if (v) {
        *into = std::string(v->reveal());
      } else {
        t.secretUnavailable = v.error().message;
      }
    }
  }
}

}  // namespace talon::security
