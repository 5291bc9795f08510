#include "net/http_router.h"

#include <gtest/gtest.h>

#include <optional>

namespace talon::net {
namespace {

/// An exchange that records the answer (the router never streams).
class RecordingExchange final : public HttpExchange {
 public:
  RecordingExchange(std::string method, std::string path) {
    request_.method = std::move(method);
    request_.path = std::move(path);
    request_.target = request_.path;
  }
  const HttpRequest& request() const override { return request_; }
  void respond(HttpResponse response) override { response_ = std::move(response); }
  ResponseStreamPtr startStream(int, std::string, Headers) override { return nullptr; }
  std::optional<HttpResponse> response_;

 private:
  HttpRequest request_;
};

std::optional<HttpResponse> run(const HttpRouter& router, std::string method, std::string path) {
  auto ex = std::make_shared<RecordingExchange>(std::move(method), std::move(path));
  router.dispatch(ex);
  return ex->response_;
}

RouteHandler answer(int status) {
  return [status](const HttpExchangePtr& ex) { ex->respond(jsonResponse(status, "{}")); };
}

TEST(HttpRouter, ExactBeatsPrefixAndLongerPrefixWins) {
  HttpRouter r;
  ASSERT_TRUE(r.add({{"GET"}, "/v1/", PathMatch::kPrefix, answer(201)}));
  ASSERT_TRUE(r.add({{"GET"}, "/v1/models/", PathMatch::kPrefix, answer(202)}));
  ASSERT_TRUE(r.add({{"GET"}, "/v1/models", PathMatch::kExact, answer(203)}));
  EXPECT_EQ(run(r, "GET", "/v1/models")->status, 203);
  EXPECT_EQ(run(r, "GET", "/v1/models/x")->status, 202);
  EXPECT_EQ(run(r, "GET", "/v1/other")->status, 201);
  EXPECT_EQ(run(r, "HEAD", "/v1/models")->status, 203);  // HEAD goes to GET routes
}

TEST(HttpRouter, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  HttpRouter r;
  ASSERT_TRUE(r.add({{"POST"}, "/v1/chat/completions", PathMatch::kExact, answer(200)}));
  auto notFound = run(r, "GET", "/nope");
  ASSERT_TRUE(notFound);
  EXPECT_EQ(notFound->status, 404);
  EXPECT_EQ(notFound->body, R"({"error":{"message":"Not Found","type":"not_found"}})");
  auto wrong = run(r, "GET", "/v1/chat/completions");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  bool allow = false;
  for (const auto& [k, v] : wrong->headers) allow = allow || (k == "Allow" && v == "POST");
  EXPECT_TRUE(allow);
}

TEST(HttpRouter, RefusesDuplicatesAndBadRoutes) {
  HttpRouter r;
  ASSERT_TRUE(r.add({{"GET"}, "/a", PathMatch::kExact, answer(200)}));
  EXPECT_EQ(r.add({{"GET", "POST"}, "/a", PathMatch::kExact, answer(200)}).error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(r.add({{"POST"}, "/a", PathMatch::kExact, answer(200)}));
  EXPECT_EQ(r.add({{}, "/a", PathMatch::kExact, answer(200)}).error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(r.add({{"GET"}, "/a", PathMatch::kPrefix, answer(200)}));  // another match kind
  EXPECT_EQ(r.add({{"GET"}, "a", PathMatch::kExact, answer(200)}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.add({{"GET"}, "/b", PathMatch::kExact, nullptr}).error().code, ErrorCode::kInvalidArgument);
}

TEST(HttpRouter, ErrorResponseUsesTheOneMapping) {
  auto resp = errorResponse(Error(ErrorCode::kUnavailable, "internal detail", "try later"));
  EXPECT_EQ(resp.status, 503);
  EXPECT_EQ(resp.body, R"({"error":{"message":"try later","type":"unavailable"}})");
  EXPECT_EQ(resp.body.find("internal detail"), std::string::npos);
}

}  // namespace
}  // namespace talon::net
