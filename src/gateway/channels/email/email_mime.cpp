#include "gateway/channels/email/email_mime.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>

#include "base/text.h"

namespace talon::gateway::channels {

namespace {

void initGMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

/// A GObject reference, released on scope exit.
template <typename T>
struct GObjectRef {
  T* p = nullptr;
  explicit GObjectRef(T* ptr) : p(ptr) {}
  ~GObjectRef() {
    if (p != nullptr) g_object_unref(p);
  }
  GObjectRef(const GObjectRef&) = delete;
  GObjectRef& operator=(const GObjectRef&) = delete;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<std::string> messageIds(const char* header) {
  std::vector<std::string> out;
  if (header == nullptr) return out;
  GMimeReferences* refs = g_mime_references_parse(nullptr, header);
  if (refs == nullptr) return out;
  for (int i = 0; i < g_mime_references_length(refs); ++i) {
    const char* id = g_mime_references_get_message_id(refs, i);
    if (id != nullptr && *id != '\0') out.emplace_back(id);
  }
  g_mime_references_free(refs);
  return out;
}

std::string mimeTypeOf(GMimeObject* object) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (type == nullptr) return "text/plain";
  char* t = g_mime_content_type_get_mime_type(type);
  std::string out = t != nullptr ? lower(t) : "application/octet-stream";
  g_free(t);
  return out;
}

std::size_t decodedSize(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return 0;
  GObjectRef<GMimeStream> sink(g_mime_stream_null_new());
  const ssize_t n = g_mime_data_wrapper_write_to_stream(content, sink.p);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

struct Walk {
  std::string plain;
  std::string html;
  bool havePlain = false;
  bool haveHtml = false;
  std::vector<EmailAttachment> attachments;
};

void walk(GMimeObject* object, Walk& w) {
  if (object == nullptr) return;
  if (GMIME_IS_MULTIPART(object)) {
    auto* multipart = GMIME_MULTIPART(object);
    for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) walk(g_mime_multipart_get_part(multipart, i), w);
    return;
  }
  if (GMIME_IS_MESSAGE_PART(object)) {
    EmailAttachment a;
    a.contentType = mimeTypeOf(object);
    if (GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object)); inner != nullptr) {
      if (const char* subject = g_mime_message_get_subject(inner); subject != nullptr) a.filename = subject;
      char* text = g_mime_object_to_string(GMIME_OBJECT(inner), nullptr);
      a.sizeBytes = text != nullptr ? std::strlen(text) : 0;
      g_free(text);
    }
    w.attachments.push_back(std::move(a));
    return;
  }
  if (!GMIME_IS_PART(object)) return;
  auto* part = GMIME_PART(object);
  const std::string type = mimeTypeOf(object);
  const char* filename = g_mime_part_get_filename(part);
  const bool attachment = g_mime_part_is_attachment(part) || (filename != nullptr && *filename != '\0');
  if (!attachment && GMIME_IS_TEXT_PART(object) && (type == "text/plain" || type == "text/html")) {
    const bool isPlain = type == "text/plain";
    if (isPlain ? w.havePlain : w.haveHtml) {
      // A second body part of the same kind (multipart/mixed with several inline texts): appended.
    }
    char* text = g_mime_text_part_get_text(GMIME_TEXT_PART(object));
    std::string s = text != nullptr ? text : "";
    g_free(text);
    std::string& into = isPlain ? w.plain : w.html;
    if (!into.empty()) into += "\n";
    into += s;
    (isPlain ? w.havePlain : w.haveHtml) = true;
    return;
  }
  EmailAttachment a;
  a.filename = filename != nullptr ? filename : "";
  a.contentType = type;
  a.sizeBytes = decodedSize(part);
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
std::string attribute(std::string_view tag, std::string_view name) {
  const std::string t = lower(std::string(tag));
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
    const std::string lowerHtml = lower(std::string(html.substr(i)));
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
    const std::string name = lower(std::string(inside.substr(0, nameEnd)));
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
        linkTarget = attribute(inside, "href");
        linkStart = raw.size();
      } else if (!linkTarget.empty()) {
        const std::string shown = trimWhitespace(raw.substr(std::min(linkStart, raw.size())));
        if (shown != linkTarget && "mailto:" + shown != linkTarget && linkTarget.rfind('#', 0) != 0) {
          raw += " (" + linkTarget + ")";
        }
        linkTarget.clear();
      }
    } else if (name == "img" && !closing) {
      if (auto alt = attribute(inside, "alt"); !alt.empty()) raw += alt;
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
  initGMime();
  GObjectRef<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GObjectRef<GMimeParser> parser(g_mime_parser_new_with_stream(stream.p));
  GObjectRef<GMimeMessage> message(g_mime_parser_construct_message(parser.p, nullptr));
  if (message.p == nullptr) return fail(ErrorCode::kInvalidArgument, "not an RFC 5322 message");
  ParsedEmail out;
  auto* object = GMIME_OBJECT(message.p);
  if (const char* id = g_mime_message_get_message_id(message.p); id != nullptr) out.messageId = id;
  if (auto ids = messageIds(g_mime_object_get_header(object, "In-Reply-To")); !ids.empty()) out.inReplyTo = ids.front();
  out.references = messageIds(g_mime_object_get_header(object, "References"));
  InternetAddressList* from = g_mime_message_get_from(message.p);
  for (int i = 0; from != nullptr && i < internet_address_list_length(from); ++i) {
    InternetAddress* a = internet_address_list_get_address(from, i);
    if (!INTERNET_ADDRESS_IS_MAILBOX(a)) continue;
    const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
    if (addr == nullptr || *addr == '\0') continue;
    out.fromAddress = lower(addr);
    if (const char* name = internet_address_get_name(a); name != nullptr) out.fromName = name;
    break;
  }
  if (out.fromAddress.empty()) return fail(ErrorCode::kInvalidArgument, "the mail has no From address");
  if (const char* subject = g_mime_message_get_subject(message.p); subject != nullptr)
    out.subject = trimWhitespace(subject);
  if (const char* auto_ = g_mime_object_get_header(object, "Auto-Submitted"); auto_ != nullptr) {
    const std::string v = lower(trimWhitespace(auto_));
    out.autoSubmitted = !v.empty() && v.rfind("no", 0) != 0;
  }
  if (const char* precedence = g_mime_object_get_header(object, "Precedence"); precedence != nullptr) {
    const std::string v = lower(trimWhitespace(precedence));
    out.autoSubmitted = out.autoSubmitted || v == "bulk" || v == "list" || v == "junk";
  }
  Walk w;
  walk(g_mime_message_get_mime_part(message.p), w);
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
  if (s.size() >= 3 && lower(s.substr(0, 3)) == "re:") return s;
  return s.empty() ? "Re:" : "Re: " + s;
}

