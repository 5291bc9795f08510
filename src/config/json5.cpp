#include "config/json5.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <unordered_map>

namespace talon::config {

namespace {

struct CodePointRange {
  char32_t lo;
  char32_t hi;
};

#include "config/json5_unicode.inc"

template <std::size_t N>
bool inRanges(const CodePointRange (&ranges)[N], char32_t cp) {
  auto it = std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                             [](char32_t c, const CodePointRange& r) { return c < r.lo; });
  if (it == std::begin(ranges)) return false;
  --it;
  return cp >= it->lo && cp <= it->hi;
}

constexpr char32_t kEof = 0xFFFFFFFF;

bool isIdStart(char32_t c) { return c == U'$' || c == U'_' || inRanges(kJson5IdStart, c); }
bool isIdContinue(char32_t c) {
  return c == U'$' || c == U'_' || c == 0x200C || c == 0x200D || inRanges(kJson5IdContinue, c);
}
bool isDigit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool isHexDigit(char32_t c) { return isDigit(c) || (c >= U'a' && c <= U'f') || (c >= U'A' && c <= U'F'); }
int hexValue(char32_t c) {
  if (isDigit(c)) return static_cast<int>(c - U'0');
  if (c >= U'a' && c <= U'f') return static_cast<int>(c - U'a' + 10);
  return static_cast<int>(c - U'A' + 10);
}
bool isLineTerminator(char32_t c) { return c == U'\n' || c == U'\r' || c == 0x2028 || c == 0x2029; }
bool isWhiteSpace(char32_t c) {
  switch (c) {
    case U'\t':
    case U'\v':
    case U'\f':
    case U' ':
    case 0x00A0:
    case 0xFEFF:
    case U'\n':
    case U'\r':
    case 0x2028:
    case 0x2029:
      return true;
    default:
      return inRanges(kJson5SpaceSeparator, c);
  }
}

void appendUtf8(std::string& out, char32_t cp) {
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

// How a character is shown in messages: quoted, with invisible ones spelled out.
std::string describeChar(char32_t c) {
  if (c == kEof) return "end of input";
  switch (c) {
    case U'\n':
      return "line feed";
    case U'\r':
      return "carriage return";
    case U'\t':
      return "tab";
    case 0x2028:
      return "U+2028";
    case 0x2029:
      return "U+2029";
    default:
      break;
  }
  if (c < 0x20 || c == 0x7F) return fmt::format("U+{:04X}", static_cast<uint32_t>(c));
  std::string s = "'";
  appendUtf8(s, c);
  s += "'";
  return s;
}

struct ParseFailure {
  SourceLocation location;
  std::string message;
};

class Parser {
 public:
  Parser(std::string_view text, std::string_view file) : text_(text), file_(file) {}

  LocatedValue parseDocument() {
    skipSpace();
    if (peek() == kEof) fail("unexpected end of input (the document is empty)");
    LocatedValue v = parseValue(0);
    skipSpace();
    if (peek() != kEof) fail("unexpected " + describeChar(peek()) + " after the value (expected end of input)");
    return v;
  }

 private:
  struct Mark {
    std::size_t pos;
    int line;
    int column;
  };

  // --- character access -------------------------------------------------------------------------

  // Decodes the code point at byte offset `at`; sets `len`. Invalid UTF-8 is an error.
  char32_t decodeAt(std::size_t at, std::size_t& len) const {
    if (at >= text_.size()) {
      len = 0;
      return kEof;
    }
    auto b = static_cast<unsigned char>(text_[at]);
    if (b < 0x80) {
      len = 1;
      return b;
    }
    int extra;
    char32_t cp;
    char32_t min;
    if ((b & 0xE0) == 0xC0) {
      extra = 1, cp = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2, cp = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      extra = 3, cp = b & 0x07, min = 0x10000;
    } else {
      failAtByte(at, "invalid UTF-8");
    }
    if (at + static_cast<std::size_t>(extra) >= text_.size()) failAtByte(at, "invalid UTF-8 (truncated sequence)");
    for (int i = 1; i <= extra; ++i) {
      auto c = static_cast<unsigned char>(text_[at + static_cast<std::size_t>(i)]);
      if ((c & 0xC0) != 0x80) failAtByte(at, "invalid UTF-8");
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) failAtByte(at, "invalid UTF-8");
    len = static_cast<std::size_t>(extra) + 1;
    return cp;
  }

  char32_t peek() const {
    std::size_t len;
    return decodeAt(pos_, len);
  }

  char32_t peekAt(std::size_t ahead) const {  // ahead: number of code points after the current one
    std::size_t at = pos_;
    std::size_t len = 0;
    char32_t c = decodeAt(at, len);
    for (std::size_t i = 0; i < ahead && c != kEof; ++i) {
      at += len;
      c = decodeAt(at, len);
    }
    return c;
  }

  char32_t next() {
    std::size_t len;
    char32_t c = decodeAt(pos_, len);
    if (c == kEof) return c;
    pos_ += len;
    if (c == U'\n') {
      ++line_;
      column_ = 1;
    } else if (c == U'\r') {
      std::size_t l2;
      if (decodeAt(pos_, l2) == U'\n') {
        ++column_;  // the LF that follows ends the line
      } else {
        ++line_;
        column_ = 1;
      }
    } else {
      ++column_;
    }
    return c;
  }

  Mark mark() const { return Mark{pos_, line_, column_}; }
  SourceLocation location() const { return SourceLocation{std::string(file_), line_, column_}; }
  SourceLocation locationOf(const Mark& m) const { return SourceLocation{std::string(file_), m.line, m.column}; }

  [[noreturn]] void fail(std::string message) const { throw ParseFailure{location(), std::move(message)}; }
  [[noreturn]] void failAt(const Mark& m, std::string message) const {
    throw ParseFailure{locationOf(m), std::move(message)};
  }
  [[noreturn]] void failAtByte(std::size_t at, std::string message) const {
    // Only reached for bytes at or after pos_ on the current line (decoding happens ahead of next()).
    int column = column_;
    for (std::size_t p = pos_; p < at; ++p) {
      if ((static_cast<unsigned char>(text_[p]) & 0xC0) != 0x80) ++column;
    }
    throw ParseFailure{SourceLocation{std::string(file_), line_, column}, std::move(message)};
  }

  // --- white space and comments -----------------------------------------------------------------

  void skipSpace() {
    for (;;) {
      char32_t c = peek();
      if (c == kEof) return;
      if (isWhiteSpace(c)) {
        next();
        continue;
      }
      if (c != U'/') return;
      Mark start = mark();
      next();
      char32_t k = peek();
      if (k == U'/') {
        next();
        while (peek() != kEof && !isLineTerminator(peek())) next();
      } else if (k == U'*') {
        next();
        for (;;) {
          char32_t d = next();
          if (d == kEof) failAt(start, "unterminated block comment");
          if (d == U'*' && peek() == U'/') {
            next();
            break;
          }
        }
      } else {
        fail("unexpected " + describeChar(k) + " after '/' (expected '//' or '/*' comment)");
      }
    }
  }

  // --- values -----------------------------------------------------------------------------------

  LocatedValue parseValue(int depth) {
    Mark start = mark();
    char32_t c = peek();
    switch (c) {
      case U'{':
        return parseObject(depth + 1);
      case U'[':
        return parseArray(depth + 1);
      case U'"':
      case U'\'': {
        std::string s = parseString();
        return LocatedValue::makeScalar(json::string(s), locationOf(start));
      }
      case U'n':
        expectWord("null");
        return LocatedValue::makeScalar(nullptr, locationOf(start));
      case U't':
        expectWord("true");
        return LocatedValue::makeScalar(true, locationOf(start));
      case U'f':
        expectWord("false");
        return LocatedValue::makeScalar(false, locationOf(start));
      case U'I':
      case U'N':
      case U'+':
      case U'-':
      case U'.':
        return LocatedValue::makeScalar(parseNumber(), locationOf(start));
      default:
        break;
    }
    if (isDigit(c)) return LocatedValue::makeScalar(parseNumber(), locationOf(start));
    if (c == kEof) fail("unexpected end of input (expected a value)");
    fail("unexpected " + describeChar(c) + " (expected a value)");
  }

  void expectWord(std::string_view word) {
    for (char w : word) {
      char32_t c = peek();
      if (c != static_cast<char32_t>(w)) {
        if (c == kEof) fail(fmt::format("unexpected end of input in '{}'", word));
        fail(fmt::format("unexpected {} (expected '{}')", describeChar(c), word));
      }
      next();
    }
  }

  LocatedValue parseObject(int depth) {
    if (depth > kJson5MaxDepth) fail(fmt::format("nesting deeper than {} levels", kJson5MaxDepth));
    LocatedValue obj = LocatedValue::makeObject(location());
    std::unordered_map<std::string, std::size_t> index;
    next();  // '{'
    skipSpace();
    if (peek() == U'}') {
      next();
      return obj;
    }
    for (;;) {
      Mark keyStart = mark();
      std::string key = parsePropertyName();
      skipSpace();
      if (peek() != U':') {
        if (peek() == kEof) fail("unexpected end of input (expected ':' after property name)");
        fail("unexpected " + describeChar(peek()) + " (expected ':' after property name)");
      }
      next();
      skipSpace();
      LocatedValue value = parseValue(depth);
      // Duplicate keys: the later value replaces the earlier one in place (an index keeps this linear).
      auto [it, inserted] = index.try_emplace(key, obj.members.size());
      if (inserted) {
        obj.members.push_back(LocatedMember{std::move(key), locationOf(keyStart), std::move(value)});
      } else {
        obj.members[it->second].keyLocation = locationOf(keyStart);
        obj.members[it->second].value = std::move(value);
      }
      skipSpace();
      char32_t c = peek();
      if (c == U',') {
        next();
        skipSpace();
        if (peek() == U'}') {
          next();
          return obj;
        }
        continue;
      }
      if (c == U'}') {
        next();
        return obj;
      }
      if (c == kEof) fail("unexpected end of input (expected ',' or '}')");
      fail("unexpected " + describeChar(c) + " (expected ',' or '}')");
    }
  }

  LocatedValue parseArray(int depth) {
    if (depth > kJson5MaxDepth) fail(fmt::format("nesting deeper than {} levels", kJson5MaxDepth));
    LocatedValue arr = LocatedValue::makeArray(location());
    next();  // '['
    skipSpace();
    if (peek() == U']') {
      next();
      return arr;
    }
    for (;;) {
      arr.items.push_back(parseValue(depth));
      skipSpace();
      char32_t c = peek();
      if (c == U',') {
        next();
        skipSpace();
        if (peek() == U']') {
          next();
          return arr;
        }
        continue;
      }
      if (c == U']') {
        next();
        return arr;
      }
      if (c == kEof) fail("unexpected end of input (expected ',' or ']')");
      fail("unexpected " + describeChar(c) + " (expected ',' or ']')");
    }
  }

  // --- property names ---------------------------------------------------------------------------

  std::string parsePropertyName() {
    char32_t c = peek();
    if (c == U'"' || c == U'\'') return parseString();
    if (c == U'\\' || isIdStart(c)) return parseIdentifier();
    if (c == kEof) fail("unexpected end of input (expected a property name or '}')");
    fail("unexpected " + describeChar(c) + " (expected a property name or '}')");
  }

  // IdentifierName (ECMA-262 5.1 §7.6) including \uXXXX escapes.
  std::string parseIdentifier() {
    std::string out;
    bool first = true;
    for (;;) {
      char32_t c = peek();
      char32_t cp;
      if (c == U'\\') {
        Mark escStart = mark();
        next();
        if (peek() != U'u') {
          fail("unexpected " + describeChar(peek()) + " in identifier escape (expected '\\u')");
        }
        next();
        cp = readHex4();
        bool ok = first ? isIdStart(cp) : isIdContinue(cp);
        if (!ok) {
          failAt(escStart, fmt::format("escape \\u{:04X} is not a valid identifier {} character",
                                       static_cast<uint32_t>(cp), first ? "start" : "part"));
        }
      } else if (first ? isIdStart(c) : isIdContinue(c)) {
        cp = next();
      } else {
        break;
      }
      appendUtf8(out, cp);
      first = false;
    }
    return out;
  }

  char32_t readHex4() {
    char32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char32_t c = peek();
      if (!isHexDigit(c)) fail("unexpected " + describeChar(c) + " in \\u escape (expected 4 hex digits)");
      next();
      v = (v << 4) | static_cast<char32_t>(hexValue(c));
    }
    return v;
  }

  // --- strings ----------------------------------------------------------------------------------

  std::string parseString() {
    Mark start = mark();
    char32_t quote = next();
    std::string out;
    for (;;) {
      char32_t c = peek();
      if (c == kEof) failAt(start, "unterminated string");
      if (c == quote) {
        next();
        return out;
      }
      if (c == U'\n' || c == U'\r') {
        fail("line break in string (escape it as \\n, or end the line with '\\' to continue the string)");
      }
      if (c == U'\\') {
        parseEscape(out);
        continue;
      }
      appendUtf8(out, next());
    }
  }

  void parseEscape(std::string& out) {
    Mark escStart = mark();
    next();  // '\'
    char32_t c = peek();
    switch (c) {
      case U'b':
        next();
        out += '\b';
        return;
      case U'f':
        next();
        out += '\f';
        return;
      case U'n':
        next();
        out += '\n';
        return;
      case U'r':
        next();
        out += '\r';
        return;
      case U't':
        next();
        out += '\t';
        return;
      case U'v':
        next();
        out += '\v';
        return;
      case U'0':
        next();
        if (isDigit(peek())) fail("unexpected digit after \\0 (octal escapes are not allowed)");
        out += '\0';
        return;
      case U'x': {
        next();
        char32_t v = 0;
        for (int i = 0; i < 2; ++i) {
          char32_t h = peek();
          if (!isHexDigit(h)) fail("unexpected " + describeChar(h) + " in \\x escape (expected 2 hex digits)");
          next();
          v = (v << 4) | static_cast<char32_t>(hexValue(h));
        }
        appendUtf8(out, v);
        return;
      }
      case U'u': {
        next();
        char32_t v = readHex4();
        if (v >= 0xD800 && v <= 0xDBFF) {
          // A high surrogate must be followed by an escaped low surrogate: together one code point.
          if (peek() == U'\\' && peekAt(1) == U'u') {
            next();
            next();
            char32_t low = readHex4();
            if (low >= 0xDC00 && low <= 0xDFFF) {
              appendUtf8(out, 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00));
              return;
            }
          }
          failAt(escStart,
                 fmt::format("lone surrogate \\u{:04X} cannot be represented in UTF-8", static_cast<uint32_t>(v)));
        }
        if (v >= 0xDC00 && v <= 0xDFFF) {
          failAt(escStart,
                 fmt::format("lone surrogate \\u{:04X} cannot be represented in UTF-8", static_cast<uint32_t>(v)));
        }
        appendUtf8(out, v);
        return;
      }
      case U'\n':
      case 0x2028:
      case 0x2029:
        next();  // line continuation
        return;
      case U'\r':
        next();
        if (peek() == U'\n') next();
        return;
      case kEof:
        failAt(escStart, "unterminated string (input ends after '\\')");
      default:
        break;
    }
    if (c >= U'1' && c <= U'9') fail("unexpected digit in escape (octal escapes are not allowed)");
    appendUtf8(out, next());  // any other escaped character stands for itself
  }

