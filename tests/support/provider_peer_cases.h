#pragma once
// The failure cases every provider API must turn into a clear run error (never a hang, never the key
// in a message), run against a ScriptedPeer that speaks the API's wire format (header-only).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "support/provider_call.h"
#include "support/scripted_peer.h"

namespace talon::testing {

/// The API key the cases configure; vendors echo (parts of) keys in 401 bodies, so the 401 case puts
/// it in the body and checks that no message carries it.
inline constexpr std::string_view kPeerTestKey = "sk-peer-secret-0123456789";

struct PeerErrorCase {
  std::string name;
  PeerReply reply;
  ErrorCode code;
  long long retryAfterMs = 0;
  std::string inMessage;  // a substring of the internal message
};

/// How an API writes an HTTP error body: (status, vendor error type, message) -> body.
using ErrorBodyFn = std::function<std::string(int status, std::string_view type, std::string_view message)>;

/// 401 (the body echoes the key), 403, 429 with Retry-After, 500, 529 overloaded, a stalled stream
/// (`streamStart` then silence: the test sets a 1 s idle timeout), a connection cut inside the body,
/// and a connection closed without an answer.
inline std::vector<PeerErrorCase> commonPeerErrorCases(const ErrorBodyFn& errorBody, const std::string& streamStart,
                                                       const std::string& streamContentType) {
  std::vector<PeerErrorCase> cases;
  cases.push_back(
      {"401",
       PeerReply::whole(401, errorBody(401, "authentication_error", "invalid x-api-key " + std::string(kPeerTestKey))),
       ErrorCode::kUnauthenticated, 0, "HTTP 401: invalid x-api-key ***"});
  cases.push_back({"403", PeerReply::whole(403, errorBody(403, "permission_error", "no access to this model")),
                   ErrorCode::kUnauthenticated, 0, "no access to this model"});
  cases.push_back({"429",
                   PeerReply::whole(429, errorBody(429, "rate_limit_error", "rate limited"), "application/json",
                                    {{"retry-after", "7"}}),
                   ErrorCode::kResourceExhausted, 7000, "rate limited"});
  cases.push_back({"500", PeerReply::whole(500, errorBody(500, "api_error", "internal failure")),
                   ErrorCode::kUnavailable, 0, "HTTP 500: internal failure"});
  cases.push_back({"529", PeerReply::whole(529, errorBody(529, "overloaded_error", "Overloaded")),
                   ErrorCode::kUnavailable, 0, "HTTP 529: Overloaded"});
  PeerReply stalled;
  stalled.contentType = streamContentType;
  stalled.pieces = {streamStart};
  stalled.end = PeerReply::End::kHang;
  cases.push_back({"stalled", stalled, ErrorCode::kDeadlineExceeded, 0, ""});
  PeerReply cut = stalled;
  cut.end = PeerReply::End::kCut;
  cases.push_back({"cut", cut, ErrorCode::kUnavailable, 0, "in the middle of the response"});
  PeerReply closed;
  closed.end = PeerReply::End::kCloseWithoutAnswer;
  cases.push_back({"closed", closed, ErrorCode::kUnavailable, 0, "closed before a response"});
  return cases;
}

/// Runs each case against its own peer; `make(origin)` builds the provider (with kPeerTestKey and a
/// 1 s idle timeout). Each case must fail with its code, retry delay and message, and the key must not
/// appear in either message.
inline void expectPeerErrors(const std::function<gateway::ModelProviderPtr(const std::string& origin)>& make,
                             const gateway::ModelRequest& request, const std::vector<PeerErrorCase>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ScriptedPeer peer({c.reply});
    auto provider = make(peer.origin());
    ASSERT_TRUE(provider);
    auto out = runProviderCall(*provider, request);
    ASSERT_FALSE(out.result) << "expected an error";
    const Error& e = out.result.error();
    EXPECT_EQ(e.code, c.code) << e.toString();
    EXPECT_EQ(e.retryAfterMs, c.retryAfterMs) << e.toString();
    EXPECT_NE(e.message.find(c.inMessage), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find(kPeerTestKey), std::string::npos) << e.message;
    EXPECT_EQ(e.publicMessage().find(kPeerTestKey), std::string::npos);
    EXPECT_FALSE(e.publicMessage().empty());
  }
}

}  // namespace talon::testing
