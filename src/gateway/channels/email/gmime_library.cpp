#include "gateway/channels/email/gmime_library.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include "base/shared_library.h"

namespace talon::gateway::channels {
Result<GMimeApi> loadGMimeSymbols(const GMimeLibraries& libraries) {
  SharedLibrary gmime(libraries.gmime.soname, libraries.gmime.debianPackage);
  if (!gmime.opened()) return fail(ErrorCode::kUnavailable, gmime.problem());
  SharedLibrary gobject(libraries.gobject.soname, libraries.gobject.debianPackage);
  SharedLibrary glib(libraries.glib.soname, libraries.glib.debianPackage);
  GMimeApi api{};
  gmime.resolve(api.init, "g_mime_init");
  gmime.resolve(api.referencesParse, "g_mime_references_parse");
  gmime.resolve(api.referencesLength, "g_mime_references_length");
  gmime.resolve(api.referencesGetMessageId, "g_mime_references_get_message_id");
  gmime.resolve(api.referencesFree, "g_mime_references_free");
  gmime.resolve(api.objectGetContentType, "g_mime_object_get_content_type");
  gmime.resolve(api.objectGetHeader, "g_mime_object_get_header");
  gmime.resolve(api.objectSetHeader, "g_mime_object_set_header");
  gmime.resolve(api.objectToString, "g_mime_object_to_string");
  gmime.resolve(api.contentTypeGetMimeType, "g_mime_content_type_get_mime_type");
  gmime.resolve(api.partGetContent, "g_mime_part_get_content");
  gmime.resolve(api.partGetFilename, "g_mime_part_get_filename");
  gmime.resolve(api.partIsAttachment, "g_mime_part_is_attachment");
  gmime.resolve(api.textPartNewWithSubtype, "g_mime_text_part_new_with_subtype");
  gmime.resolve(api.textPartGetText, "g_mime_text_part_get_text");
  gmime.resolve(api.textPartSetText, "g_mime_text_part_set_text");
  gmime.resolve(api.multipartGetCount, "g_mime_multipart_get_count");
  gmime.resolve(api.multipartGetPart, "g_mime_multipart_get_part");
  gmime.resolve(api.messagePartGetMessage, "g_mime_message_part_get_message");
  gmime.resolve(api.messageNew, "g_mime_message_new");
  gmime.resolve(api.messageGetSubject, "g_mime_message_get_subject");
  gmime.resolve(api.messageSetSubject, "g_mime_message_set_subject");
  gmime.resolve(api.messageGetMessageId, "g_mime_message_get_message_id");
  gmime.resolve(api.messageSetMessageId, "g_mime_message_set_message_id");
  gmime.resolve(api.messageGetFrom, "g_mime_message_get_from");
  gmime.resolve(api.messageAddMailbox, "g_mime_message_add_mailbox");
  gmime.resolve(api.messageSetDate, "g_mime_message_set_date");
  gmime.resolve(api.messageGetMimePart, "g_mime_message_get_mime_part");
  gmime.resolve(api.messageSetMimePart, "g_mime_message_set_mime_part");
  gmime.resolve(api.streamMemNewWithBuffer, "g_mime_stream_mem_new_with_buffer");
  gmime.resolve(api.streamNullNew, "g_mime_stream_null_new");
  gmime.resolve(api.dataWrapperWriteToStream, "g_mime_data_wrapper_write_to_stream");
  gmime.resolve(api.parserNewWithStream, "g_mime_parser_new_with_stream");
  gmime.resolve(api.parserConstructMessage, "g_mime_parser_construct_message");
  gmime.resolve(api.formatOptionsNew, "g_mime_format_options_new");
  gmime.resolve(api.formatOptionsSetNewlineFormat, "g_mime_format_options_set_newline_format");
  gmime.resolve(api.formatOptionsFree, "g_mime_format_options_free");
  gmime.resolve(api.addressListLength, "internet_address_list_length");
  gmime.resolve(api.addressListGetAddress, "internet_address_list_get_address");
  gmime.resolve(api.addressGetName, "internet_address_get_name");
  gmime.resolve(api.mailboxGetAddr, "internet_address_mailbox_get_addr");
  gmime.resolve(api.partGetType, "g_mime_part_get_type");
  gmime.resolve(api.textPartGetType, "g_mime_text_part_get_type");
  gmime.resolve(api.multipartGetType, "g_mime_multipart_get_type");
  gmime.resolve(api.messagePartGetType, "g_mime_message_part_get_type");
  gmime.resolve(api.mailboxGetType, "internet_address_mailbox_get_type");
  gobject.resolve(api.objectUnref, "g_object_unref");
  gobject.resolve(api.typeCheckInstanceIsA, "g_type_check_instance_is_a");
  glib.resolve(api.free, "g_free");
  glib.resolve(api.dateTimeNewFromUnixUtc, "g_date_time_new_from_unix_utc");
  glib.resolve(api.dateTimeUnref, "g_date_time_unref");
  for (const SharedLibrary* source : {&gmime, &gobject, &glib}) {
    if (std::string problem = source->problem(); !problem.empty()) {
      gmime.close();
      gobject.close();
      glib.close();
      return fail(ErrorCode::kUnavailable, std::move(problem));
    }
  }
  return api;
}

Result<const GMimeApi*> gmimeApi() {
  static std::atomic<const GMimeApi*> ready{nullptr};
  static std::mutex loadMu;
  static std::optional<GMimeApi> loaded;  // guarded by loadMu; set once
  if (const GMimeApi* api = ready.load(std::memory_order_acquire)) return api;
  std::lock_guard lock(loadMu);
  if (!loaded) {
    auto api = loadGMimeSymbols(GMimeLibraries{});
    if (!api) return fail(api.error());
    api->init();
    loaded = *api;
    ready.store(&*loaded, std::memory_order_release);
  }
  return &*loaded;
}

}  // namespace talon::gateway::channels
