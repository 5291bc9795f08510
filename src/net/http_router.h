#pragma once
// The HTTP route seam (ARCHITECTURE.md "Seams"): the module that owns a route registers it (probes, the
// OpenAI-compatible API; later metrics, webhooks, the web UI); the server hands every plain HTTP request
// to dispatch(). No Beast here.
//
// Thread rules: add routes before the server starts, then share the router; dispatch() is const and
// safe from any number of threads. Handlers run on an I/O thread and must not block.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/server.h"

namespace talon::net {

/// How a route matches the request path (without the query).
enum class PathMatch {
  kExact,   // the path equals `path`
  kPrefix,  // the path starts with `path` (e.g. "/v1/models/")
};

using RouteHandler = std::function<void(const HttpExchangePtr&)>;

/// One route.
struct Route {
  /// Methods answered ("GET", "POST", ...). HEAD is answered by a GET route as well. Empty: any method.
  std::vector<std::string> methods;
  std::string path;
  PathMatch match = PathMatch::kExact;
  RouteHandler handler;
};

class HttpRouter {
 public:
  /// Adds a route. Errors: kInvalidArgument for a path not starting with '/' or no handler;
  /// kAlreadyExists when a route with the same path and match kind shares a method with it.
  Status add(Route route);
  /// Answers `exchange` with the first matching route, preferring exact over prefix matches and longer
  /// prefixes over shorter ones. A path that no route has answers `notFound`; a path whose routes do not
  /// take the method answers 405 with an `Allow` header. Both bodies are {"error":{"message","type"}}.
  void dispatch(const HttpExchangePtr& exchange) const;

 private:
  const Route* match(std::string_view path, std::string_view method, std::vector<std::string>* allowed) const;
  std::vector<Route> routes_;
};

/// A JSON response with `Cache-Control: no-store`.
HttpResponse jsonResponse(int status, std::string body);
/// The JSON error body Talon's own routes use: {"error":{"message", "type"}}, `type` the error code's
/// stable name; the status is httpStatus(error.code) (base/error.h: the one mapping). With
/// error.retryAfterMs > 0, a `Retry-After` header in whole seconds (rounded up).
HttpResponse errorResponse(const Error& error);

}  // namespace talon::net
