// The plan executor: a scheduler loop on the calling thread and one thread per running node.
// State lives under one mutex; observer calls go through a second one so that an observer may
// cancel (the cancel callback takes the state mutex) without deadlocking.
#include "stack/engine/execute.h"

#include <algorithm>
#include <exception>
#include <set>
#include <string>
#include <thread>

namespace stack::engine {

void CancelToken::cancel() {
  std::lock_guard lock(mu_);
  if (flag_.exchange(true, std::memory_order_acq_rel)) return;
  cv_.notify_all();
  // Under mu_, so that unsubscribe() returning means the callback is not running.
  for (auto& [id, fn] : callbacks_) fn();
}

bool CancelToken::wait_for(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return cancelled(); });
}

int CancelToken::subscribe(std::function<void()> fn) {
  std::unique_lock lock(mu_);
  if (cancelled()) {
    lock.unlock();
    fn();
    return 0;
  }
  int id = next_id_++;
  callbacks_.emplace(id, std::move(fn));
  return id;
}

void CancelToken::unsubscribe(int id) {
  std::lock_guard lock(mu_);
  callbacks_.erase(id);
}

const char* to_string(ExecEvent::Kind kind) {
  switch (kind) {
    case ExecEvent::Kind::kStarted: return "started";
    case ExecEvent::Kind::kDone: return "done";
    case ExecEvent::Kind::kFailed: return "failed";
    case ExecEvent::Kind::kSkipped: return "skipped";
    case ExecEvent::Kind::kCancelled: return "cancelled";
  }
  return "?";
}

namespace {

enum class State { kPending, kRunning, kDone, kFailed, kSkipped, kCancelled };

class Executor {
 public:
  Executor(const Plan& plan, NodeRunner& runner, const ExecOptions& options)
      : plan_(plan), runner_(runner), options_(options),
        token_(options.cancel ? *options.cancel : own_token_),
        max_parallel_(std::max<size_t>(1, options.max_parallel)) {}

  ExecResult run() {
    index();
    int sub = token_.subscribe([this] {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    });
    schedule();
    for (auto& t : threads_) t.join();
    token_.unsubscribe(sub);
    return collect();
  }

 private:
  struct Slot {
    const Node* node = nullptr;
    State state = State::kPending;
    size_t waiting = 0;       // deps not yet done
    std::vector<int> users;  // nodes that depend on this one
  };

  void index() {
    for (const Node& n : plan_.nodes()) slots_[n.id].node = &n;
    for (const Node& n : plan_.nodes()) {
      // Duplicate deps are collapsed so the countdown matches the distinct deps.
      std::set<int> deps(n.deps.begin(), n.deps.end());
      slots_[n.id].waiting = deps.size();
      for (int d : deps) slots_[d].users.push_back(n.id);
      if (deps.empty()) ready_.insert(n.id);
    }
  }

  // The scheduler: starts ready nodes while allowed, sleeps until a node finishes or cancel.
  void schedule() {
    std::unique_lock lock(mu_);
    for (;;) {
      std::vector<int> starting;
      while (!token_.cancelled() && !ready_.empty() && running_ < max_parallel_) {
        int id = *ready_.begin();
        ready_.erase(ready_.begin());
        slots_[id].state = State::kRunning;
        ++running_;
        starting.push_back(id);
      }
      if (!starting.empty()) {
        lock.unlock();
        for (int id : starting) launch(id);
        lock.lock();
        continue;
      }
      if (running_ == 0 && (ready_.empty() || token_.cancelled())) break;
      cv_.wait(lock);
    }
    // Whatever never started and was not skipped was stopped by the cancel.
    std::vector<const Node*> cancelled;
    for (auto& [id, slot] : slots_) {
      if (slot.state != State::kPending) continue;
      slot.state = State::kCancelled;
      cancelled.push_back(slot.node);
    }
    lock.unlock();
    for (const Node* n : cancelled) emit({ExecEvent::Kind::kCancelled, n, {}, {}, 0});
  }

  void launch(int id) {
    const Node* node = slots_.at(id).node;  // the map's shape is fixed: safe without mu_
    emit({ExecEvent::Kind::kStarted, node, {}, {}, 0});
    try {
      threads_.emplace_back([this, node] { work(node); });
    } catch (const std::exception& e) {
      // No thread left to run it: the node fails like any other, its dependents are skipped.
      finish(node, Error(EAGAIN, std::string("cannot start a thread: ") + e.what()), {});
    }
  }

