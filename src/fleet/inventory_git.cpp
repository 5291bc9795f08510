#include "fleet/inventory_git.h"

#include "base/text.h"
#include "fleet/local_process.h"

namespace talon::fleet {

Result<std::optional<InventoryGitState>> inventoryGitState(const std::filesystem::path& inventoryPath,
                                                           const std::vector<std::filesystem::path>& files) {
  std::error_code ec;
  auto dir = std::filesystem::absolute(inventoryPath, ec).parent_path();
  auto inside = runCommand({"git", "rev-parse", "--is-inside-work-tree"}, dir);
  if (!inside) {
    if (inside.error().code == ErrorCode::kNotFound) return std::optional<InventoryGitState>();  // no git
    return fail(inside.error());
  }
  if (inside->exitCode != 0 || trimWhitespace(inside->out) != "true") return std::optional<InventoryGitState>();

  InventoryGitState state;
  auto head = runCommand({"git", "rev-parse", "--verify", "--quiet", "HEAD"}, dir);
  if (!head) return fail(head.error());
  if (head->exitCode == 0) state.commit = trimWhitespace(head->out);

  std::vector<std::string> status = {"git", "status", "--porcelain", "--untracked-files=all", "--"};
  for (const auto& f : files) status.push_back(std::filesystem::absolute(f, ec).string());
  auto changed = runCommand(status, dir);
  if (!changed) return fail(changed.error());
  if (changed->exitCode != 0)
    return fail(ErrorCode::kIo, "git status in " + dir.string() + " failed: " + trimWhitespace(changed->err));
  std::size_t start = 0;
  const std::string& out = changed->out;
  while (start < out.size()) {
    auto end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    if (end > start) state.changedFiles.push_back(out.substr(start, end - start));
    start = end + 1;
  }
  state.dirty = !state.changedFiles.empty() || state.commit.empty();
  return std::optional<InventoryGitState>(std::move(state));
}

}  // namespace talon::fleet
