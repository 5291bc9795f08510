#include "gateway/channels/email/email_mime.h"

#include <algorithm>
#include <cctype>
#include <memory>

#include "base/text.h"
#include "gateway/channels/email/gmime_library.h"

namespace talon::gateway::channels {

namespace {

/// A GObject reference, released (g_object_unref through the table) on scope exit.
template <typename T>
struct GMimeRef {
  const GMimeApi& api;
  T* p = nullptr;
  GMimeRef(const GMimeApi& a, T* ptr) : api(a), p(ptr) {}
  ~GMimeRef() {
    if (p != nullptr) api.objectUnref(p);
  }
  GMimeRef(const GMimeRef&) = delete;
  GMimeRef& operator=(const GMimeRef&) = delete;
};

/// A string GLib allocated, copied out and released with g_free; "" for null.
std::string takeGString(const GMimeApi& api, char* s) {
  std::string out = s != nullptr ? s : "";
  api.free(s);
  return out;
}

std::string mimeLower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<std::string> messageIds(const GMimeApi& api, const char* header) {
  std::vector<std::string> out;
  if (header == nullptr) return out;
  GMimeReferences* refs = api.referencesParse(nullptr, header);
  if (refs == nullptr) return out;
  for (int i = 0; i < api.referencesLength(refs); ++i) {
    const char* id = api.referencesGetMessageId(refs, i);
    if (id != nullptr && *id != '\0') out.emplace_back(id);
  }
  api.referencesFree(refs);
  return out;
}

std::string mimeTypeOf(const GMimeApi& api, GMimeObject* object) {
  GMimeContentType* type = api.objectGetContentType(object);
  if (type == nullptr) return "text/plain";
  const std::string t = takeGString(api, api.contentTypeGetMimeType(type));
  return t.empty() ? "application/octet-stream" : mimeLower(t);
}

std::size_t decodedSize(const GMimeApi& api, GMimePart* part) {
  GMimeDataWrapper* content = api.partGetContent(part);
  if (content == nullptr) return 0;
  GMimeRef<GMimeStream> sink(api, api.streamNullNew());
  const ssize_t n = api.dataWrapperWriteToStream(content, sink.p);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

struct MimePartWalk {
  std::string plain;
  std::string html;
  bool havePlain = false;
  bool haveHtml = false;
  std::vector<EmailAttachment> attachments;
};

void walkMimeParts(const GMimeApi& api, GMimeObject* object, MimePartWalk& w) {
  if (object == nullptr) return;
  if (auto* multipart = gmimeAs<GMimeMultipart>(api, object)) {
    for (int i = 0; i < api.multipartGetCount(multipart); ++i)
      walkMimeParts(api, api.multipartGetPart(multipart, i), w);
    return;
  }
  if (auto* messagePart = gmimeAs<GMimeMessagePart>(api, object)) {
    EmailAttachment a;
    a.contentType = mimeTypeOf(api, object);
    if (GMimeMessage* inner = api.messagePartGetMessage(messagePart); inner != nullptr) {
      if (const char* subject = api.messageGetSubject(inner); subject != nullptr) a.filename = subject;
      a.sizeBytes = takeGString(api, api.objectToString(gmimeObjectOf(inner), nullptr)).size();
    }
    w.attachments.push_back(std::move(a));
    return;
  }
  auto* part = gmimeAs<GMimePart>(api, object);
  if (part == nullptr) return;
  const std::string type = mimeTypeOf(api, object);
  const char* filename = api.partGetFilename(part);
  const bool attachment = api.partIsAttachment(part) || (filename != nullptr && *filename != '\0');
  auto* textPart = gmimeAs<GMimeTextPart>(api, object);
  if (!attachment && textPart != nullptr && (type == "text/plain" || type == "text/html")) {
    // A second body part of the same kind (multipart/mixed with several inline texts) is appended.
    const bool isPlain = type == "text/plain";
    std::string& into = isPlain ? w.plain : w.html;
    if (!into.empty()) into += "\n";
    into += takeGString(api, api.textPartGetText(textPart));
    (isPlain ? w.havePlain : w.haveHtml) = true;
    return;
  }
  EmailAttachment a;
  a.filename = filename != nullptr ? filename : "";
  a.contentType = type;
  a.sizeBytes = decodedSize(api, part);
  w.attachments.push_back(std::move(a));
}

/// Body text: line ends normalised to LF, trailing blanks of the whole text trimmed.
std::string normaliseText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      if (i + 1 < s.size() && s[i + 1] == '\n') continue;
      out += '\n';
    } else {
      out += s[i];
    }
  }
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  const auto first = out.find_first_not_of("\n");
  return first == std::string::npos ? std::string() : out.substr(first);
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Decodes character references in `s` (HTML text or an attribute value).
std::string decodeEntities(std::string_view s) {
  static const std::pair<std::string_view, uint32_t> kNamed[] = {
      {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},     {"apos", '\''},    {"nbsp", 0xA0},
      {"ndash", 0x2013}, {"mdash", 0x2014}, {"hellip", 0x2026}, {"rsquo", 0x2019}, {"lsquo", 0x2018}, {"ldquo", 0x201C},
      {"rdquo", 0x201D}, {"copy", 0xA9},    {"reg", 0xAE},      {"euro", 0x20AC},  {"bull", 0x2022},  {"middot", 0xB7}};
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const auto semi = s.find(';', i + 1);
    if (semi == std::string_view::npos || semi - i > 12) {
      out += '&';
      continue;
    }
    const std::string_view name = s.substr(i + 1, semi - i - 1);
    bool decoded = false;
    if (!name.empty() && name[0] == '#') {
      const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
      const std::string digits(name.substr(hex ? 2 : 1));
      if (!digits.empty() &&
          digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") == std::string::npos) {
        appendUtf8(out, static_cast<uint32_t>(std::stoul(digits, nullptr, hex ? 16 : 10) & 0x1FFFFF));
        decoded = true;
      }
    } else {
      for (const auto& [n, cp] : kNamed) {
        if (n == name) {
          appendUtf8(out, cp == 0xA0 ? ' ' : cp);
          decoded = true;
          break;
        }
      }
    }
    if (decoded) {
      i = semi;
    } else {
      out += '&';
    }
  }
  return out;
}