  // --- numbers ----------------------------------------------------------------------------------

  json::value parseNumber() {
    bool negative = false;
    char32_t c = peek();
    if (c == U'+' || c == U'-') {
      negative = (c == U'-');
      next();
      c = peek();
    }
    if (c == U'I') {
      expectWord("Infinity");
      double inf = std::numeric_limits<double>::infinity();
      return negative ? -inf : inf;
    }
    if (c == U'N') {
      expectWord("NaN");
      return std::numeric_limits<double>::quiet_NaN();
    }
    std::string digits;  // the unsigned literal, ASCII
    bool isInteger = true;
    if (c == U'0' && (peekAt(1) == U'x' || peekAt(1) == U'X')) {
      next();
      next();
      if (!isHexDigit(peek())) fail("unexpected " + describeChar(peek()) + " (expected hex digits after '0x')");
      while (isHexDigit(peek())) digits += static_cast<char>(next());
      return hexNumber(digits, negative);
    }
    if (c == U'.') {
      digits += static_cast<char>(next());
      if (!isDigit(peek())) fail("unexpected " + describeChar(peek()) + " (expected a digit after '.')");
      isInteger = false;
    } else if (c == U'0') {
      digits += static_cast<char>(next());
      if (isDigit(peek())) fail("leading zeros are not allowed in numbers");
    } else if (isDigit(c)) {
      while (isDigit(peek())) digits += static_cast<char>(next());
    } else {
      if (c == kEof) fail("unexpected end of input (expected a number after the sign)");
      fail("unexpected " + describeChar(c) + " (expected a number after the sign)");
    }
    if (isInteger && peek() == U'.') {
      digits += static_cast<char>(next());
      isInteger = false;
    }
    while (isDigit(peek())) digits += static_cast<char>(next());
    if (peek() == U'e' || peek() == U'E') {
      digits += static_cast<char>(next());
      isInteger = false;
      if (peek() == U'+' || peek() == U'-') digits += static_cast<char>(next());
      if (!isDigit(peek())) fail("unexpected " + describeChar(peek()) + " (expected exponent digits)");
      while (isDigit(peek())) digits += static_cast<char>(next());
    }
    if (isInteger) {
      if (auto i = toInt64(digits, negative, 10)) return *i;
    }
    double d = decimalToDouble(digits);
    return negative ? -d : d;
  }

