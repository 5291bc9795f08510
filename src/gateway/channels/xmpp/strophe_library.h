#pragma once
// libstrophe (STYLE.md's choice for XMPP), loaded when first used rather than linked: libstrophe brings
// libexpat, which nothing else in Talon loads, and the two cost every `talon` start their loading and
// relocation (about 210 symbol and 430 relative relocations, 0.25 M instructions of the dynamic loader,
// ~0.3 MiB of resident memory) although only a configured XMPP channel uses them. The headers still come
// from libstrophe-dev at build time; at run time `libstrophe.so.0` (Debian's libstrophe0) is opened with
// dlopen(3) on first use. The same pattern as net/curl_library.h.
#include <strophe.h>

#include "base/error.h"

namespace talon::gateway::channels {

/// The libstrophe entry points the XMPP channel uses, each with libstrophe's own signature and meaning
/// (strophe.h, https://strophe.im/libstrophe/doc/), named without the `xmpp_` prefix. `sockoptCbKeepalive`
/// is the library's own sockopt callback, to pass to connSetSockoptCallback. stropheApi() has called
/// initialize() once: do not call it again.
struct StropheApi {
  decltype(&::xmpp_initialize) initialize;
  decltype(&::xmpp_ctx_new) ctxNew;
  decltype(&::xmpp_ctx_free) ctxFree;
  decltype(&::xmpp_free) free;
  decltype(&::xmpp_run_once) runOnce;
  decltype(&::xmpp_conn_new) connNew;
  decltype(&::xmpp_conn_release) connRelease;
  decltype(&::xmpp_conn_set_flags) connSetFlags;
  decltype(&::xmpp_conn_set_jid) connSetJid;
  decltype(&::xmpp_conn_set_pass) connSetPass;
  decltype(&::xmpp_conn_set_cafile) connSetCafile;
  decltype(&::xmpp_conn_set_sockopt_callback) connSetSockoptCallback;
  decltype(&::xmpp_sockopt_cb_keepalive) sockoptCbKeepalive;
  decltype(&::xmpp_conn_is_secured) connIsSecured;
  decltype(&::xmpp_connect_client) connectClient;
  decltype(&::xmpp_disconnect) disconnect;
  decltype(&::xmpp_handler_add) handlerAdd;
  decltype(&::xmpp_id_handler_add) idHandlerAdd;
  decltype(&::xmpp_send) send;
  decltype(&::xmpp_stanza_new) stanzaNew;
  decltype(&::xmpp_stanza_release) stanzaRelease;
  decltype(&::xmpp_stanza_add_child_ex) stanzaAddChildEx;
  decltype(&::xmpp_stanza_get_attribute) stanzaGetAttribute;
  decltype(&::xmpp_stanza_set_attribute) stanzaSetAttribute;
  decltype(&::xmpp_stanza_get_child_by_name) stanzaGetChildByName;
  decltype(&::xmpp_stanza_get_child_by_name_and_ns) stanzaGetChildByNameAndNs;
  decltype(&::xmpp_stanza_get_children) stanzaGetChildren;
  decltype(&::xmpp_stanza_get_next) stanzaGetNext;
  decltype(&::xmpp_stanza_get_name) stanzaGetName;
  decltype(&::xmpp_stanza_set_name) stanzaSetName;
  decltype(&::xmpp_stanza_get_ns) stanzaGetNs;
  decltype(&::xmpp_stanza_set_ns) stanzaSetNs;
  decltype(&::xmpp_stanza_get_text) stanzaGetText;
  decltype(&::xmpp_stanza_get_id) stanzaGetId;
  decltype(&::xmpp_stanza_get_from) stanzaGetFrom;
  decltype(&::xmpp_stanza_set_to) stanzaSetTo;
  decltype(&::xmpp_stanza_set_type) stanzaSetType;
  decltype(&::xmpp_message_new) messageNew;
  decltype(&::xmpp_message_get_body) messageGetBody;
  decltype(&::xmpp_message_set_body) messageSetBody;
  decltype(&::xmpp_iq_new) iqNew;
  decltype(&::xmpp_presence_new) presenceNew;
};

/// libstrophe, loaded and initialised on the first successful call; later calls return the same table. A
/// failed load is not remembered: the next call tries again (the channel manager retries a start that
/// failed with kUnavailable, so installing the package is enough). Errors: kUnavailable naming the library,
/// its Debian package (libstrophe0) and dlerror()'s reason when it cannot be loaded or lacks a symbol.
/// Thread-safe; a call that loads may block for a few milliseconds.
Result<const StropheApi*> stropheApi();

/// Loads `soname` with dlopen and resolves StropheApi's symbols in it, without calling initialize; the
/// library stays loaded. What stropheApi() does with "libstrophe.so.0" (exposed for tests). Errors:
/// kUnavailable "cannot load <soname>: <reason>" or "<soname> has no symbol <name>", each followed by
/// " (Debian package libstrophe0)". Thread-safe.
Result<StropheApi> loadStropheSymbols(const char* soname);

}  // namespace talon::gateway::channels
