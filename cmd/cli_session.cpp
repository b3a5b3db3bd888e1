// Sessions, Ctrl-C and the progress display of the project verbs (cli_session.h).
#include "cli_session.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "stack/compose/loader.h"

namespace stack::cli {

int report(const Error& e) {
  std::fprintf(stderr, "stack: %s\n", e.to_string().c_str());
  return 1;
}

std::unique_ptr<Session> open_session(const GlobalOptions& g, const ImageGlobals& ig,
                                      const std::vector<std::string>& services, bool need_file) {
  auto s = std::make_unique<Session>();
  compose::LoadOptions lo = load_options(g);
  lo.services = services;
  std::vector<std::string> warnings;
  lo.warnings = &warnings;
  auto loaded = compose::load(lo, compose::RealFileSource());
  for (const auto& w : warnings) std::fprintf(stderr, "WARN[0000] %s\n", w.c_str());
  if (loaded.ok()) {
    s->project = std::move(*loaded);
    s->project_name = s->project->name;
  } else if (!need_file && !g.project_name.empty() && g.files.empty() &&
             loaded.error().code == ENOENT &&
             loaded.error().message.rfind("no configuration file", 0) == 0) {
    s->project_name = g.project_name;
  } else {
    std::fprintf(stderr, "%s\n", loaded.error().to_string().c_str());
    return nullptr;
  }
  s->root = state_root(ig.root);
  engine::LocalHostOptions ho;
  ho.root = s->root;
  auto host = engine::LocalHost::open(ho, s->sys);
  if (!host.ok()) {
    report(host.error());
    return nullptr;
  }
  s->host = std::move(*host);
  return s;
}

// ---- signals ----

SignalWatcher::SignalWatcher(engine::CancelToken& token) : token_(token) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &set, &saved_mask_);
  thread_ = std::thread([this, set] {
    struct timespec tick = {0, 100 * 1000 * 1000};
    while (!stop_.load()) {
      // The destructor wakes this wait with a thread-directed SIGTERM after setting stop_.
      if (::sigtimedwait(&set, nullptr, &tick) > 0 && !stop_.load()) {
        if (count_.fetch_add(1) == 0) std::fprintf(stderr, "Gracefully stopping... (press Ctrl+C again to force)\n");
        token_.cancel();
      }
    }
  });
}

SignalWatcher::~SignalWatcher() {
  stop_.store(true);
  ::pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
  ::pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
}

// ---- progress ----

std::string progress_subject(const engine::Node& node) {
  std::string id = node.resource.substr(node.resource.find(':') + 1);
  // A replacement is created under "<12 hex>_<name>"; Compose shows it under its final name.
  if (node.op == engine::Op::kCreate && node.details.count("replaces") && id.size() > 13 &&
      id[12] == '_')
    id = id.substr(13);
  switch (node.op) {
    case engine::Op::kCreateNetwork:
    case engine::Op::kRemoveNetwork:
      return "Network " + id;
    case engine::Op::kCreateVolume:
    case engine::Op::kRemoveVolume:
      return "Volume \"" + id + "\"";
    case engine::Op::kWaitHealthy:
    case engine::Op::kWaitCompleted:
      return "Service " + id;
    default:
      return "Container " + id;
  }
}

std::pair<std::string, std::string> progress_words(const engine::Node& node) {
  switch (node.op) {
    case engine::Op::kCreateNetwork:
    case engine::Op::kCreateVolume:
      return {"Creating", "Created"};
    case engine::Op::kCreate:
      if (node.details.count("replaces")) return {"Recreate", "Recreated"};
      return {"Creating", "Created"};
    case engine::Op::kStart:
      return {"Starting", "Started"};
    case engine::Op::kStop:
      return {"Stopping", "Stopped"};
    case engine::Op::kRemove:
    case engine::Op::kRemoveNetwork:
    case engine::Op::kRemoveVolume:
      return {"Removing", "Removed"};
    case engine::Op::kRename:
      return {"Renaming", "Renamed"};
    case engine::Op::kWaitHealthy:
      return {"Waiting", "Healthy"};
    case engine::Op::kWaitCompleted:
      return {"Waiting", "Exited"};
  }
  return {"", ""};
}

ProgressObserver::ProgressObserver(FILE* out, bool tty, std::string title)
    : out_(out), tty_(tty), title_(std::move(title)) {}

void ProgressObserver::event(const engine::ExecEvent& e) {
  const engine::Node& node = *e.node;
  // A rename finishes a recreate: the line of the container under its final name says so.
  if (node.op == engine::Op::kRename) return;
  std::string subject = progress_subject(node);
  auto [doing, done] = progress_words(node);
  std::string state;
  Line& line = lines_[subject];
  if (line.text.empty()) order_.push_back(subject);
  line.text = subject;
  switch (e.kind) {
    case engine::ExecEvent::Kind::kStarted:
      state = doing;
      break;
    case engine::ExecEvent::Kind::kDone:
      state = done;
      line.done = true;
      break;
    case engine::ExecEvent::Kind::kFailed:
      state = "Error";
      line.failed = line.done = true;
      break;
    case engine::ExecEvent::Kind::kSkipped:
      state = "Skipped";
      line.done = true;
      break;
    case engine::ExecEvent::Kind::kCancelled:
      state = "Canceled";
      line.done = true;
      break;
  }
  if (line.state == state) return;  // e.g. the create and the start of one skipped container
  line.state = state;
  line.seconds = static_cast<double>(e.elapsed.count()) / 1000.0;
  if (tty_) {
    draw();
  } else {
    std::fprintf(out_, " %s  %s\n", subject.c_str(), state.c_str());
    std::fflush(out_);
  }
}

void ProgressObserver::draw() {
  if (drawn_ > 0) std::fprintf(out_, "\033[%dA", drawn_);
  size_t width = 0;
  int finished = 0;
  for (const auto& [k, l] : lines_) {
    width = std::max(width, l.text.size());
    finished += l.done ? 1 : 0;
  }
  std::fprintf(out_, "\033[2K[+] %s %d/%zu\n", title_.c_str(), finished, lines_.size());
  for (const auto& key : order_) {
    const Line& l = lines_[key];
    const char* mark = l.failed ? "\033[31m✘\033[0m" : l.done ? "\033[32m✔\033[0m" : " ";
    std::fprintf(out_, "\033[2K %s %-*s  %-10s %.1fs\n", mark, static_cast<int>(width),
                 l.text.c_str(), l.state.c_str(), l.seconds);
  }
  drawn_ = static_cast<int>(order_.size()) + 1;
  std::fflush(out_);
}

void ProgressObserver::finish() {
  if (tty_ && !lines_.empty()) draw();
}

int execute_plan(const engine::Plan& plan, engine::NodeRunner& runner, const char* title) {
  engine::CancelToken cancel;
  SignalWatcher signals(cancel);
  ProgressObserver progress(stderr, ::isatty(2) != 0, title);
  engine::ExecOptions eo;
  eo.observer = &progress;
  eo.cancel = &cancel;
  auto result = engine::execute(plan, runner, eo);
  progress.finish();
  if (!result.ok()) return report(result.error());
  // The host's errors already name the container, volume or service.
  for (const auto& [id, err] : result->errors) report(err);
  if (!result->cancelled.empty()) return 130;
  return result->ok() ? 0 : 1;
}

}  // namespace stack::cli