  // Decimal or hex digits (no prefix, no sign) as int64 if the signed value fits.
  static std::optional<int64_t> toInt64(const std::string& digits, bool negative, int base) {
    uint64_t u = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
    if (!negative) {
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) return std::nullopt;
    return u == 0 ? 0 : static_cast<int64_t>(~(u - 1));  // -u without overflow
  }

  static json::value hexNumber(const std::string& digits, bool negative) {
    if (auto i = toInt64(digits, negative, 16)) return *i;
    // Too large for int64: the correctly rounded double, as JavaScript's Number("0x...").
    std::size_t first = digits.find_first_not_of('0');
    std::string_view sig = std::string_view(digits).substr(first);
    double d;
    if (sig.size() <= 16) {
      uint64_t u = 0;
      std::from_chars(sig.data(), sig.data() + sig.size(), u, 16);
      d = static_cast<double>(u);
    } else {
      uint64_t hi = 0;
      std::from_chars(sig.data(), sig.data() + 16, hi, 16);
      // hi has at least 61 significant bits, so bit 0 lies below the rounding position: use it as
      // the sticky bit for the digits that do not fit.
      if (sig.find_first_not_of('0', 16) != std::string_view::npos) hi |= 1;
      d = std::ldexp(static_cast<double>(hi), static_cast<int>(4 * (sig.size() - 16)));
    }
    return negative ? -d : d;
  }

