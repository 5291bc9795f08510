#include "net/http_router.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace talon::net {
namespace {

bool takesMethod(const Route& r, std::string_view method) {
  if (r.methods.empty()) return true;
  for (const auto& m : r.methods) {
    if (m == method || (method == "HEAD" && m == "GET")) return true;
  }
  return false;
}

bool pathMatches(const Route& r, std::string_view path) {
  return r.match == PathMatch::kExact ? path == r.path : path.starts_with(r.path);
}

}  // namespace

Status HttpRouter::add(Route route) {
  if (route.path.empty() || route.path[0] != '/' || !route.handler) {
    return fail(ErrorCode::kInvalidArgument, "a route needs a path starting with '/' and a handler");
  }
  for (const auto& r : routes_) {
    if (r.path != route.path || r.match != route.match) continue;
    bool overlap = r.methods.empty() || route.methods.empty();
    for (const auto& m : route.methods) overlap = overlap || takesMethod(r, m);
    if (overlap) return fail(ErrorCode::kAlreadyExists, "route " + route.path + " is registered twice");
  }
  routes_.push_back(std::move(route));
  return {};
}

const Route* HttpRouter::match(std::string_view path, std::string_view method,
                               std::vector<std::string>* allowed) const {
  const Route* best = nullptr;
  bool pathKnown = false;
  for (const auto& r : routes_) {
    if (!pathMatches(r, path)) continue;
    pathKnown = true;
    if (!takesMethod(r, method)) {
      for (const auto& m : r.methods) allowed->push_back(m);
      continue;
    }
    bool better = best == nullptr || (best->match == PathMatch::kPrefix && r.match == PathMatch::kExact) ||
                  (best->match == r.match && r.path.size() > best->path.size());
    if (better) best = &r;
  }
  if (!pathKnown) allowed->clear();
  return best;
}

void HttpRouter::dispatch(const HttpExchangePtr& exchange) const {
  const auto& req = exchange->request();
  std::vector<std::string> allowed;
  if (const Route* r = match(req.path, req.method, &allowed)) return r->handler(exchange);
  if (allowed.empty()) {
    return exchange->respond(errorResponse(Error(ErrorCode::kNotFound, "no route for " + req.path, "Not Found")));
  }
  auto response = errorResponse(Error(ErrorCode::kInvalidArgument, "method not allowed", "Method Not Allowed"));
  response.status = 405;  // RFC 9110 §15.5.6; no ErrorCode stands for "wrong method on a known path"
  std::string allow;
  for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  response.headers.emplace_back("Allow", allow);
  exchange->respond(std::move(response));
}

HttpResponse jsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse errorResponse(const Error& error) {
  boost::json::object body{
      {"error", boost::json::object{{"message", error.publicMessage()}, {"type", errorCodeName(error.code)}}}};
  auto response = jsonResponse(httpStatus(error.code), boost::json::serialize(body));
  if (error.retryAfterMs > 0)
    response.headers.emplace_back("Retry-After", std::to_string((error.retryAfterMs + 999) / 1000));
  return response;
}

}  // namespace talon::net
