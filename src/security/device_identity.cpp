#include "security/device_identity.h"

#include <sodium.h>

#include <cstdlib>

#include "base/hash.h"
#include "protocol/client_info.h"

namespace talon::security {
namespace {

void ensureSodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) std::abort();  // libsodium cannot work without its RNG; nothing else can run
    return true;
  }();
  (void)ready;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string joinScopes(std::span<const std::string> scopes) {
  std::string out;
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    if (i) out += ',';
    out += scopes[i];
  }
  return out;
}

std::string payloadPrefix(std::string_view version, const DeviceAuthFields& f) {
  std::string out(version);
  for (std::string_view part : {f.deviceId, f.clientId, f.clientMode, f.role}) {
    out += '|';
    out += part;
  }
  out += '|';
  out += joinScopes(f.scopes);
  out += '|';
  out += std::to_string(f.signedAtMs);
  out += '|';
  out += f.token;
  out += '|';
  out += f.nonce;
  return out;
}

}  // namespace

std::string base64UrlEncode(std::string_view bytes) {
  ensureSodium();
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    variant);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view text) {
  ensureSodium();
  std::string normalized;
  normalized.reserve(text.size());
  for (char c : text) {
    if (c == '+') {
      normalized += '-';
    } else if (c == '/') {
      normalized += '_';
    } else {
      normalized += c;
    }
  }
  while (!normalized.empty() && normalized.back() == '=') normalized.pop_back();
  std::string out(normalized.size() * 3 / 4 + 3, '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), normalized.data(), normalized.size(),
                        nullptr, &length, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != normalized.data() + normalized.size()) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

std::string normalizeDeviceMetadata(std::string_view value) {
  while (!value.empty() && isSpace(value.front())) value.remove_prefix(1);
  while (!value.empty() && isSpace(value.back())) value.remove_suffix(1);
  std::string out(value);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

std::string buildDeviceAuthPayloadV3(const DeviceAuthFields& fields) {
  std::string out = payloadPrefix("v3", fields);
  out += '|';
  out += normalizeDeviceMetadata(fields.platform);
  out += '|';
  out += normalizeDeviceMetadata(fields.deviceFamily);
  return out;
}

std::string buildDeviceAuthPayloadV2(const DeviceAuthFields& fields) { return payloadPrefix("v2", fields); }

std::optional<std::string> deriveDeviceId(std::string_view publicKey) {
  auto raw = base64UrlDecode(publicKey);
  if (!raw || raw->size() != crypto_sign_PUBLICKEYBYTES) return std::nullopt;
  return sha256Hex(*raw);
}

bool verifyDeviceSignature(std::string_view publicKey, std::string_view payload, std::string_view signature) {
  ensureSodium();
  auto key = base64UrlDecode(publicKey);
  auto sig = base64UrlDecode(signature);
  if (!key || key->size() != crypto_sign_PUBLICKEYBYTES || !sig || sig->size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                     reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
                                     reinterpret_cast<const unsigned char*>(key->data())) == 0;
}

std::string_view deviceProofReason(DeviceProofFailure failure) {
  switch (failure) {
    case DeviceProofFailure::kDeviceIdMismatch:
      return "device-id-mismatch";
    case DeviceProofFailure::kSignatureStale:
      return "device-signature-stale";
    case DeviceProofFailure::kNonceMissing:
      return "device-nonce-missing";
    case DeviceProofFailure::kNonceMismatch:
      return "device-nonce-mismatch";
    case DeviceProofFailure::kSignature:
      return "device-signature";
  }
  return "device-signature";
}

Error deviceProofError(DeviceProofFailure failure) {
  std::string_view message;
  std::string_view code;
  switch (failure) {
    case DeviceProofFailure::kDeviceIdMismatch:
      message = "device identity mismatch";
      code = "DEVICE_AUTH_DEVICE_ID_MISMATCH";
      break;
    case DeviceProofFailure::kSignatureStale:
      message = "device signature expired";
      code = "DEVICE_AUTH_SIGNATURE_EXPIRED";
      break;
    case DeviceProofFailure::kNonceMissing:
      message = "device nonce required";
      code = "DEVICE_AUTH_NONCE_REQUIRED";
      break;
    case DeviceProofFailure::kNonceMismatch:
      message = "device nonce mismatch";
      code = "DEVICE_AUTH_NONCE_MISMATCH";
      break;
    case DeviceProofFailure::kSignature:
      message = "device signature invalid";
      code = "DEVICE_AUTH_SIGNATURE_INVALID";
      break;
  }
  Error e(ErrorCode::kUnauthenticated, std::string(message), std::string(message));
  e.details = {{"code", code}, {"reason", deviceProofReason(failure)}};
  return e;
}

Expected<VerifiedDevice, DeviceProofFailure> verifyDeviceProof(const protocol::ConnectParams& params,
                                                               std::string_view challengeNonce, int64_t nowMs) {
  const protocol::ConnectDevice& device = *params.device;
  auto derived = deriveDeviceId(device.publicKey);
  if (!derived || *derived != device.id) return Unexpected(DeviceProofFailure::kDeviceIdMismatch);
  const int64_t skew = nowMs > device.signedAt ? nowMs - device.signedAt : device.signedAt - nowMs;
  if (skew > kDeviceSignatureSkewMs) return Unexpected(DeviceProofFailure::kSignatureStale);
  std::string_view nonce = device.nonce;
  while (!nonce.empty() && isSpace(nonce.front())) nonce.remove_prefix(1);
  while (!nonce.empty() && isSpace(nonce.back())) nonce.remove_suffix(1);
  if (nonce.empty()) return Unexpected(DeviceProofFailure::kNonceMissing);
  if (nonce != challengeNonce) return Unexpected(DeviceProofFailure::kNonceMismatch);

  const auto& auth = params.auth;
  std::string_view token = auth.token            ? std::string_view(*auth.token)
                           : auth.deviceToken    ? std::string_view(*auth.deviceToken)
                           : auth.bootstrapToken ? std::string_view(*auth.bootstrapToken)
                                                 : std::string_view();
  DeviceAuthFields fields;
  fields.deviceId = device.id;
  fields.clientId = params.client.id;
  fields.clientMode = protocol::clientModeName(params.client.mode);
  fields.role = params.role;
  fields.scopes = params.scopes;
  fields.signedAtMs = device.signedAt;
  fields.token = token;
  fields.nonce = nonce;
  fields.platform = params.client.platform;
  fields.deviceFamily = params.client.deviceFamily ? std::string_view(*params.client.deviceFamily) : "";
  VerifiedDevice verified;
  verified.deviceId = device.id;
  verified.publicKey = base64UrlEncode(*base64UrlDecode(device.publicKey));
  if (verifyDeviceSignature(device.publicKey, buildDeviceAuthPayloadV3(fields), device.signature)) {
    verified.payloadVersion = "v3";
  } else if (verifyDeviceSignature(device.publicKey, buildDeviceAuthPayloadV2(fields), device.signature)) {
    verified.payloadVersion = "v2";
  } else {
    return Unexpected(DeviceProofFailure::kSignature);
  }
  return verified;
}

}  // namespace talon::security
