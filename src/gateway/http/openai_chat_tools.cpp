#include "gateway/http/openai_chat_tools.h"

#include <algorithm>

#include "gateway/message_limits.h"

namespace talon::gateway::http {
namespace {

Unexpected<Error> chatToolsInvalid(const std::string& what) {
  std::string message = "Invalid tools/tool_choice: " + what;
  return fail(ErrorCode::kInvalidArgument, message, message);
}

Unexpected<Error> chatMessageInvalid(const std::string& message) {
  return fail(ErrorCode::kInvalidArgument, message, message);
}

/// The text of a message's `content`: a string, null (""), or an array of parts whose text parts
/// (`text`, or `input_text`) are joined with "\n". Other part types are not supported yet.
Result<std::string> chatContentText(const json::object& message) {
  auto it = message.find("content");
  if (it == message.end() || it->value().is_null()) return std::string();
  const auto& content = it->value();
  if (content.is_string()) return std::string(content.get_string());
  if (!content.is_array()) return chatMessageInvalid("message content must be a string or an array of parts");
  std::string out;
  bool first = true;
  for (const auto& part : content.get_array()) {
    if (!part.is_object()) return chatMessageInvalid("message content parts must be objects");
    auto type = getString(part.get_object(), "type");
    if (type != "text" && type != "input_text") {
      return fail(notSupportedYet("content part type \"" + std::string(type.value_or("")) + "\""));
    }
    if (!first) out += "\n";
    first = false;
    out += getString(part.get_object(), "text").value_or("");
  }
  return out;
}

/// An assistant message's `tool_calls` (OpenClaw extractAssistantToolCalls: entries without an id or a
/// function name are skipped; non-string arguments are serialized).
std::vector<ToolCall> assistantToolCalls(const json::object& message) {
  std::vector<ToolCall> calls;
  const auto* list = getArray(message, "tool_calls");
  if (list == nullptr) return calls;
  for (const auto& raw : *list) {
    if (!raw.is_object()) continue;
    const auto* fn = getObject(raw.get_object(), "function");
    auto id = getString(raw.get_object(), "id");
    if (fn == nullptr || !id || id->empty()) continue;
    auto name = getString(*fn, "name");
    if (!name || name->empty()) continue;
    std::string arguments;
    if (auto a = fn->find("arguments"); a != fn->end() && !a->value().is_null()) {
      arguments = a->value().is_string() ? std::string(a->value().get_string()) : json::serialize(a->value());
    }
    calls.push_back(ToolCall{std::string(*id), std::string(*name), std::move(arguments)});
  }
  return calls;
}

bool isResultRole(std::string_view role) { return role == "tool" || role == "function"; }

}  // namespace

Result<ChatToolSelection> parseChatTools(const json::object& request) {
  ChatToolSelection out;
  if (auto it = request.find("tools"); it != request.end() && !it->value().is_null()) {
    if (!it->value().is_array()) return chatToolsInvalid("tools must be an array");
    for (const auto& tool : it->value().get_array()) {
      if (!tool.is_object()) return chatToolsInvalid("each tool must be an object");
      const auto& t = tool.get_object();
      if (getString(t, "type") != "function") return chatToolsInvalid("only function tools are supported");
      const auto* fn = getObject(t, "function");
      if (fn == nullptr) return chatToolsInvalid("tool.function is required");
      std::string name(getString(*fn, "name").value_or(""));
      name = std::string(
          name.begin() + static_cast<std::ptrdiff_t>(std::min(name.find_first_not_of(" \t\r\n"), name.size())),
          name.end());
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t' || name.back() == '\r' || name.back() == '\n'))
        name.pop_back();
      if (name.empty()) return chatToolsInvalid("tool.function.name is required");
      const auto* params = getObject(*fn, "parameters");
      out.tools.emplace_back(std::move(name), std::string(getString(*fn, "description").value_or("")),
                             params ? *params : json::object{});
    }
  }
  if (auto it = request.find("tool_choice"); it != request.end() && !it->value().is_null()) {
    const auto& v = it->value();
    if (v.is_string() && v.get_string() == "auto") {
    } else if (v.is_string() && v.get_string() == "none") {
      out.choice.kind = ChatToolChoice::Kind::kNone;
    } else if (v.is_string() && v.get_string() == "required") {
      out.choice.kind = ChatToolChoice::Kind::kRequired;
    } else if (!v.is_object()) {
      return chatToolsInvalid("tool_choice must be a string or object");
    } else {
      const auto& choice = v.get_object();
      auto type = choice.find("type");
      if (type == choice.end() || !type->value().is_string()) return chatToolsInvalid("unsupported tool_choice type");
      std::string typeName(type->value().get_string());
      if (typeName != "function") return chatToolsInvalid("tool_choice " + typeName + " is not supported");
      const auto* fn = getObject(choice, "function");
      std::string name = fn ? std::string(getString(*fn, "name").value_or("")) : std::string();
      if (name.find_first_not_of(" \t\r\n") == std::string::npos) {
        return chatToolsInvalid("tool_choice.function.name is required");
      }
      out.choice.kind = ChatToolChoice::Kind::kFunction;
      out.choice.name = std::move(name);
    }
  }
  switch (out.choice.kind) {
    case ChatToolChoice::Kind::kAuto:
      break;
    case ChatToolChoice::Kind::kNone:
      out.tools.clear();
      break;
    case ChatToolChoice::Kind::kRequired:
      if (out.tools.empty()) return chatToolsInvalid("tool_choice=required but no tools were provided");
      out.extraSystemPrompt = "You must call one of the available tools before responding.";
      break;
    case ChatToolChoice::Kind::kFunction: {
      std::vector<ToolSpec> selected;
      for (auto& t : out.tools) {
        if (t.name == out.choice.name) selected.push_back(std::move(t));
      }
      if (selected.empty()) return chatToolsInvalid("tool_choice requested unknown tool: " + out.choice.name);
      out.tools = std::move(selected);
      out.extraSystemPrompt = "You must call the " + out.choice.name + " tool before responding.";
      break;
    }
  }
  return out;
}

Result<ChatConversation> parseChatMessages(const json::array& messages, int64_t maxMessageBytes) {
  if (messages.empty()) return chatMessageInvalid("messages must be a non-empty array");
  // The active turn: the last message when it is the user's, else the trailing results.
  std::size_t active = messages.size();
  while (active > 0) {
    const auto& m = messages[active - 1];
    if (!m.is_object() || !isResultRole(getString(m.get_object(), "role").value_or(""))) break;
    --active;
  }
  const bool followUp = active < messages.size();
  if (!followUp) active = messages.size() - 1;
  ChatConversation out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object()) return chatMessageInvalid("each message must be an object");
    const auto& o = m.get_object();
    std::string role(getString(o, "role").value_or(""));
    auto text = chatContentText(o);
    if (!text) return fail(text.error());
    // Each message, the history's included, is bounded: the gateway holds them all for the turn.
    if (auto s = checkMessageSize(*text, maxMessageBytes); !s) return fail(s.error());
    if (i >= active) {
      if (!followUp) {
        if (role != "user") return chatMessageInvalid("the last message must have role `user` or `tool`");
        out.userText = std::move(*text);
        continue;
      }
      ClientToolResult r;
      r.name = std::string(getString(o, "name").value_or(""));
      r.content = std::move(*text);
      if (role == "tool") {
        auto id = getString(o, "tool_call_id");
        if (!id || id->empty()) return chatMessageInvalid("messages with role `tool` must have a `tool_call_id`");
        r.toolCallId = std::string(*id);
      } else if (r.name.empty()) {
        return chatMessageInvalid("messages with role `function` must have a `name`");
      }
      out.results.push_back(std::move(r));
      continue;
    }
    if (role == "system" || role == "developer") {
      out.context.push_back(ChatMessage{"system", std::move(*text), {}, {}});
    } else if (role == "user") {
      out.context.push_back(ChatMessage{"user", std::move(*text), {}, {}});
    } else if (role == "assistant") {
      auto calls = assistantToolCalls(o);
      // A follow-up's own tool-call message: the session's stored answer takes its place.
      if (followUp && i + 1 == active && !calls.empty()) continue;
      out.context.push_back(ChatMessage{"assistant", std::move(*text), std::move(calls), {}});
    } else if (role == "tool") {
      auto id = getString(o, "tool_call_id");
      if (!id || id->empty()) return chatMessageInvalid("messages with role `tool` must have a `tool_call_id`");
      out.context.push_back(ChatMessage{"tool", std::move(*text), {}, std::string(*id)});
    } else if (role == "function") {
      // A legacy result in the history: its call had no id, so it is kept as the conversation's text.
      std::string name(getString(o, "name").value_or(""));
      out.context.push_back(ChatMessage{"user", "Tool " + name + " returned: " + *text, {}, {}});
    } else {
      return fail(notSupportedYet("messages with role `" + role + "`"));
    }
  }
  return out;
}

