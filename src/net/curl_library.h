#pragma once
// libcurl (STYLE.md's choice for SMTP and IMAP), loaded when first used rather than linked: libcurl
// pulls in about 27 shared libraries (GnuTLS, Kerberos, LDAP, SASL, libssh2, …) whose loading and
// relocation cost every `talon` start several milliseconds and resident memory, although only an email
// alert target (and later the email channel) ever calls it. The headers still come from
// libcurl4-openssl-dev at build time; at run time `libcurl.so.4` (Debian's libcurl4, which that package
// depends on) is opened with dlopen(3) on first use.
#include <curl/curl.h>

#include "base/error.h"

namespace talon::net {

/// The libcurl entry points Talon uses, each with libcurl's own signature and meaning
/// (https://curl.se/libcurl/c/). curlApi() has called globalInit(CURL_GLOBAL_DEFAULT) once: do not call
/// it again.
struct CurlApi {
  CURLcode (*globalInit)(long);
  CURL* (*easyInit)();
  void (*easyCleanup)(CURL*);
  CURLcode (*easySetopt)(CURL*, CURLoption, ...);
  CURLcode (*easyPerform)(CURL*);
  CURLcode (*easyGetinfo)(CURL*, CURLINFO, ...);
  CURLcode (*easySend)(CURL*, const void*, size_t, size_t*);
  CURLcode (*easyRecv)(CURL*, void*, size_t, size_t*);
  const char* (*easyStrerror)(CURLcode);
  curl_slist* (*slistAppend)(curl_slist*, const char*);
  void (*slistFreeAll)(curl_slist*);
};

/// libcurl, loaded and initialised on the first call; later calls return the same table (or the same
/// error). Errors: kUnavailable naming the library and dlerror()'s reason when libcurl.so.4 cannot be
/// loaded, lacks a symbol, or curl_global_init fails. Thread-safe; the first call may block briefly
/// (loading the library) — call it off the I/O threads.
Result<const CurlApi*> curlApi();

/// Loads `soname` with dlopen and resolves CurlApi's symbols in it, without calling globalInit; the
/// library stays loaded. What curlApi() does once with "libcurl.so.4" (exposed for tests). Errors:
/// kUnavailable naming the library and the reason. Thread-safe.
Result<CurlApi> loadCurlSymbols(const char* soname);

}  // namespace talon::net
