#include "gateway/chat_commands/chat_command_registry.h"

#include "base/text.h"

namespace talon::gateway::chat_commands {

namespace {

bool isCommandNameChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; }

bool isCommandSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

char lowerCommandChar(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

Status ChatCommandRegistry::add(ChatCommandSpec spec) {
  bool nameOk = !spec.name.empty();
  for (char c : spec.name) nameOk = nameOk && isCommandNameChar(c);
  if (!nameOk) {
    std::string text = "chat command \"" + spec.name + "\": a name is lower case letters, digits, '-' and '_'";
    return fail(ErrorCode::kInvalidArgument, text, text);
  }
  if (!spec.run) {
    std::string text = "chat command /" + spec.name + " has no run function";
    return fail(ErrorCode::kInvalidArgument, text, text);
  }
  if (commands_.count(spec.name) != 0) {
    std::string text = "chat command /" + spec.name + " is registered twice";
    return fail(ErrorCode::kAlreadyExists, text, text);
  }
  std::string name = spec.name;
  commands_.emplace(std::move(name), std::move(spec));
  return {};
}

std::optional<ChatCommandMatch> ChatCommandRegistry::match(std::string_view text) const {
  std::size_t begin = 0;
  while (begin < text.size() && isCommandSpace(text[begin])) ++begin;
  if (begin == text.size() || text[begin] != '/') return std::nullopt;
  std::size_t end = begin + 1;
  std::string name;
  while (end < text.size() && !isCommandSpace(text[end]) && text[end] != ':')
    name.push_back(lowerCommandChar(text[end++]));
  auto it = commands_.find(name);
  if (it == commands_.end()) return std::nullopt;
  std::string_view rest = text.substr(end);
  std::size_t skip = 0;
  while (skip < rest.size() && isCommandSpace(rest[skip])) ++skip;
  if (skip < rest.size() && rest[skip] == ':') rest.remove_prefix(skip + 1);
  return ChatCommandMatch{&it->second, trimWhitespace(rest)};
}

std::vector<const ChatCommandSpec*> ChatCommandRegistry::list() const {
  std::vector<const ChatCommandSpec*> out;
  out.reserve(commands_.size());
  for (const auto& [name, spec] : commands_) out.push_back(&spec);
  return out;
}

}  // namespace talon::gateway::chat_commands
