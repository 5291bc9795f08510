#pragma once
// The state dir's store for the offline commands (`talon runs`, `talon audit`, `talon pairing`,
// `talon tokens`), which read and write it without a running gateway (SQLite serialises their writes
// with the gateway's).
#include <filesystem>

#include "base/error.h"
#include "store/store.h"

namespace talon::cli {

/// The state dir: TALON_STATE_DIR, else ~/.talon (config::resolveStateDir).
std::filesystem::path cliStateDir();

/// What openStateStore does when the state dir has no database yet.
enum class MissingStore {
  kCreate,  ///< create it (commands that write: pairing, tokens)
  kFail,    ///< fail with kNotFound (commands that only read: runs, audit)
};

/// Opens the state dir's store (gateway::storePathFor(cliStateDir())). Errors: kNotFound "no state
/// database at <path> (set TALON_STATE_DIR?)" when it does not exist and `missing` is kFail; the
/// store's own errors otherwise.
Result<store::StorePtr> openStateStore(MissingStore missing);

}  // namespace talon::cli