  // A decimal literal (digits, optional '.', optional exponent; no sign) as the nearest double.
  static double decimalToDouble(const std::string& s) {
    double d = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec == std::errc()) return d;
    // Out of range: decide between overflow (Infinity) and underflow (0) from the magnitude.
    long long exponent = 0;
    std::size_t e = s.find_first_of("eE");
    std::string_view mantissa = std::string_view(s).substr(0, e);
    if (e != std::string::npos) {
      std::string_view ex = std::string_view(s).substr(e + 1);
      bool neg = !ex.empty() && ex[0] == '-';
      if (!ex.empty() && (ex[0] == '+' || ex[0] == '-')) ex.remove_prefix(1);
      for (char ch : ex) {
        exponent = std::min<long long>(exponent * 10 + (ch - '0'), 1'000'000'000LL);
      }
      if (neg) exponent = -exponent;
    }
    std::size_t dot = mantissa.find('.');
    std::size_t intDigits = dot == std::string_view::npos ? mantissa.size() : dot;
    std::size_t firstNonZero = mantissa.find_first_of("123456789");
    if (firstNonZero == std::string_view::npos) return 0.0;
    long long leading = firstNonZero < intDigits ? static_cast<long long>(intDigits - firstNonZero) - 1
                                                 : -static_cast<long long>(firstNonZero - intDigits);
    return leading + exponent > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  }

  std::string_view text_;
  std::string_view file_;
  std::size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

}  // namespace

std::string Json5Error::toString() const { return location.toString() + ": " + message; }

Expected<LocatedValue, Json5Error> parseJson5Located(std::string_view text, std::string_view file) {
  try {
    Parser parser(text, file);
    return parser.parseDocument();
  } catch (ParseFailure& f) {
    return Unexpected<Json5Error>(Json5Error{std::move(f.location), std::move(f.message)});
  }
}

Result<Json5Document> parseJson5(std::string_view text, std::string_view file) {
  auto located = parseJson5Located(text, file);
  if (!located) {
    const Json5Error& e = located.error();
    Error err(ErrorCode::kInvalidArgument, e.toString(), "invalid JSON5");
    err.details["file"] = e.location.file;
    err.details["line"] = e.location.line;
    err.details["column"] = e.location.column;
    err.details["reason"] = e.message;
    return fail(std::move(err));
  }
  Json5Document doc;
  doc.value = toJsonValue(*located);
  collectSourceMap(*located, "", doc.sourceMap);
  return doc;
}

}  // namespace talon::config
