#include "security/device_identity.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <vector>

#include "base/hash.h"

namespace talon::security {
namespace {

// A vector made by OpenClaw 2026.9.6's own code (dist/device-auth-*.mjs buildDeviceAuthPayloadV3,
// dist/ed25519-signature-*.mjs signEd25519Payload, dist/device-identity-*.mjs deriveDeviceIdFromPublicKey)
// from the Ed25519 seed of 32 bytes 0x07, with platform " Linux " and deviceFamily "Desktop".
constexpr std::string_view kOcPublicKey = "6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw";
constexpr std::string_view kOcDeviceId = "fe812c12f3ab4ce6ac5db69ac352f906cb1b11ef43fb33e252ef7ff552263889";
constexpr std::string_view kOcPayload =
    "v3|fe812c12f3ab4ce6ac5db69ac352f906cb1b11ef43fb33e252ef7ff552263889|cli|cli|operator|operator.read,operator."
    "pairing|1700000000000|tok|nonce-1|linux|desktop";
constexpr std::string_view kOcSignature =
    "48qS_g9iCL2LYOkFMUOTXaf64P1PSa436R0_0SuKuYgDMXsTTD7JeZl8qBeOugacSRg6BxKhybdyOrn7aYaXCg";
constexpr int64_t kOcSignedAt = 1'700'000'000'000;

protocol::ConnectParams ocConnect() {
  protocol::ConnectParams p;
  p.minProtocol = p.maxProtocol = 4;
  p.client.id = "cli";
  p.client.mode = protocol::ClientMode::kCli;
  p.client.platform = " Linux ";
  p.client.deviceFamily = "Desktop";
  p.role = "operator";
  p.scopes = {"operator.read", "operator.pairing"};
  p.auth.token = "tok";
  p.device = protocol::ConnectDevice{std::string(kOcDeviceId), std::string(kOcPublicKey), std::string(kOcSignature),
                                     kOcSignedAt, "nonce-1"};
  return p;
}

/// A key pair made by libsodium, signing connects the way an OpenClaw client does.
struct TestDevice {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  TestDevice() {
    EXPECT_GE(sodium_init(), 0);
    crypto_sign_keypair(pk, sk);
  }
  std::string publicKey() const { return base64UrlEncode({reinterpret_cast<const char*>(pk), sizeof pk}); }
  std::string id() const { return sha256Hex({reinterpret_cast<const char*>(pk), sizeof pk}); }
  std::string sign(std::string_view payload) const {
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), sk);
    return base64UrlEncode({reinterpret_cast<const char*>(sig), sizeof sig});
  }
  /// A connect signed with payload v3 (or v2) over `nonce` at `signedAt`.
  protocol::ConnectParams connect(std::string_view nonce, int64_t signedAt, bool v2 = false) const {
    protocol::ConnectParams p;
    p.client.id = "gateway-client";
    p.client.mode = protocol::ClientMode::kBackend;
    p.client.platform = "darwin";
    p.role = "operator";
    p.scopes = {"operator.read"};
    p.auth.deviceToken = "dt";
    const std::string deviceId = id();
    DeviceAuthFields f{deviceId, "gateway-client", "backend", "operator", p.scopes, signedAt, "dt",
                       nonce,    "darwin",         ""};
    p.device =
        protocol::ConnectDevice{id(), publicKey(), sign(v2 ? buildDeviceAuthPayloadV2(f) : buildDeviceAuthPayloadV3(f)),
                                signedAt, std::string(nonce)};
    return p;
  }
};

TEST(DeviceIdentity, OpenClawVectorVerifies) {
  EXPECT_EQ(deriveDeviceId(kOcPublicKey), std::string(kOcDeviceId));
  auto p = ocConnect();
  std::vector<std::string> scopes = p.scopes;
  DeviceAuthFields f{kOcDeviceId, "cli", "cli",     "operator", scopes,
                     kOcSignedAt, "tok", "nonce-1", " Linux ",  "Desktop"};
  EXPECT_EQ(buildDeviceAuthPayloadV3(f), kOcPayload);
  EXPECT_TRUE(verifyDeviceSignature(kOcPublicKey, kOcPayload, kOcSignature));
  auto verified = verifyDeviceProof(p, "nonce-1", kOcSignedAt + 1000);
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->deviceId, kOcDeviceId);
  EXPECT_EQ(verified->publicKey, kOcPublicKey);
  EXPECT_EQ(verified->payloadVersion, "v3");
}

