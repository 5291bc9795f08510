#include "fleet/deployers/container_deploy.h"

#include <unistd.h>

#include "base/file_io.h"
#include "base/text.h"

namespace talon::fleet {

namespace {

constexpr std::size_t kCommandErrorLines = 8;

std::string lastLinesOf(const std::string& text, std::size_t lines) {
  std::size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
  std::size_t start = end;
  std::size_t seen = 0;
  while (start > 0) {
    if (text[start - 1] == '\n' && ++seen == lines) break;
    --start;
  }
  return text.substr(start, end - start);
}

}  // namespace

std::optional<std::filesystem::path> findExecutableInPath(std::string_view name, std::string_view pathVariable) {
  std::size_t begin = 0;
  while (begin <= pathVariable.size()) {
    std::size_t colon = pathVariable.find(':', begin);
    std::string_view dir =
        pathVariable.substr(begin, colon == std::string_view::npos ? std::string_view::npos : colon - begin);
    std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : std::string(dir)) / std::string(name);
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    begin = colon + 1;
  }
  return std::nullopt;
}

std::string commandLineText(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t'\"$\\") == std::string::npos;
    out += plain ? a : "'" + a + "'";
  }
  return out;
}

Result<CommandOutput> runDeployCommand(const std::vector<std::string>& argv, const std::filesystem::path& workingDir) {
  auto result = runCommand(argv, workingDir);
  if (!result) {
    if (result.error().code == ErrorCode::kNotFound)
      return fail(ErrorCode::kNotFound, "cannot run `" + commandLineText(argv) + "`: " + argv[0] + " is not installed");
    return fail(result.error());
  }
  if (result->exitCode != 0) {
    const std::string& text = trimWhitespace(result->err).empty() ? result->out : result->err;
    return fail(ErrorCode::kUnavailable, "`" + commandLineText(argv) + "` exited with " +
                                             std::to_string(result->exitCode) + ": " +
                                             lastLinesOf(text, kCommandErrorLines));
  }
  return result;
}

Status checkContainerTarget(const DeployTarget& target, std::string_view provider) {
  if (target.provider != provider)
    return fail(ErrorCode::kInvalidArgument, "gateway " + target.id + " has provider \"" + target.provider +
                                                 "\", not \"" + std::string(provider) + "\"");
  if (!target.manifestError.empty()) return fail(ErrorCode::kConfigInvalid, target.manifestError);
  if (target.manifestText.empty())
    return fail(ErrorCode::kInvalidArgument,
                "gateway " + target.id + " has no rendered " + std::string(provider) + " manifest");
  if (target.port <= 0) return fail(ErrorCode::kInvalidArgument, "gateway " + target.id + " has no port");
  std::string bind = "loopback";
  if (auto config = parseJson(target.configText); config && config->is_object()) {
    if (const auto* gateway = getObject(config->as_object(), "gateway"))
      bind = std::string(getString(*gateway, "bind").value_or("loopback"));
  }
  if (bind == "loopback" || bind == "tailnet")
    return fail(ErrorCode::kConfigInvalid,
                "gateway " + target.id + ": bind \"" + bind + "\" listens only inside its container, where the " +
                    std::string(provider) +
                    " provider cannot reach it; set bind \"lan\" in the inventory (with auth, which preflight "
                    "requires beyond loopback)");
  return {};
}

Result<bool> writeDeployFiles(const DeployTarget& target, const std::filesystem::path& dir, std::string_view fileName,
                              unsigned mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  bool changed = false;
  for (const auto& [name, text] :
       {std::pair<std::string_view, const std::string*>{kRenderedConfigName, &target.configText},
        std::pair<std::string_view, const std::string*>{fileName, &target.manifestText}}) {
    std::filesystem::path file = dir / std::string(name);
    auto onDisk = readFile(file);
    if (onDisk && *onDisk == *text) continue;
    if (auto s = writeFileAtomic(file, *text, mode); !s) return fail(s.error());
    changed = true;
  }
  return changed;
}

}  // namespace talon::fleet
