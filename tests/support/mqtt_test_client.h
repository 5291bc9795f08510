#pragma once
// A person or device on the MQTT broker, for the MQTT channel's tests: a libmosquitto client (MQTT 5) with
// libmosquitto's own network thread (mosquitto_loop_start), publishing and collecting what arrives on its
// subscriptions. Each wait is bounded by a safety net and runs `pump` (the gateway's manual executors)
// while it waits.
//
// Thread rules: one test thread drives it; libmosquitto's thread only fills the inbox.
#include <mosquitto.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace talon::testing {

class MqttTestClient {
 public:
  struct Message {
    std::string topic;
    std::string payload;
  };

  MqttTestClient() {
    mosquitto_lib_init();
    client_ = mosquitto_new(nullptr, true, this);
    mosquitto_int_option(client_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(client_, [](mosquitto*, void* self, int rc, int, const mosquitto_property*) {
      static_cast<MqttTestClient*>(self)->note([&](MqttTestClient& c) { c.connack_ = rc; });
    });
    mosquitto_subscribe_v5_callback_set(
        client_, [](mosquitto*, void* self, int mid, int, const int*, const mosquitto_property*) {
          static_cast<MqttTestClient*>(self)->note([&](MqttTestClient& c) { c.acked_.push_back(mid); });
        });
    mosquitto_publish_v5_callback_set(client_, [](mosquitto*, void* self, int mid, int, const mosquitto_property*) {
      static_cast<MqttTestClient*>(self)->note([&](MqttTestClient& c) { c.acked_.push_back(mid); });
    });
    mosquitto_message_v5_callback_set(
        client_, [](mosquitto*, void* self, const mosquitto_message* m, const mosquitto_property*) {
          std::string payload(static_cast<const char*>(m->payload), m->payload ? m->payloadlen : 0);
          static_cast<MqttTestClient*>(self)->note([&](MqttTestClient& c) {
            c.inbox_.push_back(Message{m->topic, std::move(payload)});
          });
        });
  }
  ~MqttTestClient() {
    if (started_) {
      mosquitto_disconnect(client_);
      mosquitto_loop_stop(client_, false);
    }
    mosquitto_destroy(client_);
  }
  MqttTestClient(const MqttTestClient&) = delete;
  MqttTestClient& operator=(const MqttTestClient&) = delete;

  /// Connects to 127.0.0.1:`port` and waits for the CONNACK; true when accepted.
  bool connect(uint16_t port) {
    if (mosquitto_connect(client_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) return false;
    if (mosquitto_loop_start(client_) != MOSQ_ERR_SUCCESS) return false;
    started_ = true;
    return waitFor([&] { return connack_.has_value(); }, {}) && *connack_ == 0;
  }
  /// Subscribes to `filter` (QoS 1) and waits for the SUBACK.
  bool subscribe(const std::string& filter) {
    int mid = 0;
    if (mosquitto_subscribe(client_, &mid, filter.c_str(), 1) != MOSQ_ERR_SUCCESS) return false;
    return waitAcked(mid);
  }
  /// Publishes `payload` on `topic` at QoS 1 and waits for the PUBACK.
  bool publish(const std::string& topic, const std::string& payload) {
    int mid = 0;
    if (mosquitto_publish(client_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false) !=
        MOSQ_ERR_SUCCESS) {
      return false;
    }
    return waitAcked(mid);
  }
  /// The next message that arrived on a subscription, waiting (and pumping) up to the safety net.
  std::optional<Message> next(const std::function<void()>& pump) {
    std::optional<Message> out;
    waitFor(
        [&] {
          if (inbox_.empty()) return false;
          out = std::move(inbox_.front());
          inbox_.pop_front();
          return true;
        },
        pump);
    return out;
  }
  /// True when nothing is waiting in the inbox now.
  bool inboxEmpty() {
    std::lock_guard lock(mu_);
    return inbox_.empty();
  }

 private:
  template <class F>
  void note(F&& f) {
    std::lock_guard lock(mu_);
    f(*this);
    cv_.notify_all();
  }
  bool waitAcked(int mid) {
    return waitFor(
        [&] {
          for (auto it = acked_.begin(); it != acked_.end(); ++it) {
            if (*it == mid) {
              acked_.erase(it);
              return true;
            }
          }
          return false;
        },
        {});
  }
  /// Waits until `done()` (checked under the lock) holds, running `pump` between checks; false after 15 s.
  bool waitFor(const std::function<bool()>& done, const std::function<void()>& pump) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (pump) pump();
      std::unique_lock lock(mu_);
      if (done()) return true;
      cv_.wait_for(lock, std::chrono::milliseconds(2));
    }
    std::unique_lock lock(mu_);
    return done();
  }

  mosquitto* client_ = nullptr;
  bool started_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<int> connack_;
  std::deque<int> acked_;
  std::deque<Message> inbox_;
};

}  // namespace talon::testing
