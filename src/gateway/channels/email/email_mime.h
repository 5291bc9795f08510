#pragma once
// Mail in and out of the email channel (docs/channels.md "Email"): the MIME side, over GMime 3 (STYLE.md's
// choice for MIME). parseEmail reads one RFC 5322 message as the IMAP server returns it — headers decoded
// (RFC 2047), the text body in UTF-8 (text/plain preferred; a text/html-only mail reduced to text by
// htmlToText), attachments listed by name, type and decoded size. buildEmail renders a reply with
// In-Reply-To and References (RFC 5322 §3.6.4) so the peer's client threads it. GMime stays inside
// email_mime.cpp (loaded on first use through gmime_library.h, not linked); this header has no GMime types.
//
// Thread rules: every function is thread-safe; those that use GMime load and initialise it on their first
// call (which may block for a few milliseconds) and fail with kUnavailable when it cannot be loaded.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace talon::gateway::channels {

/// One attachment of a mail (a part with a filename or `Content-Disposition: attachment`, or an attached
/// message/rfc822).
struct EmailAttachment {
  std::string filename;       // as the mail names it (decoded); empty when it names none
  std::string contentType;    // "type/subtype", lower case
  std::size_t sizeBytes = 0;  // the decoded size, in bytes
};

/// What one mail says.
struct ParsedEmail {
  std::string messageId;                // Message-ID without angle brackets; empty when absent
  std::string inReplyTo;                // the first message id of In-Reply-To; empty when absent
  std::vector<std::string> references;  // References, oldest first, without angle brackets
  std::string fromAddress;              // the first From mailbox's address, lower case
  std::string fromName;                 // its display name (decoded); may be empty
  std::string subject;                  // decoded; may be empty
  std::string text;                     // the body as UTF-8 text (plain, or reduced from HTML)
  bool textFromHtml = false;            // the text was reduced from a text/html part
  std::vector<EmailAttachment> attachments;
  /// The mail was sent by an automaton (RFC 3834 Auto-Submitted other than "no", or a
  /// `Precedence: bulk|list|junk`): the channel does not answer it, so two robots never loop.
  bool autoSubmitted = false;
};

/// Parses `raw` (an RFC 5322 message, CRLF or LF line ends). Errors: kInvalidArgument when GMime cannot
/// read a message from it, or it has no From mailbox; kUnavailable when GMime cannot be loaded (the
/// message names the library, its Debian package and the reason).
Result<ParsedEmail> parseEmail(std::string_view raw);

/// HTML reduced to plain text: `<script>`, `<style>` and `<head>` dropped, block elements (p, div, br,
/// li, tr, h1–h6, blockquote, pre, table) end lines, list items get "- ", links keep their target as
/// "text (url)" when it differs from the text, character references (named basics and numeric) decoded,
/// runs of blanks collapsed and at most one empty line kept. Pure.
std::string htmlToText(std::string_view html);

/// The conversation a mail belongs to: its thread root — the first References id, else In-Reply-To,
/// else its own Message-ID (a new thread). Empty when the mail has none of them.
std::string emailThreadRoot(const ParsedEmail& mail);

/// A thread root as the InboundMessage::threadId that ends the session key (`…:thread:<id>`): the
/// Message-ID's characters other than letters, digits and `.@_+-=$%!#&*/?^{}|~` (':' above all, which
/// separates session key parts) become '_'. Pure.
std::string emailThreadId(std::string_view root);

/// What the agent reads: the text, then one line per attachment ("[attachment: name (type, N bytes)]").
std::string emailAgentText(const ParsedEmail& mail);

/// A reply to render.
struct OutgoingEmail {
  std::string from;                     // the sender's address (bare)
  std::string fromName;                 // its display name; may be empty
  std::string to;                       // the recipient's address (bare)
  std::string subject;                  // UTF-8; encoded as RFC 2047 words where needed
  std::string text;                     // the UTF-8 body (text/plain)
  std::string messageId;                // without angle brackets
  std::string inReplyTo;                // without angle brackets; empty for a first mail
  std::vector<std::string> references;  // without angle brackets, oldest first
  int64_t dateMs = 0;                   // the Date header, ms since epoch
};

/// The RFC 5322 text of `mail` with CRLF line ends: From, To, Subject, Date, Message-ID, In-Reply-To and
/// References (when set), `Auto-Submitted: auto-replied` (RFC 3834: the agent answers automatically),
/// MIME-Version and one text/plain; charset=utf-8 part (GMime picks the transfer encoding). Errors:
/// kUnavailable when GMime cannot be loaded.
Result<std::string> buildEmail(const OutgoingEmail& mail);

/// Loads GMime now (see gmimeApi in gmime_library.h), so that an email channel fails its start, rather
/// than its first mail, when the library is missing. Errors: kUnavailable naming the library, its Debian
/// package and dlerror()'s reason. May block for a few milliseconds on its first successful call.
Status emailMimeAvailable();

/// "Re: <subject>" unless the subject already starts with "Re:" (any case); "Re:" alone for none.
std::string replySubject(std::string_view subject);

}  // namespace talon::gateway::channels
