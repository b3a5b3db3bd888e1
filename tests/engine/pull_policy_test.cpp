#include <catch2/catch.hpp>

#include "stack/engine/image/pull.h"

using namespace stack::engine::image;
using K = PullPolicy::Kind;

TEST_CASE("pull_policy: the Compose spellings") {
  CHECK(parse_pull_policy("")->kind == K::kMissing);
  CHECK(parse_pull_policy("missing")->kind == K::kMissing);
  CHECK(parse_pull_policy("if_not_present")->kind == K::kMissing);
  CHECK(parse_pull_policy("always")->kind == K::kAlways);
  CHECK(parse_pull_policy("refresh")->kind == K::kAlways);
  CHECK(parse_pull_policy("never")->kind == K::kNever);
  CHECK(parse_pull_policy("build")->kind == K::kBuild);
  CHECK(*parse_pull_policy("daily") == PullPolicy{K::kPeriodic, std::chrono::hours(24)});
  CHECK(*parse_pull_policy("weekly") == PullPolicy{K::kPeriodic, std::chrono::hours(168)});
  CHECK(parse_pull_policy("every_12h")->period == std::chrono::hours(12));
  CHECK(parse_pull_policy("every_1h30m")->period == std::chrono::minutes(90));
  CHECK(parse_pull_policy("every_2w1d")->period == std::chrono::hours(24 * 15));
  CHECK(parse_pull_policy("every_45s")->period == std::chrono::seconds(45));
}

TEST_CASE("pull_policy: bad values are quoted") {
  for (const char* bad : {"every_", "every_12", "every_h", "every_5x", "every_0s", "sometimes",
                          "Always"}) {
    auto r = parse_pull_policy(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().to_string(), Catch::Contains(std::string("\"") + bad + "\""));
  }
}

TEST_CASE("pull_policy: the decision") {
  IndexEntry local;
  local.pulled_at_unix = 1000;
  std::optional<IndexEntry> have = local, none;
  auto p = [](const char* s) { return *parse_pull_policy(s); };
  CHECK(decide_pull(p("always"), have, 1001) == PullDecision::kPull);
  CHECK(decide_pull(p("missing"), have, 1001) == PullDecision::kUseLocal);
  CHECK(decide_pull(p("missing"), none, 1001) == PullDecision::kPull);
  CHECK(decide_pull(p("never"), have, 1001) == PullDecision::kUseLocal);
  CHECK(decide_pull(p("never"), none, 1001) == PullDecision::kMissingNever);
  CHECK(decide_pull(p("build"), none, 1001) == PullDecision::kUseLocal);
  CHECK(decide_pull(p("every_1m"), have, 1059) == PullDecision::kUseLocal);
  CHECK(decide_pull(p("every_1m"), have, 1060) == PullDecision::kPull);
  CHECK(decide_pull(p("daily"), have, 1000 + 86399) == PullDecision::kUseLocal);
  CHECK(decide_pull(p("daily"), have, 1000 + 86400) == PullDecision::kPull);
  CHECK(decide_pull(p("daily"), none, 0) == PullDecision::kPull);
}
