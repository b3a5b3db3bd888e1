#include "pull_progress.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace stack::cli {

using engine::image::PullEvent;

std::string human_size(double bytes, int precision) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (bytes >= 1000.0 && u < 5) {
    bytes /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g%s", precision, bytes, units[u]);
  return buf;
}

ProgressDisplay::Mode ProgressDisplay::mode_for(std::FILE* out, bool quiet) {
  if (quiet) return Mode::kQuiet;
  const char* term = std::getenv("TERM");
  if (::isatty(::fileno(out)) && !(term && std::strcmp(term, "dumb") == 0)) return Mode::kTty;
  return Mode::kPlain;
}

std::string ProgressDisplay::line(const std::string& id, const Layer& l) const {
  std::string short_id = id.substr(id.find(':') + 1, 12);
  std::string s = short_id + ": " + l.status;
  if (l.bar && l.total > 0) {
    constexpr int kWidth = 50;
    int filled = static_cast<int>(kWidth * std::min<uint64_t>(l.current, l.total) / l.total);
    std::string bar = "[" + std::string(filled, '=') + (filled < kWidth ? ">" : "") +
                      std::string(kWidth - filled - (filled < kWidth ? 1 : 0), ' ') + "]";
    s += " " + bar + "  " + human_size(static_cast<double>(l.current)) + "/" +
         human_size(static_cast<double>(l.total));
  } else if (l.bar) {
    s += "  " + human_size(static_cast<double>(l.current));
  }
  return s;
}

void ProgressDisplay::event(const PullEvent& e) {
  if (mode_ == Mode::kQuiet) return;
  using K = PullEvent::Kind;
  if (e.kind == K::kResolved) return;
  bool push = verb_ == Verb::kPush;
  Layer next;
  switch (e.kind) {
    case K::kWaiting: next.status = push ? "Preparing" : "Pulling fs layer"; break;
    case K::kAlreadyExists: next.status = push ? "Layer already exists" : "Already exists"; break;
    case K::kDownloading:
      next.status = push ? "Pushing" : "Downloading";
      next.bar = true;
      break;
    case K::kExtracting: next.status = "Extracting"; break;
    case K::kComplete: next.status = push ? "Pushed" : "Pull complete"; break;
    case K::kFailed: next.status = "Failed"; break;
    case K::kResolved: return;
  }
  next.current = e.current;
  next.total = e.total;
  auto it = layers_.find(e.id);
  bool changed = it == layers_.end() || it->second.status != next.status;
  if (it == layers_.end()) {
    order_.push_back(e.id);
    it = layers_.emplace(e.id, next).first;
  } else {
    // A layer that finished stays finished (a late byte count does not revive its bar).
    if (it->second.status == "Pull complete" || it->second.status == "Pushed") return;
    it->second = next;
  }
  if (mode_ == Mode::kPlain) {
    // Byte counts are for terminals; a log gets the state changes only.
    if (changed) std::fprintf(out_, "%s\n", line(e.id, Layer{next.status}).c_str());
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (changed || now - last_draw_ >= std::chrono::milliseconds(100)) {
    last_draw_ = now;
    redraw();
  }
}

void ProgressDisplay::redraw() {
  std::string buf;
  if (drawn_ > 0) buf += "\x1b[" + std::to_string(drawn_) + "A";
  for (const auto& id : order_) buf += "\x1b[2K" + line(id, layers_[id]) + "\n";
  drawn_ = order_.size();
  std::fwrite(buf.data(), 1, buf.size(), out_);
  std::fflush(out_);
}

void ProgressDisplay::finish() {
  if (mode_ == Mode::kTty && !order_.empty()) redraw();
  std::fflush(out_);
}

}  // namespace stack::cli
