#include "cli/cli_audit.h"

#include "security/audit_chain.h"

namespace talon::cli {

Status appendCliAudit(store::Store& store, const std::filesystem::path& stateDir, security::AuditEvent event) {
  security::ChainedAuditSinkOptions options;
  options.checkpointPath = security::auditCheckpointPath(stateDir);
  options.logLines = false;  // the command's stdout/stderr are its own output
  auto chain = security::ChainedAuditSink::create(store, std::move(options));
  if (!chain) return fail(chain.error());
  (*chain)->record(std::move(event));
  if (auto s = (*chain)->flush(); !s) return s;
  if ((*chain)->failures() > 0) return fail(ErrorCode::kIo, "the audit record was not committed");
  return (*chain)->writeCheckpoint();
}

}  // namespace talon::cli
