#include "gateway/channels/mqtt/mosquitto_library.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/shared_library.h"

namespace talon::gateway::channels {

Result<MosquittoApi> loadMosquittoSymbols(const char* soname) {
  SharedLibrary library(soname, "libmosquitto1");
  if (!library.opened()) return fail(ErrorCode::kUnavailable, library.problem());
  auto resolve = [&](auto& into, const char* name) { library.resolve(into, name); };
  MosquittoApi api{};
  resolve(api.libInit, "mosquitto_lib_init");
  resolve(api.strerror, "mosquitto_strerror");
  resolve(api.reasonString, "mosquitto_reason_string");
  resolve(api.create, "mosquitto_new");
  resolve(api.destroy, "mosquitto_destroy");
  resolve(api.intOption, "mosquitto_int_option");
  resolve(api.threadedSet, "mosquitto_threaded_set");
  resolve(api.usernamePwSet, "mosquitto_username_pw_set");
  resolve(api.tlsSet, "mosquitto_tls_set");
  resolve(api.connectV5CallbackSet, "mosquitto_connect_v5_callback_set");
  resolve(api.subscribeV5CallbackSet, "mosquitto_subscribe_v5_callback_set");
  resolve(api.messageV5CallbackSet, "mosquitto_message_v5_callback_set");
  resolve(api.publishV5CallbackSet, "mosquitto_publish_v5_callback_set");
  resolve(api.disconnectV5CallbackSet, "mosquitto_disconnect_v5_callback_set");
  resolve(api.connectBindV5, "mosquitto_connect_bind_v5");
  resolve(api.disconnectV5, "mosquitto_disconnect_v5");
  resolve(api.loop, "mosquitto_loop");
  resolve(api.subscribeV5, "mosquitto_subscribe_v5");
  resolve(api.publishV5, "mosquitto_publish_v5");
  if (std::string problem = library.problem(); !problem.empty()) {
    library.close();
    return fail(ErrorCode::kUnavailable, std::move(problem));
  }
  return api;  // the library is never closed: it stays loaded for the life of the process
}

Result<const MosquittoApi*> mosquittoApi() {
  static std::atomic<const MosquittoApi*> ready{nullptr};
  static std::mutex loadMu;
  static std::optional<MosquittoApi> loaded;  // guarded by loadMu; set once
  if (const MosquittoApi* api = ready.load(std::memory_order_acquire)) return api;
  std::lock_guard lock(loadMu);
  if (!loaded) {
    auto api = loadMosquittoSymbols("libmosquitto.so.1");  // libmosquitto's SONAME (Debian: libmosquitto1)
    if (!api) return fail(api.error());
    api->libInit();
    loaded = *api;
    ready.store(&*loaded, std::memory_order_release);
  }
  return &*loaded;
}

}  // namespace talon::gateway::channels
