// The logs family: `logs.tail` over the gateway's JSON-lines log file (OpenClaw 2026.9.6 shape,
// tests/data/wire/res.logs.tail.json).
#include <algorithm>
#include <fstream>

#include "gateway/methods/builtin_methods.h"

namespace talon::gateway::methods {

Status registerLogMethods(MethodRegistry& registry, const GatewayServices& services) {
  return registry.add(
      {"logs.tail",
       protocol::Scope::kRead,
       {{"cursor", ParamType::kInteger}, {"limit", ParamType::kInteger}, {"maxBytes", ParamType::kInteger}},
       [logFile = services.info.logFile, blocking = services.executors.blocking](const MethodCall& call) {
         int64_t limit = std::clamp<int64_t>(intParam(call.params, "limit", 200), 1, 5000);
         int64_t maxBytes = std::clamp<int64_t>(intParam(call.params, "maxBytes", 250000), 1, 1'000'000);
         std::optional<int64_t> cursor = getInt(call.params, "cursor");
         blocking([logFile, call, limit, maxBytes, cursor] {
           const auto& path = logFile;
           if (!path) {
             return call.ok(json::serialize(
                 json::object{{"file", nullptr}, {"cursor", 0}, {"size", 0}, {"lines", json::array{}}}));
           }
           std::ifstream in(*path, std::ios::binary);
           in.seekg(0, std::ios::end);
           int64_t size = in ? static_cast<int64_t>(in.tellg()) : 0;
           bool reset = cursor && *cursor > size;  // the file was rotated or truncated
           int64_t start = (cursor && !reset) ? *cursor : std::max<int64_t>(0, size - maxBytes);
           bool truncated = false;
           if (size - start > maxBytes) {
             start = size - maxBytes;
             truncated = true;
           }
           std::string data(static_cast<std::size_t>(size - start), '\0');
           in.seekg(start);
           in.read(data.data(), static_cast<std::streamsize>(data.size()));
           data.resize(static_cast<std::size_t>(in.gcount()));
           std::vector<std::string_view> lines;
           std::size_t pos = 0;
           bool partialFirst = start > 0 && !cursor;
           while (pos < data.size()) {
             auto nl = data.find('\n', pos);
             if (nl == std::string::npos) break;  // an incomplete last line waits for the next call
             std::string_view line(data.data() + pos, nl - pos);
             if (!partialFirst && !line.empty()) lines.push_back(line);
             partialFirst = false;
             pos = nl + 1;
           }
           int64_t newCursor = start + static_cast<int64_t>(pos);
           if (lines.size() > static_cast<std::size_t>(limit)) {
             lines.erase(lines.begin(), lines.end() - limit);
             truncated = true;
           }
           json::array arr;
           for (auto l : lines) arr.push_back(json::string(l));
           json::object payload{{"file", path->string()}, {"cursor", newCursor}, {"size", size}, {"lines", arr}};
           payload["truncated"] = truncated;  // OpenClaw sends both flags, false included
           payload["reset"] = reset;
           call.ok(json::serialize(payload));
         });
       }});
}

}  // namespace talon::gateway::methods
