// The progress display of `stack pull` / `push`: Docker's lines on a terminal, state changes
// only in a log, nothing with -q.
#include <stdio.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "pull_progress.h"

using stack::cli::human_size;
using stack::cli::ProgressDisplay;
using stack::engine::image::PullEvent;
using K = PullEvent::Kind;

namespace {

// Runs `events` through a display writing into memory; returns what it wrote.
std::string render(ProgressDisplay::Mode mode, ProgressDisplay::Verb verb,
                   const std::vector<PullEvent>& events) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* out = ::open_memstream(&buf, &len);
  REQUIRE(out != nullptr);
  {
    ProgressDisplay d(out, mode, verb);
    for (const auto& e : events) d.event(e);
    d.finish();
  }
  std::fclose(out);
  std::string s(buf, len);
  std::free(buf);
  return s;
}

const std::string kA = "sha256:aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111";
const std::string kB = "sha256:bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222";

}  // namespace

TEST_CASE("progress: Docker's human sizes") {
  CHECK(human_size(0) == "0B");
  CHECK(human_size(512) == "512B");
  CHECK(human_size(1500) == "1.5kB");
  CHECK(human_size(12'345'678) == "12.35MB");
  CHECK(human_size(130'012'345, 3) == "130MB");
  CHECK(human_size(2.5e9) == "2.5GB");
}

TEST_CASE("progress: a log gets one line per layer state change, no bars") {
  std::string out = render(ProgressDisplay::Mode::kPlain, ProgressDisplay::Verb::kPull,
                           {{K::kResolved, "sha256:ffff", 0, 0},
                            {K::kWaiting, kA, 0, 100},
                            {K::kAlreadyExists, kB, 0, 0},
                            {K::kDownloading, kA, 10, 100},
                            {K::kDownloading, kA, 60, 100},
                            {K::kExtracting, kA, 0, 0},
                            {K::kComplete, kA, 0, 0}});
  CHECK(out ==
        "aaaaaaaaaaaa: Pulling fs layer\n"
        "bbbbbbbbbbbb: Already exists\n"
        "aaaaaaaaaaaa: Downloading\n"
        "aaaaaaaaaaaa: Extracting\n"
        "aaaaaaaaaaaa: Pull complete\n");
}

TEST_CASE("progress: a terminal gets lines redrawn in place with a bar") {
  std::string out = render(ProgressDisplay::Mode::kTty, ProgressDisplay::Verb::kPull,
                           {{K::kWaiting, kA, 0, 100'000'000},
                            {K::kWaiting, kB, 0, 2'000},
                            {K::kDownloading, kA, 50'000'000, 100'000'000}});
  // First draw: two lines; the state change of A redraws both after moving up two lines.
  const std::string bar = "[" + std::string(25, '=') + ">" + std::string(24, ' ') + "]";
  CHECK(out.find("\x1b[2Kaaaaaaaaaaaa: Pulling fs layer\n") == 0);
  CHECK(out.find("\x1b[2A\x1b[2Kaaaaaaaaaaaa: Downloading " + bar + "  50MB/100MB\n"
                 "\x1b[2Kbbbbbbbbbbbb: Pulling fs layer\n") != std::string::npos);
}

TEST_CASE("progress: a finished layer stays finished, push words, quiet prints nothing") {
  std::string out = render(ProgressDisplay::Mode::kPlain, ProgressDisplay::Verb::kPush,
                           {{K::kWaiting, kA, 0, 10},
                            {K::kDownloading, kA, 10, 10},
                            {K::kComplete, kA, 10, 10},
                            {K::kDownloading, kA, 10, 10},
                            {K::kAlreadyExists, kB, 0, 0}});
  CHECK(out ==
        "aaaaaaaaaaaa: Preparing\n"
        "aaaaaaaaaaaa: Pushing\n"
        "aaaaaaaaaaaa: Pushed\n"
        "bbbbbbbbbbbb: Layer already exists\n");
  CHECK(render(ProgressDisplay::Mode::kQuiet, ProgressDisplay::Verb::kPull,
               {{K::kWaiting, kA, 0, 10}, {K::kComplete, kA, 0, 0}})
            .empty());
}