/// The value of attribute `name` in a tag's inside (`a href="x" class=y`); empty when absent.
std::string htmlAttribute(std::string_view tag, std::string_view name) {
  const std::string t = mimeLower(std::string(tag));
  std::size_t pos = 0;
  while ((pos = t.find(name, pos)) != std::string::npos) {
    const bool boundary = pos > 0 && std::isspace(static_cast<unsigned char>(t[pos - 1]));
    std::size_t p = pos + name.size();
    while (p < t.size() && std::isspace(static_cast<unsigned char>(t[p]))) ++p;
    if (!boundary || p >= t.size() || t[p] != '=') {
      pos += name.size();
      continue;
    }
    ++p;
    while (p < t.size() && std::isspace(static_cast<unsigned char>(t[p]))) ++p;
    if (p >= t.size()) return {};
    if (t[p] == '"' || t[p] == '\'') {
      const auto end = tag.find(t[p], p + 1);
      return decodeEntities(tag.substr(p + 1, end == std::string_view::npos ? std::string_view::npos : end - p - 1));
    }
    auto end = p;
    while (end < tag.size() && !std::isspace(static_cast<unsigned char>(tag[end])) && tag[end] != '>') ++end;
    return decodeEntities(tag.substr(p, end - p));
  }
  return {};
}

}  // namespace

