#pragma once
// Client identity vocabulary of the connect handshake: client ids, client modes and roles.
// Source: reference/openclaw-protocol.md §1 "Handshake" step 2, and OpenClaw 2026.9.6
// dist/client-info-*.mjs (GATEWAY_CLIENT_IDS, GATEWAY_CLIENT_MODES), dist/role-policy-*.mjs.
#include <optional>
#include <span>
#include <string_view>

namespace talon::protocol {

/// `connect.params.client.mode` (closed enum).
enum class ClientMode { kWebchat, kCli, kUi, kBackend, kNode, kWorker, kProbe, kTest };

/// `connect.params.role`. OpenClaw's default when absent is operator.
enum class Role { kOperator, kNode, kWorker };

/// The client ids OpenClaw accepts in `client.id`, in its declaration order (closed enum; exact match).
std::span<const std::string_view> knownClientIds();
/// True when `id` is one of knownClientIds().
bool isKnownClientId(std::string_view id);

/// Parses a client mode by its wire name ("cli", "backend", ...); nullopt when unknown (exact match).
std::optional<ClientMode> parseClientMode(std::string_view name);
/// The wire name of a client mode.
std::string_view clientModeName(ClientMode mode);

/// Parses a role ("operator", "node", "worker"); nullopt for anything else.
std::optional<Role> parseRole(std::string_view name);
/// The wire name of a role.
std::string_view roleName(Role role);

}  // namespace talon::protocol