TEST(DeviceIdentity, AnyChangedFieldBreaksTheOpenClawSignature) {
  auto p = ocConnect();
  p.scopes.push_back("operator.admin");  // a scope the device did not sign for
  EXPECT_EQ(verifyDeviceProof(p, "nonce-1", kOcSignedAt).error(), DeviceProofFailure::kSignature);
  p = ocConnect();
  p.auth.token = "other";
  EXPECT_EQ(verifyDeviceProof(p, "nonce-1", kOcSignedAt).error(), DeviceProofFailure::kSignature);
  p = ocConnect();
  p.role = "node";
  EXPECT_EQ(verifyDeviceProof(p, "nonce-1", kOcSignedAt).error(), DeviceProofFailure::kSignature);
  p = ocConnect();
  p.client.platform = "LINUX";  // normalized to the same "linux": still valid
  EXPECT_TRUE(verifyDeviceProof(p, "nonce-1", kOcSignedAt));
}

TEST(DeviceIdentity, LibsodiumKeysV3AndV2) {
  TestDevice d;
  const int64_t now = 1'800'000'000'000;
  auto v3 = verifyDeviceProof(d.connect("n1", now), "n1", now);
  ASSERT_TRUE(v3);
  EXPECT_EQ(v3->payloadVersion, "v3");
  EXPECT_EQ(v3->deviceId, d.id());
  auto v2 = verifyDeviceProof(d.connect("n1", now, true), "n1", now);
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->payloadVersion, "v2");
}

TEST(DeviceIdentity, RefusalsInOpenClawOrder) {
  TestDevice d;
  TestDevice other;
  const int64_t now = 1'800'000'000'000;
  auto p = d.connect("n1", now);
  p.device->id = other.id();
  EXPECT_EQ(verifyDeviceProof(p, "n1", now).error(), DeviceProofFailure::kDeviceIdMismatch);
  p = d.connect("n1", now);
  p.device->publicKey = "AAAA";  // 3 bytes: no Ed25519 key
  EXPECT_EQ(verifyDeviceProof(p, "n1", now).error(), DeviceProofFailure::kDeviceIdMismatch);

  EXPECT_TRUE(verifyDeviceProof(d.connect("n1", now - kDeviceSignatureSkewMs), "n1", now));
  EXPECT_EQ(verifyDeviceProof(d.connect("n1", now - kDeviceSignatureSkewMs - 1), "n1", now).error(),
            DeviceProofFailure::kSignatureStale);
  EXPECT_EQ(verifyDeviceProof(d.connect("n1", now + kDeviceSignatureSkewMs + 1), "n1", now).error(),
            DeviceProofFailure::kSignatureStale);
  EXPECT_EQ(verifyDeviceProof(d.connect("  ", now), "n1", now).error(), DeviceProofFailure::kNonceMissing);
  EXPECT_EQ(verifyDeviceProof(d.connect("n2", now), "n1", now).error(), DeviceProofFailure::kNonceMismatch);

  p = d.connect("n1", now);
  p.device->signature = other.sign(buildDeviceAuthPayloadV3(
      {d.id(), "gateway-client", "backend", "operator", p.scopes, now, "dt", "n1", "darwin", ""}));
  EXPECT_EQ(verifyDeviceProof(p, "n1", now).error(), DeviceProofFailure::kSignature);
  p.device->signature = "not base64 !";
  EXPECT_EQ(verifyDeviceProof(p, "n1", now).error(), DeviceProofFailure::kSignature);
}

TEST(DeviceIdentity, ErrorsCarryOpenClawDetailCodes) {
  Error e = deviceProofError(DeviceProofFailure::kSignatureStale);
  EXPECT_EQ(protocolErrorCode(e.code), "INVALID_REQUEST");
  EXPECT_EQ(e.publicMessage(), "device signature expired");
  EXPECT_EQ(e.details.at("code"), "DEVICE_AUTH_SIGNATURE_EXPIRED");
  EXPECT_EQ(e.details.at("reason"), "device-signature-stale");
  EXPECT_EQ(deviceProofError(DeviceProofFailure::kDeviceIdMismatch).publicMessage(), "device identity mismatch");
  EXPECT_EQ(deviceProofError(DeviceProofFailure::kSignature).details.at("code"), "DEVICE_AUTH_SIGNATURE_INVALID");
}

TEST(DeviceIdentity, Base64UrlRoundTripAndAlphabets) {
  const std::string bytes("\xfb\xff\x00\x10", 4);
  EXPECT_EQ(base64UrlEncode(bytes), "-_8AEA");
  EXPECT_EQ(base64UrlDecode("-_8AEA"), bytes);
  EXPECT_EQ(base64UrlDecode("+/8AEA=="), bytes);  // standard alphabet with padding
  EXPECT_FALSE(base64UrlDecode("*"));
  EXPECT_EQ(normalizeDeviceMetadata("  MacOS 14 "), "macos 14");
}

}  // namespace
}  // namespace talon::security
