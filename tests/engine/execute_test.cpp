// The plan executor: ordering, parallelism, the parallel limit, skipping the dependents of a
// failure, cancellation, and the event stream — against a fake runner that records calls.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "stack/engine/execute.h"

using namespace stack::engine;
using namespace std::chrono_literals;
using stack::Error;
using stack::Status;

namespace {

// A one-shot gate with a timed wait, so that a broken executor fails a test instead of hanging.
class Gate {
 public:
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Records "start N" / "end N"; fails the ids in `fail`; blocks the ids in `block` until the
// token is cancelled (recording "cancelled N"); runs `hook` (if any) in the middle of a node.
class FakeRunner : public NodeRunner {
 public:
  std::set<int> fail, block;
  std::function<Status(const Node&)> hook;
  std::chrono::milliseconds work{0};

  Status run(const Node& node, const CancelToken& cancel) override {
    record("start " + std::to_string(node.id));
    {
      std::lock_guard lock(mu_);
      max_running = std::max(max_running, ++running_);
    }
    Status status;
    if (work.count() > 0) std::this_thread::sleep_for(work);
    if (hook) status = hook(node);
    if (block.count(node.id)) {
      started_blocking.open();
      if (cancel.wait_for(5s)) record("cancelled " + std::to_string(node.id));
    }
    if (fail.count(node.id)) status = Error(EIO, "boom " + std::to_string(node.id));
    {
      std::lock_guard lock(mu_);
      --running_;
    }
    record("end " + std::to_string(node.id));
    return status;
  }

  std::vector<std::string> log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  // Position of an entry in the log; -1 when absent.
  int pos(const std::string& entry) {
    auto l = log();
    auto it = std::find(l.begin(), l.end(), entry);
    return it == l.end() ? -1 : static_cast<int>(it - l.begin());
  }

  Gate started_blocking;
  int max_running = 0;

