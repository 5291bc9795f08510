#include "base/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <ctime>
#include <mutex>

namespace talon {
namespace {

std::optional<std::filesystem::path> gLogFile;

/// Formats a record as one JSON line: {"time":"<ISO-8601 UTC ms>","level":"info","message":"..."}.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[40];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    auto level = spdlog::level::to_string_view(msg.level);
    // Boost.JSON escapes the message (quotes, backslashes, control characters).
    std::string line = fmt::format(
        R"({{"time":"{}.{:03d}Z","level":"{}","message":{}}})", ts, static_cast<int>(ms % 1000),
        std::string_view(level.data(), level.size()),
        boost::json::serialize(boost::json::value(std::string_view(msg.payload.data(), msg.payload.size()))));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLineFormatter>(); }
};

}  // namespace

Status initLogging(const LogOptions& options) {
  auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    return fail(ErrorCode::kInvalidArgument, "unknown log level: " + options.level,
                "unknown log level (expected trace, debug, info, warn, error, critical or off)");
  }
  std::vector<spdlog::sink_ptr> sinks;
  if (options.toStderr) {
    auto err = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    err->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    sinks.push_back(err);
  }
  if (options.file) {
    std::error_code ec;
    std::filesystem::create_directories(options.file->parent_path(), ec);
    if (ec) {
      return fail(ErrorCode::kIo,
                  fmt::format("cannot create the log dir {}: {}", options.file->parent_path().string(), ec.message()));
    }
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file->string(), false);
      file->set_formatter(std::make_unique<JsonLineFormatter>());
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      return fail(ErrorCode::kIo, fmt::format("cannot open log file {}: {}", options.file->string(), e.what()));
    }
    gLogFile = options.file;
  }
  auto logger = std::make_shared<spdlog::logger>("talon", sinks.begin(), sinks.end());
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return {};
}

std::optional<std::filesystem::path> logFilePath() { return gLogFile; }

}  // namespace talon
