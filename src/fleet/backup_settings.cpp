#include "fleet/backup_settings.h"

namespace talon::fleet {

namespace {

int backupSettingsInteger(const config::LocatedValue& section, std::string_view key, int fallback) {
  const auto* m = section.findMember(key);
  if (m == nullptr || !m->value.scalar.is_number()) return fallback;
  boost::system::error_code ec;
  auto v = m->value.scalar.to_number<int64_t>(ec);
  return ec ? fallback : static_cast<int>(v);
}

}  // namespace

BackupSettings readBackupSettings(const config::LocatedValue& section) {
  BackupSettings out;
  out.location = section.location;
  out.intervalHours = backupSettingsInteger(section, "intervalHours", out.intervalHours);
  out.keep = backupSettingsInteger(section, "keep", out.keep);
  out.verifyIntervalHours = backupSettingsInteger(section, "verifyIntervalHours", out.verifyIntervalHours);
  return out;
}

}  // namespace talon::fleet