 private:
  void record(std::string s) {
    std::lock_guard lock(mu_);
    log_.push_back(std::move(s));
  }
  std::mutex mu_;
  std::vector<std::string> log_;
  int running_ = 0;
};

// Renders events one per line: "<kind> <id> [by <n>] [<error>]".
class TextObserver : public ExecObserver {
 public:
  std::string text;
  std::function<void(const ExecEvent&)> also;
  void event(const ExecEvent& e) override {
    text += std::string(to_string(e.kind)) + " " + std::to_string(e.node->id) + " " +
            e.node->resource;
    if (e.kind == ExecEvent::Kind::kSkipped) text += " by " + std::to_string(e.blocked_by);
    if (e.kind == ExecEvent::Kind::kFailed) text += " " + e.error.to_string();
    text += "\n";
    if (also) also(e);
  }
};

int add(Plan& p, std::vector<int> deps = {}) {
  int next = static_cast<int>(p.nodes().size()) + 1;
  return p.add(Op::kStart, "container:c" + std::to_string(next), "local", "stopped",
               std::move(deps));
}

}  // namespace

TEST_CASE("execute: a node starts only after all its deps have ended") {
  Plan p;
  int a = add(p);
  int b = add(p, {a});
  int c = add(p, {a});
  int d = add(p, {b, c});
  FakeRunner r;
  r.work = 5ms;
  auto res = execute(p, r);
  REQUIRE(res.ok());
  CHECK(res->done == std::vector<int>{a, b, c, d});
  CHECK(res->ok());
  CHECK(r.pos("end 1") < r.pos("start 2"));
  CHECK(r.pos("end 1") < r.pos("start 3"));
  CHECK(r.pos("end 2") < r.pos("start 4"));
  CHECK(r.pos("end 3") < r.pos("start 4"));
  CHECK(r.log().size() == 8);
}

TEST_CASE("execute: independent nodes run at the same time") {
  // Each node releases the other's gate and then waits for its own: run one after the other,
  // the first one times out and fails.
  Plan p;
  add(p);
  add(p);
  Gate g1, g2;
  FakeRunner r;
  r.hook = [&](const Node& n) -> Status {
    Gate& mine = n.id == 1 ? g1 : g2;
    Gate& other = n.id == 1 ? g2 : g1;
    other.open();
    if (!mine.wait(5s)) return Error(ETIMEDOUT, "the other node never ran");
    return {};
  };
  auto res = execute(p, r);
  REQUIRE(res.ok());
  CHECK(res->done == std::vector<int>{1, 2});
  CHECK(res->errors.empty());
  CHECK(r.max_running == 2);
}

TEST_CASE("execute: max_parallel 1 runs one node at a time in ascending ready order") {
  Plan p;
  add(p);          // 1
  add(p);          // 2
  int c = add(p);  // 3, waits for 4
  int d = add(p);  // 4
  add(p, {1});     // 5
  p.add_dep(c, d);
  FakeRunner r;
  ExecOptions o;
  o.max_parallel = 1;
  auto res = execute(p, r, o);
  REQUIRE(res.ok());
  CHECK(r.log() == std::vector<std::string>{"start 1", "end 1", "start 2", "end 2", "start 4",
                                            "end 4", "start 3", "end 3", "start 5", "end 5"});
  CHECK(r.max_running == 1);
}

TEST_CASE("execute: at most max_parallel nodes run at once") {
  Plan p;
  for (int i = 0; i < 8; ++i) add(p);
  FakeRunner r;
  r.work = 20ms;
  ExecOptions o;
  o.max_parallel = 3;
  auto res = execute(p, r, o);
  REQUIRE(res.ok());
  CHECK(res->done.size() == 8);
  CHECK(r.max_running <= 3);
  CHECK(r.max_running >= 2);  // and it did run in parallel
}

TEST_CASE("execute: a failure skips exactly its transitive dependents") {
  //   1 → 2 (fails) → 3 → 4        5 independent,  6 after 1 and 5,  7 after 3 and 6
  Plan p;
  int n1 = add(p);
  int n2 = add(p, {n1});
  int n3 = add(p, {n2});
  int n4 = add(p, {n3});
  int n5 = add(p);
  int n6 = add(p, {n1, n5});
  int n7 = add(p, {n3, n6});
  FakeRunner r;
  r.fail = {n2};
  TextObserver obs;
  ExecOptions o;
  o.observer = &obs;
  auto res = execute(p, r, o);
  REQUIRE(res.ok());  // node failures are in the result, not the error return
  CHECK_FALSE(res->ok());
  CHECK(res->done == std::vector<int>{n1, n5, n6});
  CHECK(res->failed == std::vector<int>{n2});
  CHECK(res->skipped == std::vector<int>{n3, n4, n7});
  CHECK(res->cancelled.empty());
  REQUIRE(res->errors.count(n2));
  CHECK(res->errors.at(n2).message == "boom 2");
  CHECK(r.pos("start 3") == -1);
  // Every skip names the failed node, even through an intermediate skipped one.
  CHECK(obs.text.find("skipped 3 container:c3 by 2\n") != std::string::npos);
  CHECK(obs.text.find("skipped 4 container:c4 by 2\n") != std::string::npos);
  CHECK(obs.text.find("skipped 7 container:c7 by 2\n") != std::string::npos);
}

TEST_CASE("execute: cancel stops new starts, the running node sees the token") {
  Plan p;
  int n1 = add(p);
  int n2 = add(p, {n1});
  int n3 = add(p);
  FakeRunner r;
  r.block = {n1};
  CancelToken cancel;
  TextObserver obs;
  ExecOptions o;
  o.max_parallel = 1;  // 3 is ready but waits for a slot
  o.cancel = &cancel;
  o.observer = &obs;
  std::thread ctrl_c([&] {
    if (r.started_blocking.wait(5s)) cancel.cancel();
  });
  auto res = execute(p, r, o);
  ctrl_c.join();
  REQUIRE(res.ok());
  CHECK(r.log() == std::vector<std::string>{"start 1", "cancelled 1", "end 1"});
  CHECK(res->done == std::vector<int>{n1});  // it finished: the runner decides how
  CHECK(res->cancelled == std::vector<int>{n2, n3});
  CHECK(obs.text == "started 1 container:c1\ndone 1 container:c1\n"
                    "cancelled 2 container:c2\ncancelled 3 container:c3\n");
}

TEST_CASE("execute: an observer may cancel from an event (abort on container exit)") {
  Plan p;
  add(p);
  add(p);
  add(p, {2});
  FakeRunner r;
  r.fail = {1};
  CancelToken cancel;
  TextObserver obs;
  obs.also = [&](const ExecEvent& e) {
    if (e.kind == ExecEvent::Kind::kFailed) cancel.cancel();
  };
  ExecOptions o;
  o.max_parallel = 1;
  o.cancel = &cancel;
  o.observer = &obs;
  auto res = execute(p, r, o);
  REQUIRE(res.ok());
  CHECK(res->failed == std::vector<int>{1});
  CHECK(res->cancelled == std::vector<int>{2, 3});
  CHECK(r.log() == std::vector<std::string>{"start 1", "end 1"});
}

TEST_CASE("execute: an already cancelled token starts nothing") {
  Plan p;
  add(p);
  add(p, {1});
  FakeRunner r;
  CancelToken cancel;
  cancel.cancel();
  ExecOptions o;
  o.cancel = &cancel;
  auto res = execute(p, r, o);
  REQUIRE(res.ok());
  CHECK(res->cancelled == std::vector<int>{1, 2});
  CHECK(r.log().empty());
}

TEST_CASE("execute: an invalid plan is the error return and runs nothing") {
  Plan p;
  int a = add(p);
  int b = add(p, {a});
  p.add_dep(a, b);
  FakeRunner r;
  auto res = execute(p, r);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().to_string().find("cycle") != std::string::npos);
  CHECK(r.log().empty());

