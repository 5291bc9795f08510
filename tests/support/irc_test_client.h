#pragma once
// A human on IRC for the IRC channel's tests: a blocking client on a POSIX socket (receive timeout
// 100 ms) that registers, joins, talks and waits for lines, answering the server's PING while it waits.
// Waits are bounded by a 15 s safety net. Thread rules: one test thread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "gateway/channels/irc/irc_protocol.h"

namespace talon::testing {

namespace irc = gateway::channels::irc;
inline constexpr auto kIrcTestSafetyNet = std::chrono::seconds(15);

/// A human on IRC: a blocking client with a receive timeout, answering PING while it waits.
class IrcTestClient {
 public:
  ~IrcTestClient() { close(); }

  /// Connects and registers as `nick`; true once the welcome arrived.
  bool connect(uint16_t port, const std::string& nick) {
    close();
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{0, 100'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
    nick_ = nick;
    send("NICK " + nick);
    send("USER " + nick + " 0 * :Human " + nick);
    return waitFor([](const irc::IrcLine& l) { return l.command == "001"; }).has_value();
  }
  /// Joins `channel`; true once the server confirmed (end of NAMES).
  bool join(const std::string& channel) {
    send("JOIN " + channel);
    return waitFor([](const irc::IrcLine& l) { return l.command == "366"; }).has_value();
  }
  void say(const std::string& target, const std::string& text) { send("PRIVMSG " + target + " :" + text); }
  void send(const std::string& line) {
    const std::string data = line + "\r\n";
    (void)!::write(fd_, data.data(), data.size());
  }
  /// The next line that satisfies `pred` (others are skipped), or nullopt on the safety net or when
  /// the connection ends. `pump` runs while waiting (the gateway's manual executors).
  std::optional<irc::IrcLine> waitFor(const std::function<bool(const irc::IrcLine&)>& pred,
                                      const std::function<void()>& pump = {}) {
    const auto deadline = std::chrono::steady_clock::now() + kIrcTestSafetyNet;
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto nl = buffer_.find("\r\n"); nl != std::string::npos; nl = buffer_.find("\r\n")) {
        std::string raw = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 2);
        auto line = irc::parseIrcLine(raw);
        if (!line) continue;
        if (line->command == "PING") send("PONG :" + (line->params.empty() ? "" : line->params.back()));
        if (pred(*line)) return line;
      }
      if (pump) pump();
      char chunk[4096];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n == 0) return std::nullopt;
      if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    return std::nullopt;
  }
  /// The next PRIVMSG from `from` to this human or `target`, as its text.
  std::optional<std::string> nextPrivmsg(const std::string& from, const std::function<void()>& pump,
                                         std::string target = {}) {
    if (target.empty()) target = nick_;
    auto l = waitFor(
        [&](const irc::IrcLine& l) {
          return l.command == "PRIVMSG" && l.params.size() == 2 && l.params[0] == target &&
                 irc::parseIrcPrefix(l.prefix).nick == from;
        },
        pump);
    if (!l) return std::nullopt;
    return l->params[1];
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

 private:
  int fd_ = -1;
  std::string nick_;
  std::string buffer_;
};

}  // namespace talon::testing