bool toolChoiceSatisfied(const ChatToolChoice& choice, const std::vector<ToolCall>& pending) {
  switch (choice.kind) {
    case ChatToolChoice::Kind::kRequired:
      return !pending.empty();
    case ChatToolChoice::Kind::kFunction:
      return std::any_of(pending.begin(), pending.end(), [&](const ToolCall& c) { return c.name == choice.name; });
    default:
      return true;
  }
}

std::string unsatisfiedToolChoiceMessage(const ChatToolChoice& choice) {
  if (choice.kind == ChatToolChoice::Kind::kFunction) {
    return "tool_choice required a " + choice.name + " tool call, but the agent did not produce one";
  }
  return "tool_choice=required was not satisfied by the agent response";
}

json::array toolCallsMessageJson(const std::vector<ToolCall>& calls) {
  json::array out;
  for (const auto& c : calls) {
    out.push_back(json::object{{"id", c.id},
                               {"type", "function"},
                               {"function", json::object{{"name", c.name}, {"arguments", c.argumentsJson}}}});
  }
  return out;
}

std::vector<json::object> toolCallDeltas(const std::vector<ToolCall>& calls, std::size_t fragmentBytes) {
  std::vector<json::object> out;
  if (fragmentBytes == 0) fragmentBytes = 256;
  for (std::size_t index = 0; index < calls.size(); ++index) {
    const auto& c = calls[index];
    const auto i = static_cast<int64_t>(index);
    out.push_back(json::object{
        {"tool_calls", json::array{json::object{{"index", i},
                                                {"id", c.id},
                                                {"type", "function"},
                                                {"function", json::object{{"name", c.name}, {"arguments", ""}}}}}}});
    const std::string& args = c.argumentsJson;
    std::size_t start = 0;
    do {
      std::size_t end = std::min(start + fragmentBytes, args.size());
      // Never split a UTF-8 sequence: back off over continuation bytes (10xxxxxx).
      while (end < args.size() && end > start && (static_cast<unsigned char>(args[end]) & 0xC0) == 0x80) --end;
      if (end == start) end = std::min(start + fragmentBytes, args.size());
      out.push_back(json::object{
          {"tool_calls",
           json::array{json::object{{"index", i},
                                    {"function", json::object{{"arguments", args.substr(start, end - start)}}}}}}});
      start = end;
    } while (start < args.size());
  }
  return out;
}

}  // namespace talon::gateway::http
