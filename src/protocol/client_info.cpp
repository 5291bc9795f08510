#include "protocol/client_info.h"

#include <algorithm>
#include <array>

namespace talon::protocol {

namespace {
constexpr std::array<std::string_view, 17> kClientIds = {
    "webchat-ui",
    "openclaw-control-ui",
    "openclaw-browser-copilot",
    "openclaw-tui",
    "webchat",
    "cli",
    "gateway-client",
    "openclaw-macos",
    "openclaw-linux",
    "openclaw-ios",
    "openclaw-watchos",
    "openclaw-android",
    "node-host",
    "openclaw-worker",
    "test",
    "fingerprint",
    "openclaw-probe",
};

struct ModeName {
  ClientMode mode;
  std::string_view name;
};
constexpr std::array<ModeName, 8> kModes = {{
    {ClientMode::kWebchat, "webchat"},
    {ClientMode::kCli, "cli"},
    {ClientMode::kUi, "ui"},
    {ClientMode::kBackend, "backend"},
    {ClientMode::kNode, "node"},
    {ClientMode::kWorker, "worker"},
    {ClientMode::kProbe, "probe"},
    {ClientMode::kTest, "test"},
}};
}  // namespace

std::span<const std::string_view> knownClientIds() { return kClientIds; }

bool isKnownClientId(std::string_view id) {
  return std::find(kClientIds.begin(), kClientIds.end(), id) != kClientIds.end();
}

std::optional<ClientMode> parseClientMode(std::string_view name) {
  for (const auto& m : kModes) {
    if (m.name == name) return m.mode;
  }
  return std::nullopt;
}

std::string_view clientModeName(ClientMode mode) {
  for (const auto& m : kModes) {
    if (m.mode == mode) return m.name;
  }
  return "test";
}

std::optional<Role> parseRole(std::string_view name) {
  if (name == "operator") return Role::kOperator;
  if (name == "node") return Role::kNode;
  if (name == "worker") return Role::kWorker;
  return std::nullopt;
}

std::string_view roleName(Role role) {
  switch (role) {
    case Role::kOperator:
      return "operator";
    case Role::kNode:
      return "node";
    case Role::kWorker:
      return "worker";
  }
  return "operator";
}

}  // namespace talon::protocol
