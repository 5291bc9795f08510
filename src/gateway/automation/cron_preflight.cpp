#include "gateway/automation/cron_preflight.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cctype>

#include "base/ip_cidr.h"
#include "base/text.h"

namespace talon::gateway::automation {

namespace {

std::string preflightLowerAscii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// The host of an absolute http(s) URL, lower-cased, without brackets; empty when it has none.
std::string preflightUrlHost(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    return close == std::string_view::npos ? std::string() : preflightLowerAscii(rest.substr(1, close - 1));
  }
  return preflightLowerAscii(rest.substr(0, rest.find(':')));
}

/// The configured baseUrl, trimmed, without trailing slashes (OpenClaw normalizeBaseUrl).
std::string normalizedBaseUrl(std::string_view baseUrl) {
  std::string out = trimWhitespace(baseUrl);
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

std::string timeoutText() {
  return fmt::format("Local provider preflight exceeded its configured {}ms deadline", kCronPreflightTimeout.count());
}

}  // namespace

bool isLocalProviderBaseUrl(std::string_view baseUrl) {
  const std::string host = preflightUrlHost(trimWhitespace(baseUrl));
  if (host.empty()) return false;
  if (host == "localhost" || host == "0.0.0.0" || host.ends_with(".local")) return true;
  auto address = IpAddress::parse(host);
  if (!address) return false;
  if (address->isLoopback()) return true;
  if (!address->v4) return false;
  for (const char* range : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}) {
    if (IpCidr::parse(range)->contains(*address)) return true;
  }
  return false;
}

CronPreflight::CronPreflight(net::HttpClientPtr client, ClockPtr clock, std::vector<config::ProviderConfig> providers,
                             std::map<std::string, std::vector<std::string>> chains)
    : client_(std::move(client)), clock_(std::move(clock)), chains_(std::move(chains)) {
  for (auto& p : providers) {
    std::string id = p.id;
    providers_.emplace(std::move(id), std::move(p));
  }
}

std::optional<std::pair<std::string, std::string>> CronPreflight::endpointOf(const std::string& ref) const {
  auto slash = ref.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto it = providers_.find(ref.substr(0, slash));
  if (it == providers_.end()) return std::nullopt;
  const std::string api = preflightLowerAscii(it->second.api);
  if (api != "ollama" && api != "openai-completions") return std::nullopt;
  std::string baseUrl = normalizedBaseUrl(it->second.baseUrl);
  if (baseUrl.empty() || !isLocalProviderBaseUrl(baseUrl)) return std::nullopt;
  return std::pair{api, std::move(baseUrl)};
}

void CronPreflight::check(const std::string& agentId, std::function<void(CronPreflightResult)> done) {
  auto it = chains_.find(agentId);
  auto chain = std::make_shared<std::vector<std::string>>();
  if (it != chains_.end()) {
    for (const auto& ref : it->second) {
      if (!ref.empty()) chain->push_back(ref);
    }
  }
  walk(std::move(chain), 0, "", std::move(done));
}

void CronPreflight::walk(std::shared_ptr<std::vector<std::string>> chain, std::size_t index,
                         std::string firstUnavailable, std::function<void(CronPreflightResult)> done) {
  if (index >= chain->size()) {
    CronPreflightResult result;
    result.available = firstUnavailable.empty();  // an empty chain is the runner's to refuse
    result.reason = std::move(firstUnavailable);
    return done(std::move(result));
  }
  const std::string& ref = (*chain)[index];
  auto endpoint = endpointOf(ref);
  if (!endpoint) {
    if (!firstUnavailable.empty()) spdlog::warn("cron: {}; continuing with fallback {}", firstUnavailable, ref);
    return done(CronPreflightResult{true, ref, ""});
  }
  auto [api, baseUrl] = *endpoint;
  probe(api, baseUrl,
        [self = shared_from_this(), chain, index, baseUrl, firstUnavailable = std::move(firstUnavailable),
         done = std::move(done)](std::optional<std::string> error) mutable {
          const std::string& ref = (*chain)[index];
          if (!error) {
            if (!firstUnavailable.empty()) spdlog::warn("cron: {}; continuing with fallback {}", firstUnavailable, ref);
            return done(CronPreflightResult{true, ref, ""});
          }
          if (firstUnavailable.empty()) {
            firstUnavailable = fmt::format(
                "This automation uses {} but the local provider preflight failed at {}. The candidate is unavailable "
                "for this run; Talon will retry its provider preflight on a later scheduled run. Last error: {}",
                ref, baseUrl, *error);
          }
          self->walk(std::move(chain), index + 1, std::move(firstUnavailable), std::move(done));
        });
}

void CronPreflight::probe(const std::string& api, const std::string& baseUrl,
                          std::function<void(std::optional<std::string>)> done) {
  const std::string key = api + std::string(1, '\0') + baseUrl;
  const int64_t now = clock_->nowMs();
  std::optional<Cached> cached;
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end() &&
        now - it->second.checkedAtMs < std::chrono::milliseconds(kCronPreflightCacheTtl).count()) {
      cached = it->second;
    }
  }
  if (cached) return done(std::move(cached->error));  // without the lock: `done` may probe the next endpoint
  net::ClientRequest request;
  request.url = baseUrl + (api == "ollama" ? "/api/tags" : "/models");
  request.headers = {{"User-Agent", "talon"}};
  request.totalTimeout = kCronPreflightTimeout;
  request.idleTimeout = kCronPreflightTimeout;
  request.connectTimeout = kCronPreflightTimeout;
  net::ClientHandlers h;
  h.onHeaders = [](int, const net::Headers&) {};
  h.onBody = [](std::string_view) {};
  h.onComplete = [self = shared_from_this(), key, now, done = std::move(done)](Status st) {
    std::optional<std::string> error;
    if (!st) {
      error = st.error().code == ErrorCode::kDeadlineExceeded ? timeoutText() + " | " + st.error().message
                                                              : st.error().message;
    }
    {
      std::lock_guard lock(self->mutex_);
      self->cache_[key] = Cached{now, error};
    }
    done(std::move(error));
  };
  client_->start(std::move(request), std::move(h));
}

}  // namespace talon::gateway::automation
