#pragma once
// Render, continued: the files that deploy a gateway whose provider is `compose` or `kubernetes`, beside
// its rendered config (docs/fleet.md "Compose", "Kubernetes").
//   compose     `compose.yaml`: one service per gateway (Compose specification, checked offline with
//               `docker-compose config`): the image, the config bind-mounted read-only, a named volume for
//               the state dir, the port published on the host, a healthcheck on /readyz, a restart policy
//               and, for every variable the config references, an `environment` entry "${VAR}" that
//               docker compose fills from the operator's environment — never a value.
//   kubernetes  `kubernetes.yaml`: a ConfigMap (the rendered config), a Service and a StatefulSet (replicas
//               1, a volume claim template for the state dir, every referenced variable from a Secret
//               through secretKeyRef, livenessProbe /healthz, readinessProbe /readyz, resources).
// The YAML is emitted with yaml-cpp; every string a YAML 1.1 reader would take for something else (a
// boolean, null, a number, a sexagesimal, a timestamp, a merge key, an empty string) is double-quoted
// (needsYamlQuotes()). Keys keep a fixed order, so two renders of one inventory are byte-identical.
// Pure functions over an EffectiveFleet; safe to call from any thread.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "fleet/layering.h"
#include "fleet/render.h"

namespace talon::fleet {

/// The file names beside `openclaw.json` in a gateway's render directory.
inline constexpr std::string_view kComposeFileName = "compose.yaml";
inline constexpr std::string_view kKubernetesFileName = "kubernetes.yaml";
/// Where the container reads its config (mounted read-only) in both providers.
inline constexpr std::string_view kContainerConfigPath = "/etc/openclaw/openclaw.json";
/// The OpenClaw image when the inventory sets no `image` (OpenClaw's own fleet cells use it; the tag is the
/// gateway's `version`, else "latest"). Talon publishes no image: a Talon gateway needs `image`.
inline constexpr std::string_view kOpenClawImage = "ghcr.io/openclaw/openclaw";

/// True when `s` must be quoted so that a YAML 1.1 (or 1.2) reader reads it back as this string: empty;
/// a 1.1 boolean in any case (y, n, yes, no, on, off, true, false); null or "~"; an integer in any 1.1
/// notation (decimal, octal-looking "0755", "0x1f", "0b101", with "_" separators, sexagesimal "22:22");
/// a float ("1e3", "1.5", "2026.9.6" by 1.1's float pattern, ".inf", ".nan", sexagesimal "1:20.5"); a
/// timestamp ("2026-12-03"); the merge key "<<" and the value key "=". Sources: yaml.org/type/bool.html,
/// int.html, float.html, null.html, timestamp.html, merge.html, value.html (YAML 1.1 types).
bool needsYamlQuotes(std::string_view s);

/// `value` as a YAML block document: objects as mappings in their member order, arrays as sequences,
/// strings double-quoted when needsYamlQuotes() (else as yaml-cpp picks: plain, or quoted when plain
/// cannot hold them), multi-line strings as literal blocks when one reads them back exactly (else
/// double-quoted with escapes). Keys follow the same quoting rule.
std::string toYaml(const json::value& value);

/// One gateway's deployment files for its provider.
struct RenderedManifest {
  std::string gatewayId;
  /// "compose" | "kubernetes".
  std::string provider;
  /// kComposeFileName | kKubernetesFileName.
  std::string fileName;
  /// The YAML text (a multi-document stream for kubernetes), ending in a newline.
  std::string text;
};

/// The settings a deployer needs to act on a rendered manifest (also read back by the deployers).
struct ManifestSettings {
  std::string image;
  /// compose: the project name, "talon-<gatewayId>", and the host address its port is published on.
  std::string composeProject;
  std::string composePublishAddress;
  /// kubernetes: namespace, the StatefulSet/Service name (the gateway id) and kubectl's context ("" for
  /// the current one).
  std::string kubernetesNamespace;
  std::string kubernetesName;
  std::string kubernetesContext;
};

/// The container image of inventory().gateways()[gatewayIndex]: its `image`, else for the openclaw runtime
/// kOpenClawImage with the gateway's version (or "latest") as tag. Errors: kConfigInvalid for a Talon
/// gateway without `image` (no public Talon image exists), naming the gateway and the key.
Result<std::string> gatewayImage(const EffectiveFleet& fleet, std::size_t gatewayIndex);

/// The settings of inventory().gateways()[gatewayIndex] (defaults applied). Errors: as gatewayImage();
/// kConfigInvalid when provider is kubernetes and the gateway id is not a DNS-1123 label of at most
/// 52 characters (a StatefulSet's name must leave room for its pods' revision labels), or the namespace
/// is not a DNS-1123 label.
Result<ManifestSettings> manifestSettings(const EffectiveFleet& fleet, std::size_t gatewayIndex);

/// The compose file or Kubernetes manifests of inventory().gateways()[gatewayIndex], whose config render
/// is `render`; nullopt for the other providers. Errors: as manifestSettings().
Result<std::optional<RenderedManifest>> renderManifest(const EffectiveFleet& fleet, std::size_t gatewayIndex,
                                                       const RenderedGateway& render);
/// Every gateway's manifest (renders is renderFleet(fleet)), in gateway id order. Errors: the first
/// gateway's that fails, as renderManifest().
Result<std::vector<RenderedManifest>> renderManifests(const EffectiveFleet& fleet,
                                                      const std::vector<RenderedGateway>& renders);

/// Writes `<outDir>/<gatewayId>/<fileName>` for every manifest (atomically, mode 0600 like the configs).
/// Errors: kIo naming the file.
Status writeManifests(const std::vector<RenderedManifest>& manifests, const std::filesystem::path& outDir);

}  // namespace talon::fleet
