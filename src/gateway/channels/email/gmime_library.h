#pragma once
// GMime 3 (STYLE.md's choice for MIME), loaded when first used rather than linked: GMime pulls in GLib,
// GObject, GIO and through them libmount, libblkid, libselinux, pcre2, libffi …, whose loading and
// relocation cost every `talon` start several milliseconds and megabytes of resident memory although
// only a configured email channel uses them. The headers still come from libgmime-3.0-dev at build time
// (only the files of the email channel that include this header get their compile flags); at run time
// `libgmime-3.0.so.0` is opened with dlopen(3) on first use, with `libgobject-2.0.so.0` and
// `libglib-2.0.so.0` (which it depends on) for the GObject and GLib functions. The same pattern as
// net/curl_library.h.
//
// GMime's and GObject's type-check and cast macros (GMIME_IS_PART, GMIME_OBJECT, …) call
// g_type_check_instance_is_a and the *_get_type functions by name: code that uses this table writes
// gmimeAs<T>() and gmimeObjectOf() instead, so that the binary never references a GMime, GObject or GLib
// symbol.
#include <gmime/gmime.h>

#include <type_traits>

#include "base/error.h"

namespace talon::gateway::channels {

/// The GMime, GObject and GLib entry points the email channel uses, each with its library's own
/// signature and meaning (https://developer.gnome.org/gmime/stable/ and GLib's reference manual).
/// gmimeApi() has called g_mime_init once: do not call it again.
struct GMimeApi {
  // GMime (libgmime-3.0.so.0)
  decltype(&::g_mime_init) init;
  decltype(&::g_mime_references_parse) referencesParse;
  decltype(&::g_mime_references_length) referencesLength;
  decltype(&::g_mime_references_get_message_id) referencesGetMessageId;
  decltype(&::g_mime_references_free) referencesFree;
  decltype(&::g_mime_object_get_content_type) objectGetContentType;
  decltype(&::g_mime_object_get_header) objectGetHeader;
  decltype(&::g_mime_object_set_header) objectSetHeader;
  decltype(&::g_mime_object_to_string) objectToString;
  decltype(&::g_mime_content_type_get_mime_type) contentTypeGetMimeType;
  decltype(&::g_mime_part_get_content) partGetContent;
  decltype(&::g_mime_part_get_filename) partGetFilename;
  decltype(&::g_mime_part_is_attachment) partIsAttachment;
  decltype(&::g_mime_text_part_new_with_subtype) textPartNewWithSubtype;
  decltype(&::g_mime_text_part_get_text) textPartGetText;
  decltype(&::g_mime_text_part_set_text) textPartSetText;
  decltype(&::g_mime_multipart_get_count) multipartGetCount;
  decltype(&::g_mime_multipart_get_part) multipartGetPart;
  decltype(&::g_mime_message_part_get_message) messagePartGetMessage;
  decltype(&::g_mime_message_new) messageNew;
  decltype(&::g_mime_message_get_subject) messageGetSubject;
  decltype(&::g_mime_message_set_subject) messageSetSubject;
  decltype(&::g_mime_message_get_message_id) messageGetMessageId;
  decltype(&::g_mime_message_set_message_id) messageSetMessageId;
  decltype(&::g_mime_message_get_from) messageGetFrom;
  decltype(&::g_mime_message_add_mailbox) messageAddMailbox;
  decltype(&::g_mime_message_set_date) messageSetDate;
  decltype(&::g_mime_message_get_mime_part) messageGetMimePart;
  decltype(&::g_mime_message_set_mime_part) messageSetMimePart;
  decltype(&::g_mime_stream_mem_new_with_buffer) streamMemNewWithBuffer;
  decltype(&::g_mime_stream_null_new) streamNullNew;
  decltype(&::g_mime_data_wrapper_write_to_stream) dataWrapperWriteToStream;
  decltype(&::g_mime_parser_new_with_stream) parserNewWithStream;
  decltype(&::g_mime_parser_construct_message) parserConstructMessage;
  decltype(&::g_mime_format_options_new) formatOptionsNew;
  decltype(&::g_mime_format_options_set_newline_format) formatOptionsSetNewlineFormat;
  decltype(&::g_mime_format_options_free) formatOptionsFree;
  decltype(&::internet_address_list_length) addressListLength;
  decltype(&::internet_address_list_get_address) addressListGetAddress;
  decltype(&::internet_address_get_name) addressGetName;
  decltype(&::internet_address_mailbox_get_addr) mailboxGetAddr;
  // GMime's GTypes (what GMIME_TYPE_PART and the other GMIME_TYPE_* macros call)
  decltype(&::g_mime_part_get_type) partGetType;
  decltype(&::g_mime_text_part_get_type) textPartGetType;
  decltype(&::g_mime_multipart_get_type) multipartGetType;
  decltype(&::g_mime_message_part_get_type) messagePartGetType;
  decltype(&::internet_address_mailbox_get_type) mailboxGetType;
  // GObject (libgobject-2.0.so.0)
  decltype(&::g_object_unref) objectUnref;
  decltype(&::g_type_check_instance_is_a) typeCheckInstanceIsA;
  // GLib (libglib-2.0.so.0)
  decltype(&::g_free) free;
  decltype(&::g_date_time_new_from_unix_utc) dateTimeNewFromUnixUtc;
  decltype(&::g_date_time_unref) dateTimeUnref;
};

/// GMime, loaded and initialised on the first successful call; later calls return the same table. A
/// failed load is not remembered: the next call tries again (the channel manager retries a start that
/// failed with kUnavailable, so installing the package is enough). Errors: kUnavailable naming the
/// library, its Debian package and dlerror()'s reason when a library cannot be loaded or lacks a symbol.
/// Thread-safe; a call that loads may block for a few milliseconds (loading GMime and GLib).
Result<const GMimeApi*> gmimeApi();

/// One shared library to open: its SONAME and the Debian package that ships it (named in errors).
struct GMimeLibrary {
  const char* soname;
  const char* debianPackage;
};

/// The three libraries GMimeApi's symbols come from.
struct GMimeLibraries {
  GMimeLibrary gmime{"libgmime-3.0.so.0", "libgmime-3.0-0"};  // GMime 3's SONAME (Debian: libgmime-3.0-0)
  GMimeLibrary gobject{"libgobject-2.0.so.0", "libglib2.0-0"};
  GMimeLibrary glib{"libglib-2.0.so.0", "libglib2.0-0"};
};

/// Loads `libraries` with dlopen and resolves GMimeApi's symbols in each, without calling init; the
/// libraries stay loaded. What gmimeApi() does with the default GMimeLibraries (exposed for tests).
/// Errors: kUnavailable "cannot load <soname>: <reason> (Debian package <package>)" or "<soname> has no
/// symbol <name> (Debian package <package>)". Thread-safe.
Result<GMimeApi> loadGMimeSymbols(const GMimeLibraries& libraries);

/// Whether `instance` (a GTypeInstance: any GObject, or null) is a `type` or derives from it: GObject's
/// G_TYPE_CHECK_INSTANCE_TYPE, through the table. Null is no instance of anything.
inline bool gmimeIsA(const GMimeApi& api, const void* instance, GType type) {
  if (instance == nullptr) return false;
  auto* typed = static_cast<GTypeInstance*>(const_cast<void*>(instance));
  if (typed->g_class != nullptr && typed->g_class->g_type == type) return true;  // GLib's own fast path
  return api.typeCheckInstanceIsA(typed, type) != FALSE;
}

/// The GMimeApi member that returns the GType of T (for gmimeAs<T>).
template <typename T>
struct GMimeTypeOf;
template <>
struct GMimeTypeOf<GMimePart> {
  static constexpr auto getType = &GMimeApi::partGetType;
};
template <>
struct GMimeTypeOf<GMimeTextPart> {
  static constexpr auto getType = &GMimeApi::textPartGetType;
};
template <>
struct GMimeTypeOf<GMimeMultipart> {
  static constexpr auto getType = &GMimeApi::multipartGetType;
};
template <>
struct GMimeTypeOf<GMimeMessagePart> {
  static constexpr auto getType = &GMimeApi::messagePartGetType;
};
template <>
struct GMimeTypeOf<InternetAddressMailbox> {
  static constexpr auto getType = &GMimeApi::mailboxGetType;
};

/// `instance` as a T when it is one (or derives from one), else null: GMIME_IS_PART + GMIME_PART (and
/// the like for the types GMimeTypeOf lists) in one checked step.
template <typename T>
T* gmimeAs(const GMimeApi& api, void* instance) {
  return gmimeIsA(api, instance, (api.*GMimeTypeOf<T>::getType)()) ? static_cast<T*>(instance) : nullptr;
}

/// `object` as its GMimeObject base (GMIME_OBJECT for an upcast, checked at compile time): follows the
/// `parent_object` members GObject-style types start with, so a T that does not derive from GMimeObject
/// does not compile.
template <typename T>
GMimeObject* gmimeObjectOf(T* object) {
  if constexpr (std::is_same_v<T, GMimeObject>) {
    return object;
  } else {
    return object == nullptr ? nullptr : gmimeObjectOf(&object->parent_object);
  }
}

}  // namespace talon::gateway::channels
