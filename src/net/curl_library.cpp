#include "net/curl_library.h"

#include <string>
#include <utility>

#include "base/shared_library.h"

namespace talon::net {
namespace {

constexpr const char* kLibrary = "libcurl.so.4";  // libcurl's SONAME since 7.16 (Debian: libcurl4)

Result<CurlApi> load() {
  auto api = loadCurlSymbols(kLibrary);
  if (!api) return api;
  if (CURLcode rc = api->globalInit(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
    return fail(ErrorCode::kUnavailable, std::string("curl_global_init failed: ") + api->easyStrerror(rc));
  }
  return api;
}

}  // namespace

Result<CurlApi> loadCurlSymbols(const char* soname) {
  SharedLibrary library(soname, "libcurl4");
  if (!library.opened()) return fail(ErrorCode::kUnavailable, library.problem());
  auto symbol = [&](const char* name) {
    void* p = nullptr;
    library.resolve(p, name);
    return p;
  };
  CurlApi api{};
  api.globalInit = reinterpret_cast<CURLcode (*)(long)>(symbol("curl_global_init"));
  api.easyInit = reinterpret_cast<CURL* (*)()>(symbol("curl_easy_init"));
  api.easyCleanup = reinterpret_cast<void (*)(CURL*)>(symbol("curl_easy_cleanup"));
  api.easySetopt = reinterpret_cast<CURLcode (*)(CURL*, CURLoption, ...)>(symbol("curl_easy_setopt"));
  api.easyPerform = reinterpret_cast<CURLcode (*)(CURL*)>(symbol("curl_easy_perform"));
  api.easyGetinfo = reinterpret_cast<CURLcode (*)(CURL*, CURLINFO, ...)>(symbol("curl_easy_getinfo"));
  api.easySend = reinterpret_cast<CURLcode (*)(CURL*, const void*, size_t, size_t*)>(symbol("curl_easy_send"));
  api.easyRecv = reinterpret_cast<CURLcode (*)(CURL*, void*, size_t, size_t*)>(symbol("curl_easy_recv"));
  api.easyStrerror = reinterpret_cast<const char* (*)(CURLcode)>(symbol("curl_easy_strerror"));
  api.slistAppend = reinterpret_cast<curl_slist* (*)(curl_slist*, const char*)>(symbol("curl_slist_append"));
  api.slistFreeAll = reinterpret_cast<void (*)(curl_slist*)>(symbol("curl_slist_free_all"));
  if (std::string problem = library.problem(); !problem.empty()) {
    library.close();
    return fail(ErrorCode::kUnavailable, std::move(problem));
  }
  return api;  // the library is never closed: it stays loaded for the life of the process
}

Result<const CurlApi*> curlApi() {
  static const Result<CurlApi> loaded = load();
  if (!loaded) return fail(loaded.error());
  return &*loaded;
}

}  // namespace talon::net