std::string htmlToText(std::string_view html) {
  std::string raw;  // text with '\n' for block breaks, blanks not yet collapsed
  std::string linkTarget;
  std::size_t linkStart = 0;
  bool pre = false;
  std::size_t i = 0;
  auto skipUntilClose = [&](std::string_view tagName) {
    const std::string lowerHtml = mimeLower(std::string(html.substr(i)));
    const auto end = lowerHtml.find("</" + std::string(tagName));
    if (end == std::string::npos) {
      i = html.size();
      return;
    }
    const auto gt = html.find('>', i + end);
    i = gt == std::string_view::npos ? html.size() : gt + 1;
  };
  while (i < html.size()) {
    const char c = html[i];
    if (c != '<') {
      const auto next = html.find('<', i);
      std::string text =
          decodeEntities(html.substr(i, next == std::string_view::npos ? std::string_view::npos : next - i));
      if (!pre) {
        for (char& ch : text) {
          if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
        }
      } else {
        for (char& ch : text) {
          if (ch == '\n') ch = '\x01';               // a hard line break inside <pre>
          if (ch == ' ' || ch == '\t') ch = '\x03';  // a blank kept inside <pre>
        }
      }
      raw += text;
      i = next == std::string_view::npos ? html.size() : next;
      continue;
    }
    if (html.substr(i, 4) == "<!--") {
      const auto end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    const auto gt = html.find('>', i);
    if (gt == std::string_view::npos) break;
    std::string_view inside = html.substr(i + 1, gt - i - 1);
    i = gt + 1;
    const bool closing = !inside.empty() && inside[0] == '/';
    if (closing) inside.remove_prefix(1);
    std::size_t nameEnd = 0;
    while (nameEnd < inside.size() && std::isalnum(static_cast<unsigned char>(inside[nameEnd]))) ++nameEnd;
    const std::string name = mimeLower(std::string(inside.substr(0, nameEnd)));
    if (!closing && (name == "script" || name == "style" || name == "head" || name == "title")) {
      skipUntilClose(name);
      continue;
    }
    static const char* kBlocks[] = {"p",  "div",        "tr", "table", "h1",      "h2",      "h3",     "h4",     "h5",
                                    "h6", "blockquote", "ul", "ol",    "section", "article", "header", "footer", "hr"};
    if (name == "br") {
      raw += '\x01';
    } else if (name == "li" && !closing) {
      raw += "\x01- ";
    } else if (name == "pre") {
      raw += "\x02";
      pre = !closing;
    } else if (std::any_of(std::begin(kBlocks), std::end(kBlocks), [&](const char* b) { return name == b; })) {
      raw += "\x02";  // a paragraph break
    } else if (name == "td" || name == "th") {
      if (closing) raw += ' ';
    } else if (name == "a") {
      if (!closing) {
        linkTarget = htmlAttribute(inside, "href");
        linkStart = raw.size();
      } else if (!linkTarget.empty()) {
        const std::string shown = trimWhitespace(raw.substr(std::min(linkStart, raw.size())));
        if (shown != linkTarget && "mailto:" + shown != linkTarget && linkTarget.rfind('#', 0) != 0) {
          raw += " (" + linkTarget + ")";
        }
        linkTarget.clear();
      }
    } else if (name == "img" && !closing) {
      if (auto alt = htmlAttribute(inside, "alt"); !alt.empty()) raw += alt;
    }
  }
  // Collapse: blanks within a line to one space; \x01 = a line break, \x02 = a paragraph break.
  std::string out;
  int pendingBreaks = 0;  // 1 = newline, 2 = empty line
  bool pendingSpace = false;
  for (char ch : raw) {
    if (ch == '\x01' || ch == '\x02') {
      if (!out.empty()) pendingBreaks = std::max(pendingBreaks, ch == '\x01' ? 1 : 2);
      pendingSpace = false;
      continue;
    }
    if (ch == ' ') {
      pendingSpace = !out.empty() && pendingBreaks == 0;
      continue;
    }
    if (ch == '\x03') ch = ' ';
    if (pendingBreaks > 0) {
      out += pendingBreaks == 2 ? "\n\n" : "\n";
      pendingBreaks = 0;
    } else if (pendingSpace) {
      out += ' ';
    }
    pendingSpace = false;
    out += ch;
  }
  return out;
}

Result<ParsedEmail> parseEmail(std::string_view raw) {
  auto loaded = gmimeApi();
  if (!loaded) return fail(loaded.error());
  const GMimeApi& api = **loaded;
  GMimeRef<GMimeStream> stream(api, api.streamMemNewWithBuffer(raw.data(), raw.size()));
  GMimeRef<GMimeParser> parser(api, api.parserNewWithStream(stream.p));
  GMimeRef<GMimeMessage> message(api, api.parserConstructMessage(parser.p, nullptr));
  if (message.p == nullptr) return fail(ErrorCode::kInvalidArgument, "not an RFC 5322 message");
  ParsedEmail out;
  GMimeObject* object = gmimeObjectOf(message.p);
  if (const char* id = api.messageGetMessageId(message.p); id != nullptr) out.messageId = id;
  if (auto ids = messageIds(api, api.objectGetHeader(object, "In-Reply-To")); !ids.empty()) out.inReplyTo = ids.front();
  out.references = messageIds(api, api.objectGetHeader(object, "References"));
  InternetAddressList* from = api.messageGetFrom(message.p);
  for (int i = 0; from != nullptr && i < api.addressListLength(from); ++i) {
    InternetAddress* a = api.addressListGetAddress(from, i);
    auto* mailbox = gmimeAs<InternetAddressMailbox>(api, a);
    if (mailbox == nullptr) continue;
    const char* addr = api.mailboxGetAddr(mailbox);
    if (addr == nullptr || *addr == '\0') continue;
    out.fromAddress = mimeLower(addr);
    if (const char* name = api.addressGetName(a); name != nullptr) out.fromName = name;
    break;
  }
  if (out.fromAddress.empty()) return fail(ErrorCode::kInvalidArgument, "the mail has no From address");
  if (const char* subject = api.messageGetSubject(message.p); subject != nullptr) out.subject = trimWhitespace(subject);
  if (const char* auto_ = api.objectGetHeader(object, "Auto-Submitted"); auto_ != nullptr) {
    const std::string v = mimeLower(trimWhitespace(auto_));
    out.autoSubmitted = !v.empty() && v.rfind("no", 0) != 0;
  }
  if (const char* precedence = api.objectGetHeader(object, "Precedence"); precedence != nullptr) {
    const std::string v = mimeLower(trimWhitespace(precedence));
    out.autoSubmitted = out.autoSubmitted || v == "bulk" || v == "list" || v == "junk";
  }
  MimePartWalk w;
  walkMimeParts(api, api.messageGetMimePart(message.p), w);
  if (w.havePlain) {
    out.text = normaliseText(w.plain);
  } else if (w.haveHtml) {
    out.text = normaliseText(htmlToText(w.html));
    out.textFromHtml = true;
  }
  out.attachments = std::move(w.attachments);
  return out;
}

std::string emailThreadRoot(const ParsedEmail& mail) {
  if (!mail.references.empty()) return mail.references.front();
  if (!mail.inReplyTo.empty()) return mail.inReplyTo;
  return mail.messageId;
}

std::string emailThreadId(std::string_view root) {
  std::string out(root);
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view(".@_+-=$%!#&*/?^{}|~").find(c) == std::string_view::npos) {
      c = '_';
    }
  }
  return out;
}

