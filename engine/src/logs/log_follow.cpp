// follow(): pump on inotify events in the sources' directories rather than polling the files;
// a poll_ms timer only re-discovers sources and checks done().
#include <poll.h>
#include <sys/inotify.h>
#include <time.h>

#include <algorithm>
#include <map>

#include "stack/common/log.h"
#include "stack/common/unique_fd.h"
#include "stack/engine/logs.h"

namespace stack::engine {
namespace {

int64_t monotonic_ms() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Watches the directories (not the files: log.json is replaced on rotation and may not exist
// yet) for writes, creations and renames.
class DirWatcher {
 public:
  DirWatcher() : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (!fd_) log::warn(errno_error("inotify_init1").to_string() + "; polling logs instead");
  }
  int fd() const { return fd_.get(); }

  // Watches exactly `dirs`; a directory that does not exist yet is tried again next time.
  void update(const std::vector<std::string>& dirs) {
    if (!fd_) return;
    for (auto it = watches_.begin(); it != watches_.end();) {
      if (std::find(dirs.begin(), dirs.end(), it->first) == dirs.end()) {
        ::inotify_rm_watch(fd_.get(), it->second);  // EINVAL once the directory is gone: fine
        it = watches_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& dir : dirs) {
      if (watches_.count(dir)) continue;
      constexpr uint32_t kMask =
          IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE;
      const int wd = ::inotify_add_watch(fd_.get(), dir.c_str(), kMask);
      if (wd >= 0) watches_[dir] = wd;
    }
  }

  // Discards pending events: one pump reads everything they announce.
  void drain() {
    alignas(struct inotify_event) char buf[16 * 1024];
    while (::read(fd_.get(), buf, sizeof buf) > 0) {
    }
  }

 private:
  UniqueFd fd_;
  std::map<std::string, int> watches_;
};

}  // namespace

Status follow(LogPrinter& printer, std::function<std::vector<LogSource>()> discover,
              std::function<bool()> done, int poll_ms) {
  if (poll_ms <= 0) poll_ms = 1;
  DirWatcher watcher;
  int64_t next_tick = monotonic_ms();
  for (;;) {
    const int64_t now = monotonic_ms();
    if (now >= next_tick) {
      if (discover) printer.set_sources(discover());
      next_tick = now + poll_ms;
    }
    // Watch before reading: a write after the pump then always wakes the poll below.
    watcher.update(printer.watch_dirs());
    if (done && done()) return printer.pump();
    STACK_TRY_VOID(printer.pump());
    const int timeout = static_cast<int>(std::max<int64_t>(0, next_tick - monotonic_ms()));
    if (watcher.fd() < 0) {
      struct timespec ts {timeout / 1000, (timeout % 1000) * 1000000L};
      ::nanosleep(&ts, nullptr);
      continue;
    }
    struct pollfd pfd {watcher.fd(), POLLIN, 0};
    const int n = ::poll(&pfd, 1, timeout);
    if (n < 0 && errno != EINTR) return errno_error("waiting for log changes");
    if (n > 0) watcher.drain();
  }
}

}  // namespace stack::engine