std::string buildEmail(const OutgoingEmail& mail) {
  initGMime();
  GObjectRef<GMimeMessage> message(g_mime_message_new(TRUE));
  auto* object = GMIME_OBJECT(message.p);
  g_mime_message_add_mailbox(message.p, GMIME_ADDRESS_TYPE_FROM, mail.fromName.c_str(), mail.from.c_str());
  g_mime_message_add_mailbox(message.p, GMIME_ADDRESS_TYPE_TO, nullptr, mail.to.c_str());
  g_mime_message_set_subject(message.p, mail.subject.c_str(), "utf-8");
  GDateTime* date = g_date_time_new_from_unix_utc(mail.dateMs / 1000);
  g_mime_message_set_date(message.p, date);
  g_date_time_unref(date);
  g_mime_message_set_message_id(message.p, mail.messageId.c_str());
  if (!mail.inReplyTo.empty())
    g_mime_object_set_header(object, "In-Reply-To", ("<" + mail.inReplyTo + ">").c_str(), nullptr);
  if (!mail.references.empty()) {
    std::string refs;
    for (const auto& r : mail.references) refs += (refs.empty() ? "<" : " <") + r + ">";
    g_mime_object_set_header(object, "References", refs.c_str(), nullptr);
  }
  g_mime_object_set_header(object, "Auto-Submitted", "auto-replied", nullptr);
  GObjectRef<GMimeTextPart> body(g_mime_text_part_new_with_subtype("plain"));
  std::string text = mail.text;
  if (text.empty() || text.back() != '\n') text += '\n';
  g_mime_text_part_set_text(body.p, text.c_str());
  g_mime_message_set_mime_part(message.p, GMIME_OBJECT(body.p));
  GMimeFormatOptions* options = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS);
  char* rendered = g_mime_object_to_string(object, options);
  g_mime_format_options_free(options);
  std::string out = rendered != nullptr ? rendered : "";
  g_free(rendered);
  return out;
}

}  // namespace talon::gateway::channels