std::string emailAgentText(const ParsedEmail& mail) {
  std::string out = mail.text;
  for (const auto& a : mail.attachments) {
    if (!out.empty()) out += "\n";
    out += "[attachment: " + (a.filename.empty() ? std::string("(unnamed)") : a.filename) + " (" + a.contentType +
           ", " + std::to_string(a.sizeBytes) + " bytes)]";
  }
  return out;
}

std::string replySubject(std::string_view subject) {
  const std::string s = trimWhitespace(subject);
  if (s.size() >= 3 && mimeLower(s.substr(0, 3)) == "re:") return s;
  return s.empty() ? "Re:" : "Re: " + s;
}

Result<std::string> buildEmail(const OutgoingEmail& mail) {
  auto loaded = gmimeApi();
  if (!loaded) return fail(loaded.error());
  const GMimeApi& api = **loaded;
  GMimeRef<GMimeMessage> message(api, api.messageNew(TRUE));
  GMimeObject* object = gmimeObjectOf(message.p);
  api.messageAddMailbox(message.p, GMIME_ADDRESS_TYPE_FROM, mail.fromName.c_str(), mail.from.c_str());
  api.messageAddMailbox(message.p, GMIME_ADDRESS_TYPE_TO, nullptr, mail.to.c_str());
  api.messageSetSubject(message.p, mail.subject.c_str(), "utf-8");
  GDateTime* date = api.dateTimeNewFromUnixUtc(mail.dateMs / 1000);
  api.messageSetDate(message.p, date);
  api.dateTimeUnref(date);
  api.messageSetMessageId(message.p, mail.messageId.c_str());
  if (!mail.inReplyTo.empty())
    api.objectSetHeader(object, "In-Reply-To", ("<" + mail.inReplyTo + ">").c_str(), nullptr);
  if (!mail.references.empty()) {
    std::string refs;
    for (const auto& r : mail.references) refs += (refs.empty() ? "<" : " <") + r + ">";
    api.objectSetHeader(object, "References", refs.c_str(), nullptr);
  }
  api.objectSetHeader(object, "Auto-Submitted", "auto-replied", nullptr);
  GMimeRef<GMimeTextPart> body(api, api.textPartNewWithSubtype("plain"));
  std::string text = mail.text;
  if (text.empty() || text.back() != '\n') text += '\n';
  api.textPartSetText(body.p, text.c_str());
  api.messageSetMimePart(message.p, gmimeObjectOf(body.p));
  GMimeFormatOptions* options = api.formatOptionsNew();
  api.formatOptionsSetNewlineFormat(options, GMIME_NEWLINE_FORMAT_DOS);
  std::string out = takeGString(api, api.objectToString(object, options));
  api.formatOptionsFree(options);
  return out;
}

Status emailMimeAvailable() {
  auto loaded = gmimeApi();
  if (!loaded) return fail(loaded.error());
  return {};
}

}  // namespace talon::gateway::channels
