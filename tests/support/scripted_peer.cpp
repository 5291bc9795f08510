#include "support/scripted_peer.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <mutex>
#include <thread>

namespace talon::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 529:
      return "Site Overloaded";
    default:
      return "Status";
  }
}

}  // namespace

PeerReply PeerReply::whole(int status, std::string body, std::string contentType, net::Headers headers) {
  PeerReply r;
  r.status = status;
  r.contentType = std::move(contentType);
  r.headers = std::move(headers);
  r.pieces.push_back(std::move(body));
  r.chunked = false;
  return r;
}

std::string PeerRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreCase(k, name)) return v;
  }
  return {};
}

struct ScriptedPeer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<PeerReply> replies;
  std::function<PeerReply(const PeerRequest&)> responder;  // when set, instead of `replies`
  std::thread acceptThread;

  mutable std::mutex mu;
  std::vector<PeerRequest> seen;                   // guarded by mu
  std::size_t next = 0;                            // guarded by mu
  std::vector<std::shared_ptr<tcp::socket>> open;  // guarded by mu
  std::vector<std::thread> threads;                // guarded by mu
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> accepted{0};

  PeerReply take(const PeerRequest& request) {
    if (responder) return responder(request);
    std::lock_guard lock(mu);
    if (replies.empty()) return PeerReply::whole(500, R"({"error":"empty script"})");
    return replies[std::min(next++, replies.size() - 1)];
  }

  void acceptLoop() {
    while (!stopping) {
      auto socket = std::make_shared<tcp::socket>(io);
      boost::system::error_code ec;
      acceptor.accept(*socket, ec);
      if (ec || stopping) return;
      uint64_t number = ++accepted;
      std::lock_guard lock(mu);
      open.push_back(socket);
      threads.emplace_back([this, socket, number] { serve(*socket, number); });
    }
  }

  void serve(tcp::socket& socket, uint64_t number) {
    socket.set_option(tcp::no_delay(true));
    asio::streambuf buffer;
    boost::system::error_code ec;
    while (!stopping) {
      std::size_t headEnd = asio::read_until(socket, buffer, "\r\n\r\n", ec);
      if (ec) break;
      std::string head(static_cast<const char*>(buffer.data().data()), headEnd);
      buffer.consume(headEnd);
      PeerRequest request;
      request.connection = number;
      std::size_t lineEnd = head.find("\r\n");
      std::string requestLine = head.substr(0, lineEnd);
      auto sp1 = requestLine.find(' ');
      auto sp2 = requestLine.find(' ', sp1 + 1);
      request.method = requestLine.substr(0, sp1);
      request.target = requestLine.substr(sp1 + 1, sp2 - sp1 - 1);
      std::size_t length = 0;
      for (std::size_t pos = lineEnd + 2; pos < head.size();) {
        std::size_t end = head.find("\r\n", pos);
        if (end == std::string::npos || end == pos) break;
        std::string line = head.substr(pos, end - pos);
        pos = end + 2;
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (equalsIgnoreCase(name, "content-length")) length = std::stoul(value);
        request.headers.emplace_back(std::move(name), std::move(value));
      }
      if (buffer.size() < length) asio::read(socket, buffer, asio::transfer_exactly(length - buffer.size()), ec);
      if (ec) break;
      request.body.assign(static_cast<const char*>(buffer.data().data()), length);
      buffer.consume(length);
      {
        std::lock_guard lock(mu);
        seen.push_back(request);
      }
      PeerReply reply = take(request);
      if (reply.end == PeerReply::End::kCloseWithoutAnswer) break;
      std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\n", reply.status, reasonPhrase(reply.status),
                                    reply.contentType);
      for (const auto& [k, v] : reply.headers) out += k + ": " + v + "\r\n";
      if (reply.chunked) {
        out += "Transfer-Encoding: chunked\r\n\r\n";
        asio::write(socket, asio::buffer(out), ec);
        for (const auto& piece : reply.pieces) {
          if (ec || piece.empty()) continue;
          asio::write(socket, asio::buffer(fmt::format("{:x}\r\n{}\r\n", piece.size(), piece)), ec);
        }
      } else {
        std::string body;
        for (const auto& piece : reply.pieces) body += piece;
        out += fmt::format("Content-Length: {}\r\n\r\n", body.size()) + body;
        asio::write(socket, asio::buffer(out), ec);
      }
      if (ec) break;
      if (reply.end == PeerReply::End::kCut) break;
      if (reply.end == PeerReply::End::kHang) {
        char byte;
        while (!stopping && !ec) socket.read_some(asio::buffer(&byte, 1), ec);  // until the client leaves
        break;
      }
      if (reply.chunked) {
        asio::write(socket, asio::buffer(std::string_view("0\r\n\r\n")), ec);
        if (ec) break;
      }
    }
    socket.shutdown(tcp::socket::shutdown_both, ec);  // closed with its last reference, after the join
  }
};

ScriptedPeer::ScriptedPeer(std::vector<PeerReply> replies) : impl_(std::make_unique<Impl>()) {
  impl_->replies = std::move(replies);
  listen();
}

ScriptedPeer::ScriptedPeer(std::function<PeerReply(const PeerRequest&)> responder, ResponderTag)
    : impl_(std::make_unique<Impl>()) {
  impl_->responder = std::move(responder);
  listen();
}

void ScriptedPeer::listen() {
  impl_->acceptor.open(tcp::v4());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind({asio::ip::make_address("127.0.0.1"), 0});
  impl_->acceptor.listen();
  impl_->acceptThread = std::thread([impl = impl_.get()] { impl->acceptLoop(); });
}

ScriptedPeer::~ScriptedPeer() {
  impl_->stopping = true;
  {  // unblock accept()
    boost::system::error_code ec;
    tcp::socket poke(impl_->io);
    poke.connect(impl_->acceptor.local_endpoint(), ec);
  }
  impl_->acceptThread.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& s : impl_->open) {
      boost::system::error_code ec;
      s->shutdown(tcp::socket::shutdown_both, ec);  // unblocks a read in a serving thread
    }
    threads.swap(impl_->threads);
  }
  for (auto& t : threads) t.join();
}

std::string ScriptedPeer::origin() const {
  return "http://127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port());
}

std::vector<PeerRequest> ScriptedPeer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->seen;
}

uint64_t ScriptedPeer::connections() const { return impl_->accepted; }

}  // namespace talon::testing