  void work(const Node* node) {
    auto begin = std::chrono::steady_clock::now();
    Status status;
    try {
      status = runner_.run(*node, token_);
    } catch (const std::exception& e) {
      status = Error(EIO, std::string("runner threw: ") + e.what());
    } catch (...) {
      status = Error(EIO, "runner threw");
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - begin);
    finish(node, status, elapsed);
  }

  void finish(const Node* node, const Status& status, std::chrono::milliseconds elapsed) {
    // The outcome is emitted before the state changes, so a dependent's kStarted (and any
    // skip caused by this failure) always comes after it.
    if (status.ok()) {
      emit({ExecEvent::Kind::kDone, node, {}, elapsed, 0});
    } else {
      emit({ExecEvent::Kind::kFailed, node, status.error(), elapsed, 0});
    }
    std::vector<const Node*> skipped;
    {
      std::lock_guard lock(mu_);
      Slot& slot = slots_.at(node->id);
      if (status.ok()) {
        slot.state = State::kDone;
        for (int u : slot.users) {
          if (--slots_.at(u).waiting == 0 && slots_.at(u).state == State::kPending) {
            ready_.insert(u);
          }
        }
      } else {
        slot.state = State::kFailed;
        errors_.emplace(node->id, status.error());
        skip_dependents(node->id, skipped);
      }
    }
    // Before running_ drops, so the scheduler cannot finish (and cancel) ahead of these.
    for (const Node* n : skipped) emit({ExecEvent::Kind::kSkipped, n, {}, {}, node->id});
    std::lock_guard lock(mu_);
    --running_;
    cv_.notify_all();
  }

  // Marks every pending transitive dependent of `failed` skipped (ascending id). Holds mu_.
  void skip_dependents(int failed, std::vector<const Node*>& out) {
    std::set<int> seen;
    std::vector<int> stack{failed};
    while (!stack.empty()) {
      int id = stack.back();
      stack.pop_back();
      for (int u : slots_.at(id).users) {
        if (!seen.insert(u).second) continue;
        Slot& s = slots_.at(u);
        // Already skipped by another failure: its own dependents were handled then.
        if (s.state != State::kPending) continue;
        stack.push_back(u);
      }
    }
    for (int id : seen) {
      Slot& s = slots_.at(id);
      if (s.state != State::kPending) continue;
      s.state = State::kSkipped;
      ready_.erase(id);
      out.push_back(s.node);
    }
  }

  void emit(ExecEvent event) {
    if (!options_.observer) return;
    std::lock_guard lock(events_mu_);
    options_.observer->event(event);
  }

  ExecResult collect() {
    ExecResult r;
    for (auto& [id, slot] : slots_) {  // std::map: ascending ids
      switch (slot.state) {
        case State::kDone: r.done.push_back(id); break;
        case State::kFailed: r.failed.push_back(id); break;
        case State::kSkipped: r.skipped.push_back(id); break;
        case State::kCancelled: r.cancelled.push_back(id); break;
        case State::kPending:
        case State::kRunning: r.cancelled.push_back(id); break;  // unreachable on a valid plan
      }
    }
    r.errors = std::move(errors_);
    return r;
  }

  const Plan& plan_;
  NodeRunner& runner_;
  const ExecOptions& options_;
  CancelToken own_token_;
  CancelToken& token_;
  const size_t max_parallel_;

  std::mutex mu_;  // guards everything below but threads_ (scheduler thread only)
  std::condition_variable cv_;
  std::map<int, Slot> slots_;
  std::set<int> ready_;  // pending nodes whose deps are all done
  size_t running_ = 0;
  std::map<int, Error> errors_;
  std::vector<std::thread> threads_;

  std::mutex events_mu_;  // serializes observer calls
};

}  // namespace

Result<ExecResult> execute(const Plan& plan, NodeRunner& runner, const ExecOptions& options) {
  STACK_TRY_VOID(plan.validate());
  Executor executor(plan, runner, options);
  return executor.run();
}

}  // namespace stack::engine
