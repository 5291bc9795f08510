#include "gateway/channels/xmpp/strophe_library.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/shared_library.h"

namespace talon::gateway::channels {

Result<StropheApi> loadStropheSymbols(const char* soname) {
  SharedLibrary library(soname, "libstrophe0");
  if (!library.opened()) return fail(ErrorCode::kUnavailable, library.problem());
  auto resolve = [&](auto& into, const char* name) { library.resolve(into, name); };
  StropheApi api{};
  resolve(api.initialize, "xmpp_initialize");
  resolve(api.ctxNew, "xmpp_ctx_new");
  resolve(api.ctxFree, "xmpp_ctx_free");
  resolve(api.free, "xmpp_free");
  resolve(api.runOnce, "xmpp_run_once");
  resolve(api.connNew, "xmpp_conn_new");
  resolve(api.connRelease, "xmpp_conn_release");
  resolve(api.connSetFlags, "xmpp_conn_set_flags");
  resolve(api.connSetJid, "xmpp_conn_set_jid");
  resolve(api.connSetPass, "xmpp_conn_set_pass");
  resolve(api.connSetCafile, "xmpp_conn_set_cafile");
  resolve(api.connSetSockoptCallback, "xmpp_conn_set_sockopt_callback");
  resolve(api.sockoptCbKeepalive, "xmpp_sockopt_cb_keepalive");
  resolve(api.connIsSecured, "xmpp_conn_is_secured");
  resolve(api.connectClient, "xmpp_connect_client");
  resolve(api.disconnect, "xmpp_disconnect");
  resolve(api.handlerAdd, "xmpp_handler_add");
  resolve(api.idHandlerAdd, "xmpp_id_handler_add");
  resolve(api.send, "xmpp_send");
  resolve(api.stanzaNew, "xmpp_stanza_new");
  resolve(api.stanzaRelease, "xmpp_stanza_release");
  resolve(api.stanzaAddChildEx, "xmpp_stanza_add_child_ex");
  resolve(api.stanzaGetAttribute, "xmpp_stanza_get_attribute");
  resolve(api.stanzaSetAttribute, "xmpp_stanza_set_attribute");
  resolve(api.stanzaGetChildByName, "xmpp_stanza_get_child_by_name");
  resolve(api.stanzaGetChildByNameAndNs, "xmpp_stanza_get_child_by_name_and_ns");
  resolve(api.stanzaGetChildren, "xmpp_stanza_get_children");
  resolve(api.stanzaGetNext, "xmpp_stanza_get_next");
  resolve(api.stanzaGetName, "xmpp_stanza_get_name");
  resolve(api.stanzaSetName, "xmpp_stanza_set_name");
  resolve(api.stanzaGetNs, "xmpp_stanza_get_ns");
  resolve(api.stanzaSetNs, "xmpp_stanza_set_ns");
  resolve(api.stanzaGetText, "xmpp_stanza_get_text");
  resolve(api.stanzaGetId, "xmpp_stanza_get_id");
  resolve(api.stanzaGetFrom, "xmpp_stanza_get_from");
  resolve(api.stanzaSetTo, "xmpp_stanza_set_to");
  resolve(api.stanzaSetType, "xmpp_stanza_set_type");
  resolve(api.messageNew, "xmpp_message_new");
  resolve(api.messageGetBody, "xmpp_message_get_body");
  resolve(api.messageSetBody, "xmpp_message_set_body");
  resolve(api.iqNew, "xmpp_iq_new");
  resolve(api.presenceNew, "xmpp_presence_new");
  if (std::string problem = library.problem(); !problem.empty()) {
    library.close();
    return fail(ErrorCode::kUnavailable, std::move(problem));
  }
  return api;  // the library is never closed: it stays loaded for the life of the process
}

Result<const StropheApi*> stropheApi() {
  static std::atomic<const StropheApi*> ready{nullptr};
  static std::mutex loadMu;
  static std::optional<StropheApi> loaded;  // guarded by loadMu; set once
  if (const StropheApi* api = ready.load(std::memory_order_acquire)) return api;
  std::lock_guard lock(loadMu);
  if (!loaded) {
    auto api = loadStropheSymbols("libstrophe.so.0");  // libstrophe's SONAME (Debian: libstrophe0)
    if (!api) return fail(api.error());
    api->initialize();
    loaded = *api;
    ready.store(&*loaded, std::memory_order_release);
  }
  return &*loaded;
}

}  // namespace talon::gateway::channels
