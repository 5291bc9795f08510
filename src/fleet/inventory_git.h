#pragma once
// The inventory's git state for a deployment revision: HEAD's commit when the inventory lives in a git
// repository, and whether the inventory or a file it includes has uncommitted changes. Runs the `git`
// CLI (PATH); blocks the calling thread.
#include <filesystem>
#include <optional>
#include <vector>

#include "base/error.h"
#include "fleet/revision.h"

namespace talon::fleet {

/// nullopt when the inventory's folder is not in a git work tree (or git is not installed). `files` are
/// the inventory and the files it includes; untracked or modified ones make the state dirty.
/// Errors: kIo when git fails on a repository it recognised (output named).
Result<std::optional<InventoryGitState>> inventoryGitState(const std::filesystem::path& inventoryPath,
                                                           const std::vector<std::filesystem::path>& files);

}  // namespace talon::fleet
