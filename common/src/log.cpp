#include "stack/common/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace stack::log {
namespace {

Level level_from_env() {
  const char* v = std::getenv("STACK_LOG_LEVEL");
  if (v == nullptr) return Level::kWarn;
  std::string s(v);
  if (s == "debug") return Level::kDebug;
  if (s == "info") return Level::kInfo;
  if (s == "error") return Level::kError;
  return Level::kWarn;
}

std::atomic<int>& threshold() {
  static std::atomic<int> t{static_cast<int>(level_from_env())};
  return t;
}

std::mutex& out_mutex() {
  static std::mutex m;
  return m;
}

const char* name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
  }
  return "?";
}

}  // namespace

void set_level(Level l) { threshold().store(static_cast<int>(l)); }
Level level() { return static_cast<Level>(threshold().load()); }

void write(Level l, std::string_view message) {
  if (static_cast<int>(l) < threshold().load()) return;
  std::lock_guard<std::mutex> lock(out_mutex());
  std::fprintf(stderr, "stack: %s: %.*s\n", name(l), static_cast<int>(message.size()), message.data());
}

}  // namespace stack::log
