#pragma once
// A local Telegram Bot API server for the Telegram channel's tests. It speaks the Bot API's documented
// wire format (https://core.telegram.org/bots/api, "Making requests"): method URLs
// `<root>/bot<token>/<method>`, parameters as a JSON body (or the query string), answers
// `{"ok":true,"result":…}` and errors `{"ok":false,"error_code":…,"description":…}` with the HTTP status
// equal to error_code and, for 429, `"parameters":{"retry_after":N}`. Methods: getMe, getUpdates (the
// long poll is held until an update is queued or its `timeout` passes; a newer poll ends the older one
// with 409, as Telegram does; 409 while a webhook is set), sendMessage, sendChatAction,
// editMessageText, setWebhook, deleteWebhook. Anything else: 404 "Not Found". A wrong token: 401
// "Unauthorized".
//
// Error injection: failNext() makes the next calls of a method answer with a given error; stop() /
// restart() take the server down (every connection closed, held polls ended) and bring it back on the
// same port with its queue and records intact.
//
// Threads: the server runs on its own I/O thread; every method is thread-safe.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace talon::testing {

struct TelegramBotPeerOptions {
  std::string token = "123456789:AAtestTokenForTalonTelegramChannel0";
  int64_t botId = 123456789;
  std::string botUsername = "talon_test_bot";
};

class TelegramBotPeer {
 public:
  /// Listens on 127.0.0.1, port 0. Errors: as net::Server::create.
  static Result<std::unique_ptr<TelegramBotPeer>> create(TelegramBotPeerOptions options = {});
  /// Stops the server and its thread.
  ~TelegramBotPeer();
  TelegramBotPeer(const TelegramBotPeer&) = delete;
  TelegramBotPeer& operator=(const TelegramBotPeer&) = delete;

  /// "http://127.0.0.1:PORT": the Bot API root to configure as `apiRoot`.
  std::string apiRoot() const;
  const TelegramBotPeerOptions& options() const;

  /// Queues an update carrying `message` (a Bot API Message; `message_id` and `date` are filled when
  /// absent) and answers a held getUpdates. Returns the update_id.
  int64_t pushMessage(json::object message);
  /// A private-chat text message from user `fromId` (chat id = user id).
  int64_t pushPrivateText(int64_t fromId, std::string text);
  /// A group text message (chat `chatId`, type "supergroup"); `entities` as the Bot API gives them.
  int64_t pushGroupText(int64_t chatId, int64_t fromId, std::string text, json::array entities = {},
                        std::optional<int64_t> messageThreadId = std::nullopt, bool forum = false);

  /// The next `count` calls of `method` answer `errorCode` with `description` (and retry_after for 429).
  void failNext(const std::string& method, int errorCode, std::string description, int count = 1,
                std::optional<int64_t> retryAfter = std::nullopt);

  /// Takes the server down: the listener and every connection close; a held poll ends with the
  /// connection (net::Server may answer it 500 as it goes).
  void stop();
  /// Listens again on the same port. Errors: as net::Server::create.
  Status restart();

  /// One call received (also the failed ones).
  struct Call {
    std::string method;
    json::object params;
    int status = 200;       // the HTTP status answered
    bool answered = false;  // false while held (a long poll) or cut before its answer
  };
  /// Every call so far, in arrival order.
  std::vector<Call> calls() const;
  /// The calls of one method.
  std::vector<Call> calls(const std::string& method) const;
  /// Waits until `n` calls of `method` have been answered. False when that has not happened within
  /// `realTimeout` of wall-clock time — a safety net so a broken test fails instead of hanging; no test
  /// outcome depends on it.
  bool waitForCalls(const std::string& method, std::size_t n,
                    std::chrono::milliseconds realTimeout = std::chrono::milliseconds(10'000)) const;
  /// The parameters of every sendMessage answered 200, in order.
  std::vector<json::object> sentMessages() const;
  /// The webhook URL set by setWebhook (empty when none).
  std::string webhookUrl() const;

  struct Impl;

 private:
  explicit TelegramBotPeer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace talon::testing
