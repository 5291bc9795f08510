#include "gateway/channels/reply_splitter.h"

#include <optional>

namespace talon::gateway::channels {

namespace {

bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

/// The byte length of the first `n` code points of `text` (all of it when shorter).
std::size_t prefixBytes(std::string_view text, std::size_t n) {
  std::size_t points = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (continuation(static_cast<unsigned char>(text[i]))) continue;
    if (points == n) return i;
    ++points;
  }
  return text.size();
}

std::vector<std::string_view> splitOn(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    auto pos = text.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, pos - start));
    start = pos + 1;
  }
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

/// The fence characters ("```" or "~~~", or longer) a line opens with, after at most three spaces.
std::optional<std::string_view> fenceOf(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && i < 3 && line[i] == ' ') ++i;
  if (i >= line.size() || (line[i] != '`' && line[i] != '~')) return std::nullopt;
  const char c = line[i];
  std::size_t j = i;
  while (j < line.size() && line[j] == c) ++j;
  if (j - i < 3) return std::nullopt;
  return line.substr(i, j - i);
}

struct Block {
  bool code = false;
  std::string text;  // the whole block as written (code: opening fence, body, closing fence)
  // Code blocks only:
  std::string open;                // the opening fence line
  std::string close;               // the closing fence ("```" when the block was not closed)
  std::vector<std::string> lines;  // the body
};

std::vector<Block> blocksOf(std::string_view text) {
  std::vector<Block> blocks;
  std::string paragraph;
  bool inParagraph = false;
  auto flush = [&] {
    if (inParagraph) blocks.push_back(Block{false, std::move(paragraph), {}, {}, {}});
    paragraph.clear();
    inParagraph = false;
  };
  std::optional<Block> code;
  std::string fence;
  for (std::string_view line : splitOn(text, '\n')) {
    if (code) {
      auto f = fenceOf(line);
      if (f && f->size() >= fence.size() && (*f)[0] == fence[0] &&
          blank(line.substr(static_cast<std::size_t>(f->data() - line.data()) + f->size()))) {
        code->close = std::string(line);
        code->text += "\n" + code->close;
        blocks.push_back(std::move(*code));
        code.reset();
        continue;
      }
      code->lines.emplace_back(line);
      code->text += "\n";
      code->text += line;
      continue;
    }
    if (auto f = fenceOf(line)) {
      flush();
      fence = std::string(*f);
      code = Block{true, std::string(line), std::string(line), {}, {}};
      continue;
    }
    if (blank(line)) {
      flush();
      continue;
    }
    if (inParagraph) paragraph += "\n";
    paragraph += line;
    inParagraph = true;
  }
  if (code) {
    code->close = code->open.substr(code->open.find_first_not_of(' '), fence.size());
    blocks.push_back(std::move(*code));
  }
  flush();
  return blocks;
}

/// Cuts `text` into pieces of at most `max` code points: between lines, then between words, then
/// between code points. Separators at a cut are dropped.
void splitPlain(std::string_view text, std::size_t max, std::size_t level, std::vector<std::string>& out) {
  if (codePointCount(text) <= max) {
    out.emplace_back(text);
    return;
  }
  if (level >= 2) {
    while (!text.empty()) {
      std::size_t n = prefixBytes(text, max);
      out.emplace_back(text.substr(0, n));
      text.remove_prefix(n);
    }
    return;
  }
  const char sep = level == 0 ? '\n' : ' ';
  std::string current;
  bool has = false;
  for (std::string_view piece : splitOn(text, sep)) {
    if (has && codePointCount(current) + 1 + codePointCount(piece) <= max) {
      current += sep;
      current += piece;
      continue;
    }
    if (has) out.push_back(std::move(current));
    current.clear();
    has = false;
    if (codePointCount(piece) <= max) {
      current = std::string(piece);
      has = true;
    } else {
      splitPlain(piece, max, level + 1, out);
    }
  }
  if (has) out.push_back(std::move(current));
}

/// Cuts a code block too long for one part between its lines, each piece fenced again.
void splitCode(const Block& block, std::size_t max, std::vector<std::string>& out) {
  const std::size_t overhead = codePointCount(block.open) + 1 + 1 + codePointCount(block.close);
  if (overhead >= max) {  // not even one body character fits between fences: cut the text as it is
    splitPlain(block.text, max, 0, out);
    return;
  }
  const std::size_t room = max - overhead;
  std::vector<std::string> bodies;
  std::string current;
  bool has = false;
  for (const auto& line : block.lines) {
    if (has && codePointCount(current) + 1 + codePointCount(line) <= room) {
      current += "\n" + line;
      continue;
    }
    if (has) bodies.push_back(std::move(current));
    current.clear();
    has = false;
    if (codePointCount(line) <= room) {
      current = line;
      has = true;
    } else {
      std::string_view rest = line;
      while (!rest.empty()) {
        std::size_t n = prefixBytes(rest, room);
        bodies.emplace_back(rest.substr(0, n));
        rest.remove_prefix(n);
      }
    }
  }
  if (has) bodies.push_back(std::move(current));
  for (auto& body : bodies) out.push_back(block.open + "\n" + body + "\n" + block.close);
}

}  // namespace

std::size_t codePointCount(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += continuation(static_cast<unsigned char>(c)) ? 0 : 1;
  return n;
}

std::vector<std::string> splitReply(std::string_view text, std::size_t maxChars) {
  const std::size_t max = maxChars == 0 ? 1 : maxChars;
  if (text.empty()) return {};
  if (codePointCount(text) <= max) return {std::string(text)};
  std::vector<std::string> parts;
  std::string current;
  for (const Block& block : blocksOf(text)) {
    if (!current.empty() && codePointCount(current) + 2 + codePointCount(block.text) <= max) {
      current += "\n\n" + block.text;
      continue;
    }
    if (!current.empty()) parts.push_back(std::move(current));
    current.clear();
    if (codePointCount(block.text) <= max) {
      current = block.text;
      continue;
    }
    std::vector<std::string> pieces;
    if (block.code) {
      splitCode(block, max, pieces);
    } else {
      splitPlain(block.text, max, 0, pieces);
    }
    // The last piece may share its part with what follows.
    for (std::size_t i = 0; i + 1 < pieces.size(); ++i) parts.push_back(std::move(pieces[i]));
    if (!pieces.empty()) current = std::move(pieces.back());
  }
  if (!current.empty()) parts.push_back(std::move(current));
  return parts;
}

}  // namespace talon::gateway::channels
