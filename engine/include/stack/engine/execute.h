// execute: walks a Plan's DAG in parallel and makes no decisions. Every node is handed to a
// NodeRunner that performs it on its host; the executor only orders, limits, skips the
// dependents of failures, honours cancellation and reports typed progress events.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "stack/common/result.h"
#include "stack/engine/plan.h"

namespace stack::engine {

// A cancellation flag shared by the caller, the executor and the runners (Ctrl-C). Thread-safe;
// not async-signal-safe (a signal handler should hand the signal to a thread, e.g. a signalfd,
// that calls cancel()). Never reset: one token per execution.
class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Sets the flag, wakes every wait_for() and runs the subscribed callbacks once. Idempotent.
  void cancel();
  bool cancelled() const { return flag_.load(std::memory_order_acquire); }
  // Sleeps up to `timeout` or until cancel(); true if cancelled. Lets long runner operations
  // (wait_healthy, a stop grace period) return early.
  bool wait_for(std::chrono::milliseconds timeout) const;

  // Runs `fn` on cancel() (in the cancelling thread, at once if already cancelled). `fn` must
  // be short and must not call subscribe/unsubscribe. Returns an id for unsubscribe().
  int subscribe(std::function<void()> fn);
  // Removes a callback; once it returns the callback is not running and will not run.
  void unsubscribe(int id);

 private:
  std::atomic<bool> flag_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<int, std::function<void()>> callbacks_;
  int next_id_ = 1;
};

// Performs one node on its host. Called from several threads at once; must be thread-safe.
// Long operations (wait_healthy, stop with a grace period) should return when `cancel` is set.
// An error return marks the node failed (its dependents are skipped); nothing is retried.
class NodeRunner {
 public:
  virtual ~NodeRunner() = default;
  virtual Status run(const Node& node, const CancelToken& cancel) = 0;
};

// One progress event. For a node that starts: kStarted (before run()), then exactly one of
// kDone / kFailed. For a node that never starts: exactly one kSkipped or kCancelled.
struct ExecEvent {
  enum class Kind { kStarted, kDone, kFailed, kSkipped, kCancelled };
  Kind kind = Kind::kStarted;
  const Node* node = nullptr;  // points into the executed Plan
  Error error;                 // kFailed: the runner's error
  // kDone / kFailed: how long run() took; zero for the other kinds.
  std::chrono::milliseconds elapsed{0};
  int blocked_by = 0;  // kSkipped: the id of the failed node it (transitively) depends on
};

// "started", "done", "failed", "skipped", "cancelled".
const char* to_string(ExecEvent::Kind kind);

// Receives the events; calls are serialized (never two at once) but come from several threads.
// It may call CancelToken::cancel() (e.g. --abort-on-container-exit on a kFailed).
class ExecObserver {
 public:
  virtual ~ExecObserver() = default;
  virtual void event(const ExecEvent& event) = 0;
};

struct ExecOptions {
  size_t max_parallel = 8;           // nodes running at once; 0 is taken as 1
  ExecObserver* observer = nullptr;  // optional
  CancelToken* cancel = nullptr;     // optional; the runners get a never-cancelled one without
};

// What happened to every node; each id is in exactly one list, each list sorted by id.
struct ExecResult {
  std::vector<int> done, failed, skipped, cancelled;
  std::map<int, Error> errors;  // for each failed node, the runner's error
  bool ok() const { return failed.empty() && skipped.empty() && cancelled.empty(); }
};

// Runs the plan: a node starts when all its deps are done, at most max_parallel at once, ready
// nodes in ascending id order. A failure skips every transitive dependent while independent
// nodes go on. After cancel no node starts; running ones finish (they see the token) and the
// rest are cancelled. The error return is only for an invalid plan (Plan::validate's errors);
// failed nodes are reported in the ExecResult. Blocks until every started node has finished.
Result<ExecResult> execute(const Plan& plan, NodeRunner& runner, const ExecOptions& options = {});

}  // namespace stack::engine
