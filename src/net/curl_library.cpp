#include "net/curl_library.h"

#include <dlfcn.h>

#include <string>

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
  void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return fail(ErrorCode::kUnavailable,
                std::string("cannot load ") + soname + ": " + (why != nullptr ? why : "unknown reason"));
  }
  std::string missing;
  auto symbol = [&](const char* name) {
    void* p = dlsym(handle, name);
    if (p == nullptr && missing.empty()) missing = name;
    return p;
  };
  CurlApi api{};
  api.globalInit = reinterpret_cast<CURLcode (*)(long)>(symbol("curl_global_init"));
  api.easyInit = reinterpret_cast<CURL* (*)()>(symbol("curl_easy_init"));
  api.easyCleanup = reinterpret_cast<void (*)(CURL*)>(symbol("curl_easy_cleanup"));
  api.easySetopt = reinterpret_cast<CURLcode (*)(CURL*, CURLoption, ...)>(symbol("curl_easy_setopt"));
  api.easyPerform = reinterpret_cast<CURLcode (*)(CURL*)>(symbol("curl_easy_perform"));
  api.easyGetinfo = reinterpret_cast<CURLcode (*)(CURL*, CURLINFO, ...)>(symbol("curl_easy_getinfo"));
  api.easyStrerror = reinterpret_cast<const char* (*)(CURLcode)>(symbol("curl_easy_strerror"));
  api.slistAppend = reinterpret_cast<curl_slist* (*)(curl_slist*, const char*)>(symbol("curl_slist_append"));
  api.slistFreeAll = reinterpret_cast<void (*)(curl_slist*)>(symbol("curl_slist_free_all"));
  if (!missing.empty()) {
    dlclose(handle);
    return fail(ErrorCode::kUnavailable, std::string(soname) + " has no symbol " + missing);
  }
  return api;  // the handle is never closed: the library stays loaded for the life of the process
}

Result<const CurlApi*> curlApi() {
  static const Result<CurlApi> loaded = [] {
    auto api = load();
    if (!api) return Result<CurlApi>(fail(ErrorCode::kUnavailable, api.error().message + " (Debian package libcurl4)"));
    return api;
  }();
  if (!loaded) return fail(loaded.error());
  return &*loaded;
}

}  // namespace talon::net