  Plan q;
  add(q, {9});
  auto res2 = execute(q, r);
  REQUIRE_FALSE(res2.ok());
  CHECK(res2.error().to_string() == "plan: node 1 depends on unknown node 9");
}

TEST_CASE("execute: an empty plan gives an empty result") {
  Plan p;
  FakeRunner r;
  TextObserver obs;
  ExecOptions o;
  o.observer = &obs;
  auto res = execute(p, r, o);
  REQUIRE(res.ok());
  CHECK(res->ok());
  CHECK(res->done.empty());
  CHECK(res->failed.empty());
  CHECK(res->skipped.empty());
  CHECK(res->cancelled.empty());
  CHECK(obs.text.empty());
}

TEST_CASE("execute: the event stream of a small plan") {
  Plan p;
  int net = p.add(Op::kCreateNetwork, "network:app_default", "local", "missing");
  int db = p.add(Op::kCreate, "container:app-db-1", "local", "missing", {net});
  int web = p.add(Op::kCreate, "container:app-web-1", "local", "missing", {db});
  p.add(Op::kStart, "container:app-web-1", "local", "missing", {web});
  p.add(Op::kCreateVolume, "volume:app_data", "local", "missing");
  FakeRunner r;
  r.fail = {db};
  TextObserver obs;
  ExecOptions o;
  o.max_parallel = 1;
  o.observer = &obs;
  auto res = execute(p, r, o);
  REQUIRE(res.ok());
  CHECK("\n" + obs.text == R"(
started 1 network:app_default
done 1 network:app_default
started 2 container:app-db-1
failed 2 container:app-db-1 boom 2
skipped 3 container:app-web-1 by 2
skipped 4 container:app-web-1 by 2
started 5 volume:app_data
done 5 volume:app_data
)");
}

TEST_CASE("execute: CancelToken wait_for returns early on cancel, times out otherwise") {
  CancelToken t;
  CHECK_FALSE(t.wait_for(10ms));
  int calls = 0;
  int id = t.subscribe([&] { ++calls; });
  int gone = t.subscribe([&] { calls += 100; });
  t.unsubscribe(gone);
  std::thread th([&] {
    std::this_thread::sleep_for(20ms);
    t.cancel();
  });
  auto begin = std::chrono::steady_clock::now();
  CHECK(t.wait_for(5s));
  CHECK(std::chrono::steady_clock::now() - begin < 4s);
  th.join();
  t.cancel();  // idempotent: the callback ran once
  CHECK(calls == 1);
  CHECK(t.cancelled());
  t.unsubscribe(id);
  int late = 0;
  t.subscribe([&] { ++late; });  // already cancelled: runs at once
  CHECK(late == 1);
}
