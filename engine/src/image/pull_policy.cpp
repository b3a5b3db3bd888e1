// Compose's pull_policy: parsing and the pull-or-not decision.
#include <cctype>

#include "stack/engine/image/pull.h"

namespace stack::engine::image {

namespace {

// every_<n><unit>[<n><unit>…], units w, d, h, m, s: the Compose schema's duration pattern.
Result<std::chrono::seconds> parse_every(std::string_view text, std::string_view whole) {
  auto bad = [&] {
    return Error(EINVAL, "invalid pull policy \"" + std::string(whole) +
                             "\": expected every_<duration> such as every_12h or every_1h30m");
  };
  if (text.empty()) return bad();
  int64_t total = 0;
  while (!text.empty()) {
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == 0 || digits == text.size() || digits > 9) return bad();
    int64_t n = std::stoll(std::string(text.substr(0, digits)));
    int64_t unit;
    switch (text[digits]) {
      case 'w': unit = 7 * 86400; break;
      case 'd': unit = 86400; break;
      case 'h': unit = 3600; break;
      case 'm': unit = 60; break;
      case 's': unit = 1; break;
      default: return bad();
    }
    total += n * unit;
    text.remove_prefix(digits + 1);
  }
  if (total <= 0) return bad();
  return std::chrono::seconds(total);
}

}  // namespace

Result<PullPolicy> parse_pull_policy(std::string_view text) {
  using K = PullPolicy::Kind;
  if (text.empty() || text == "missing" || text == "if_not_present") return PullPolicy{K::kMissing};
  // "refresh" is Compose's newer spelling of always-check-the-registry.
  if (text == "always" || text == "refresh") return PullPolicy{K::kAlways};
  if (text == "never") return PullPolicy{K::kNever};
  if (text == "build") return PullPolicy{K::kBuild};
  if (text == "daily") return PullPolicy{K::kPeriodic, std::chrono::hours(24)};
  if (text == "weekly") return PullPolicy{K::kPeriodic, std::chrono::hours(24 * 7)};
  if (text.rfind("every_", 0) == 0) {
    STACK_TRY(auto period, parse_every(text.substr(6), text));
    return PullPolicy{K::kPeriodic, period};
  }
  return Error(EINVAL, "invalid pull policy \"" + std::string(text) +
                           "\" (expected always, never, missing, build, refresh, daily, weekly or "
                           "every_<duration>)");
}

PullDecision decide_pull(const PullPolicy& policy, const std::optional<IndexEntry>& local,
                         int64_t now_unix) {
  using K = PullPolicy::Kind;
  switch (policy.kind) {
    case K::kAlways: return PullDecision::kPull;
    case K::kNever: return local ? PullDecision::kUseLocal : PullDecision::kMissingNever;
    // The image is built, not pulled; what to do with a missing one is the builder's business.
    case K::kBuild: return PullDecision::kUseLocal;
    case K::kMissing: return local ? PullDecision::kUseLocal : PullDecision::kPull;
    case K::kPeriodic:
      if (!local) return PullDecision::kPull;
      return now_unix - local->pulled_at_unix >= policy.period.count() ? PullDecision::kPull
                                                                     : PullDecision::kUseLocal;
  }
  return PullDecision::kPull;
}

}  // namespace stack::engine::image
