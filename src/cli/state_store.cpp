#include "cli/state_store.h"

#include <string>
#include <system_error>

#include "config/config_paths.h"
#include "gateway/gateway.h"
#include "store/sqlite_store.h"

namespace talon::cli {

std::filesystem::path cliStateDir() { return config::resolveStateDir(config::processEnvironment()); }

Result<store::StorePtr> openStateStore(MissingStore missing) {
  store::SqliteStoreOptions options;
  options.path = gateway::storePathFor(cliStateDir());
  std::error_code ec;
  if (missing == MissingStore::kFail && !std::filesystem::exists(options.path, ec)) {
    const std::string msg = "no state database at " + options.path.string() + " (set TALON_STATE_DIR?)";
    return fail(ErrorCode::kNotFound, msg, msg);
  }
  return store::openSqliteStore(options);
}

}  // namespace talon::cli
