#include "config/config_paths.h"

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace talon::config {

namespace fs = std::filesystem;

std::string homeDir(const Environment& env) {
  std::string home = envTrimmed(env, "HOME");
  if (!home.empty()) return home;
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
  struct passwd pw {};
  struct passwd* result = nullptr;
  if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &result) == 0 && result != nullptr &&
      result->pw_dir != nullptr && result->pw_dir[0] != '\0') {
    return result->pw_dir;
  }
  return "/";
}

fs::path resolveUserPath(std::string_view value, const Environment& env) {
  std::string s(value);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  if (s.empty()) return {};
  if (s == "~" || s.rfind("~/", 0) == 0) s = homeDir(env) + s.substr(1);
  fs::path p(s);
  if (!p.is_absolute()) p = fs::absolute(p);
  std::string normal = p.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();  // "a/b/" -> "a/b"
  return fs::path(normal);
}

fs::path resolveStateDir(const Environment& env) {
  std::string override = envTrimmed(env, kStateDirEnv);
  if (!override.empty()) return resolveUserPath(override, env);
  return (fs::path(homeDir(env)) / kStateDirName).lexically_normal();
}

fs::path resolveConfigPath(const Environment& env, const std::optional<fs::path>& explicitPath) {
  if (explicitPath && !explicitPath->empty()) return resolveUserPath(explicitPath->string(), env);
  std::string override = envTrimmed(env, kConfigPathEnv);
  if (!override.empty()) return resolveUserPath(override, env);
  return resolveStateDir(env) / kConfigFileName;
}

}  // namespace talon::config
