#pragma once
// libmosquitto (STYLE.md's choice for MQTT), loaded when first used rather than linked: only a configured
// MQTT channel uses it, yet a linked libmosquitto costs every `talon` start its loading, its ~190 lazy
// and symbol relocations and the page faults of mapping it. The headers still come from libmosquitto-dev
// at build time; at run time `libmosquitto.so.1` (Debian's libmosquitto1) is opened with dlopen(3) on
// first use. The same pattern as strophe_library.h and net/curl_library.h.
#include <mosquitto.h>

#include "base/error.h"

namespace talon::gateway::channels {

/// The libmosquitto entry points the MQTT channel uses, each with libmosquitto's own signature and meaning
/// (mosquitto.h, https://mosquitto.org/api/files/mosquitto-h.html), named without the `mosquitto_`
/// prefix. mosquittoApi() has called libInit() once: do not call it again.
struct MosquittoApi {
  decltype(&::mosquitto_lib_init) libInit;
  decltype(&::mosquitto_strerror) strerror;
  decltype(&::mosquitto_reason_string) reasonString;
  decltype(&::mosquitto_new) create;
  decltype(&::mosquitto_destroy) destroy;
  decltype(&::mosquitto_int_option) intOption;
  decltype(&::mosquitto_threaded_set) threadedSet;
  decltype(&::mosquitto_username_pw_set) usernamePwSet;
  decltype(&::mosquitto_tls_set) tlsSet;
  decltype(&::mosquitto_connect_v5_callback_set) connectV5CallbackSet;
  decltype(&::mosquitto_subscribe_v5_callback_set) subscribeV5CallbackSet;
  decltype(&::mosquitto_message_v5_callback_set) messageV5CallbackSet;
  decltype(&::mosquitto_publish_v5_callback_set) publishV5CallbackSet;
  decltype(&::mosquitto_disconnect_v5_callback_set) disconnectV5CallbackSet;
  decltype(&::mosquitto_connect_bind_v5) connectBindV5;
  decltype(&::mosquitto_disconnect_v5) disconnectV5;
  decltype(&::mosquitto_loop) loop;
  decltype(&::mosquitto_subscribe_v5) subscribeV5;
  decltype(&::mosquitto_publish_v5) publishV5;
};

/// libmosquitto, loaded and initialised (libInit) on the first successful call; later calls return the same
/// table. A failed load is not remembered: the next call tries again (installing the package is enough).
/// Errors: kUnavailable naming the library, its Debian package (libmosquitto1) and dlerror()'s reason when
/// it cannot be loaded or lacks a symbol. Thread-safe; a call that loads may block for a few milliseconds.
Result<const MosquittoApi*> mosquittoApi();

/// Loads `soname` with dlopen and resolves MosquittoApi's symbols in it, without calling libInit; the
/// library stays loaded. What mosquittoApi() does with "libmosquitto.so.1" (exposed for tests). Errors:
/// kUnavailable "cannot load <soname>: <reason>" or "<soname> has no symbol <name>", each followed by
/// " (Debian package libmosquitto1)". Thread-safe.
Result<MosquittoApi> loadMosquittoSymbols(const char* soname);

}  // namespace talon::gateway::channels
