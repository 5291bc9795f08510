#include "gateway/operator_token_watch.h"

#include <spdlog/spdlog.h>

#include <mutex>

namespace talon::gateway {

struct OperatorTokenWatch::State : std::enable_shared_from_this<State> {
  State(store::Store& s, PresenceRegistry& p, security::AuditSink& a, Executors e, ClockPtr c)
      : store(s), presence(p), audit(a), executors(std::move(e)), clock(std::move(c)) {}

  store::Store& store;
  PresenceRegistry& presence;
  security::AuditSink& audit;
  Executors executors;
  ClockPtr clock;

  std::mutex mu;
  bool started = false;
  bool stopped = false;
  TimerHandlePtr timer;

  void schedule() {
    std::lock_guard lock(mu);
    if (stopped) return;
    std::weak_ptr<State> weak = weak_from_this();
    timer = executors.after(std::chrono::milliseconds(kCheckIntervalMs), [weak] {
      auto self = weak.lock();
      if (!self) return;
      self->executors.blocking([weak] {
        if (auto again = weak.lock()) {
          again->check();
          again->schedule();
        }
      });
    });
  }

  std::size_t check() {
    std::size_t closed = 0;
    const int64_t now = clock->nowMs();
    for (const auto& name : presence.operatorTokensInUse()) {
      auto token = store.operatorTokens().find(name);
      if (!token) {
        spdlog::warn("operator token \"{}\" cannot be checked: {}", name, token.error().toString());
        continue;
      }
      if (*token && (*token)->activeAt(now)) continue;
      const std::string reason = !*token                 ? "operator token deleted"
                                 : (*token)->revokedAtMs ? "operator token revoked"
                                                         : "operator token expired";
      const std::size_t n = presence.disconnectOperatorToken(name, kCloseCredentialRevoked, reason);
      if (n == 0) continue;
      closed += n;
      spdlog::info("closed {} connection(s) of operator token \"{}\": {}", n, name, reason);
      security::AuditEvent e;
      e.kind = "connection.close";
      e.actor = "system";
      e.target = "operator-token:" + name;
      e.outcome = security::AuditOutcome::kAllowed;
      e.details = {{"reason", reason},
                   {"connections", static_cast<int64_t>(n)},
                   {"code", static_cast<int64_t>(kCloseCredentialRevoked)}};
      audit.record(std::move(e));
    }
    return closed;
  }
};

OperatorTokenWatch::OperatorTokenWatch(store::Store& store, PresenceRegistry& presence, security::AuditSink& audit,
                                       Executors executors, ClockPtr clock)
    : state_(std::make_shared<State>(store, presence, audit, std::move(executors), std::move(clock))) {}

OperatorTokenWatch::~OperatorTokenWatch() { stop(); }

void OperatorTokenWatch::start() {
  {
    std::lock_guard lock(state_->mu);
    if (state_->started) return;
    state_->started = true;
  }
  state_->schedule();
}

void OperatorTokenWatch::stop() {
  TimerHandlePtr timer;
  {
    std::lock_guard lock(state_->mu);
    state_->stopped = true;
    timer = std::move(state_->timer);
  }
  if (timer) timer->cancel();
}

std::size_t OperatorTokenWatch::checkNow() { return state_->check(); }

}  // namespace talon::gateway
