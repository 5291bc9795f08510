#pragma once
// The schema of a fleet inventory (fleet.json5) as data: every key, its type, the values it takes, the
// layers that may set it and how layering merges it. The inventory loader validates against it (an
// unknown key or a wrong type is an error naming file:line and the key path), the layering reads the
// merge rules from it, and docs/fleet.md documents every key path it lists (checked by a test).
// Immutable after first use; safe to read from any thread.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/located_value.h"

namespace talon::fleet {

/// The layers of a fleet, from the broadest to the narrowest. A template is applied where a group,
/// gateway or agent names it, just before that entity's own layer.
enum class LayerKind : std::uint8_t { kOrg, kTemplate, kGroup, kGateway, kAgent };
/// "org" | "template" | "group" | "gateway" | "agent".
std::string_view layerKindName(LayerKind kind);

/// Bit masks of LayerKind values, for FieldSpec::layers.
inline constexpr unsigned layerBit(LayerKind k) { return 1u << static_cast<unsigned>(k); }
inline constexpr unsigned kAllLayers = 0x1f;
/// The layers that may set gateway-wide keys (runtime, bind, auth, …): everything but an agent.
inline constexpr unsigned kGatewayLayers = layerBit(LayerKind::kOrg) | layerBit(LayerKind::kTemplate) |
                                           layerBit(LayerKind::kGroup) | layerBit(LayerKind::kGateway);

enum class FieldType : std::uint8_t {
  kString,
  kInteger,
  /// A JSON number (integer or fraction), >= 0 (amounts such as USD limits and prices).
  kNumber,
  kBoolean,
  /// A secret reference: a "${VAR}" string or an OpenClaw SecretRef object {source, provider, id}.
  /// A literal secret is refused: rendered configs carry references only.
  kSecret,
  kObject,  // fixed fields: `children`
  kMap,     // free keys (ids): children[0] describes every value
  kArray,   // children[0] describes every element
};

/// How layering combines an array that several layers set (objects always deep-merge, scalars always
/// take the narrower layer's value).
enum class ArrayMerge : std::uint8_t {
  kReplace,    // the narrower layer's array replaces the broader one's
  kUnion,      // every layer's elements, first occurrence order (deny lists)
  kIntersect,  // only elements every setting layer lists, in the broadest layer's order (allow lists)
};

/// One key of the schema. Built once (see inventorySchema()); plain data.
struct FieldSpec {
  std::string name;
  FieldType type = FieldType::kString;
  /// kString / array-of-string: the allowed values (empty: any).
  std::vector<std::string> enumValues;
  /// See FieldType.
  std::vector<FieldSpec> children;
  ArrayMerge merge = ArrayMerge::kReplace;
  /// Layered keys: the layers where the key may appear (kAllLayers for keys outside the layers).
  unsigned layers = kAllLayers;
  /// A required key of its object.
  bool required = false;
  /// kInteger: inclusive bounds.
  std::int64_t minInt = INT64_MIN;
  std::int64_t maxInt = INT64_MAX;
  /// Non-zero on the containers of layer entries (`defaults`, `templates`, `groups`, `gateways`,
  /// `agents`): the layer bit their contents are validated for.
  unsigned layerScope = 0;
  /// kMap: how docs name a key ("<id>", "<channel>", …).
  std::string keyName = "<id>";
  /// One line for docs and messages.
  std::string doc;
};

/// The schema of the whole inventory file (the root object's fields).
const std::vector<FieldSpec>& inventorySchema();

/// The layered keys (those that may appear at several layers and are merged by layering), as they
/// appear inside `defaults`, a template, a group, a gateway or an agent.
const std::vector<FieldSpec>& layeredSchema();

/// The spec of the layered key at `path` (dot-separated, e.g. "policy.skills.deny"), or nullptr.
const FieldSpec* findLayeredSpec(std::string_view path);

/// Every key path of the schema in docs notation, in schema order; what docs/fleet.md must document.
/// Entries' own keys appear under their container ("gateways.<id>.port", "agents.<id>.bindings[].peer.kind");
/// the layered keys once, as "<layer>.<key>" ("<layer>.policy.skills.deny").
std::vector<std::string> inventoryKeyPaths();

/// Validates `value` (at config path `path`, e.g. "gateways.alpha") against the object fields `fields`
/// for a value of layer `layer` (nullopt outside the layers): unknown keys, wrong types, values outside
/// an enum or range, missing required keys, and layered keys set at a layer that may not set them.
/// Appends one Diagnostic per problem (code kUnknownKey, kType or kValue) naming the file:line.
void validateFields(const config::LocatedValue& value, const std::vector<FieldSpec>& fields, const std::string& path,
                    unsigned layerMask, std::vector<config::Diagnostic>& diagnostics);

/// True when `v` is a secret reference: a string that is exactly one "${VAR}" (VAR matching
/// [A-Z_][A-Z0-9_]*, OpenClaw's env substitution) or an object {source: "env"|"file"|"exec",
/// provider: string, id: string} (OpenClaw docs/gateway/secrets/secretref-contract.md).
bool isSecretReference(const json::value& v);

}  // namespace talon::fleet
