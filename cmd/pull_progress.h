// The progress display of `stack pull` and `stack push`: one line per layer that redraws in place
// on a terminal (Docker's look), a line per state change otherwise, nothing with --quiet.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "stack/engine/image/pull.h"

namespace stack::cli {

class ProgressDisplay final : public engine::image::PullObserver {
 public:
  enum class Mode { kTty, kPlain, kQuiet };
  enum class Verb { kPull, kPush };
  ProgressDisplay(std::FILE* out, Mode mode, Verb verb) : out_(out), mode_(mode), verb_(verb) {}
  // kTty when `out` is a terminal and TERM is not "dumb", else kPlain; kQuiet when quiet.
  static Mode mode_for(std::FILE* out, bool quiet);

  void event(const engine::image::PullEvent& e) override;
  // Draws the final state (a terminal display is throttled to 10 redraws a second).
  void finish();

 private:
  struct Layer {
    std::string status;
    uint64_t current = 0, total = 0;
    bool bar = false;
  };
  std::string line(const std::string& id, const Layer& l) const;
  void redraw();

  std::FILE* out_;
  Mode mode_;
  Verb verb_;
  std::vector<std::string> order_;
  std::map<std::string, Layer> layers_;
  size_t drawn_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

// Docker's human sizes (go-units HumanSizeWithPrecision): decimal units, `precision` significant
// digits; progress bars use 4 ("12.35MB"), `images` uses 3 ("130MB").
std::string human_size(double bytes, int precision = 4);

}  // namespace stack::cli
