#pragma once
// Audit records of offline CLI commands (`talon pairing approve`, ...): appended to the state dir's
// tamper-evident audit chain (security/audit_chain.h, docs/audit.md) like the gateway's own records.
#include <filesystem>

#include "base/error.h"
#include "security/audit_sink.h"
#include "store/store.h"

namespace talon::cli {

/// Appends `event` to the audit chain of `store` (the state dir's store, open), waits for the commit and
/// refreshes the checkpoint file in `stateDir`. Safe while a gateway on the same state dir appends too
/// (the chain follows commit order). Errors: store errors; kFailedPrecondition when the log no longer
/// extends its checkpoint (the record is still appended; `talon audit verify` names the damage).
Status appendCliAudit(store::Store& store, const std::filesystem::path& stateDir, security::AuditEvent event);

}  // namespace talon::cli
