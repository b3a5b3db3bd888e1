// What the project verbs share: loading the project (or taking only its name), the local host,
// Ctrl-C as a CancelToken, and Compose's progress display for plan execution.
#pragma once

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"
#include "image_cli.h"
#include "stack/common/syscalls.h"
#include "stack/compose/model.h"
#include "stack/engine/execute.h"
#include "stack/engine/local_host.h"

namespace stack::cli {

struct Session {
  RealSyscalls sys;
  std::unique_ptr<engine::LocalHost> host;
  std::optional<compose::Project> project;  // absent: only -p was given and no file was found
  std::string project_name;
  std::string root;
};

// Loads the project (services on the command line enable their profiles) and opens the local
// host. need_file: an error when no Compose file is found; otherwise -p alone is enough.
// Errors are printed; returns nullopt then.
std::unique_ptr<Session> open_session(const GlobalOptions& g, const ImageGlobals& ig,
                                      const std::vector<std::string>& services, bool need_file);

// Prints "stack: <error>" to stderr and returns 1.
int report(const Error& e);

// SIGINT/SIGTERM → token.cancel(), handled on a thread of its own (a signal handler may not
// call cancel()). The signals are blocked in every thread while the watcher lives; count()
// says how many arrived (Compose forces on the second Ctrl-C).
class SignalWatcher {
 public:
  explicit SignalWatcher(engine::CancelToken& token);
  ~SignalWatcher();
  int count() const { return count_.load(); }

 private:
  engine::CancelToken& token_;
  std::atomic<int> count_{0};
  std::atomic<bool> stop_{false};
  sigset_t saved_mask_;  // restored by the destructor (watchers nest: attach, then a stop)
  std::thread thread_;
};

// Compose's progress: on a terminal a redrawn block ("[+] Running 3/3" and one line per
// resource with ✔/✘ and the time taken); otherwise one plain line per change
// (" Container demo-web-1  Started").
class ProgressObserver final : public engine::ExecObserver {
 public:
  ProgressObserver(FILE* out, bool tty, std::string title = "Running");
  void event(const engine::ExecEvent& e) override;
  // Ends the block (the final redraw on a terminal).
  void finish();

 private:
  struct Line {
    std::string text, state;
    bool done = false, failed = false;
    double seconds = 0;
  };
  void draw();
  FILE* out_;
  bool tty_;
  std::string title_;
  std::vector<std::string> order_;
  std::map<std::string, Line> lines_;
  int drawn_ = 0;
};

// " Container demo-web-1" / " Network demo_default" / " Volume demo_data" / " Service db" for a
// node, and the words Compose uses for its op while running and when done.
std::string progress_subject(const engine::Node& node);
std::pair<std::string, std::string> progress_words(const engine::Node& node);

// Runs a plan with the progress display and Ctrl-C; prints each failure. Returns 0 when every
// node succeeded, 1 otherwise (130 when cancelled).
int execute_plan(const engine::Plan& plan, engine::NodeRunner& runner, const char* title);

}  // namespace stack::cli
