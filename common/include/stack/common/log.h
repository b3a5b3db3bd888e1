// Minimal leveled logging to stderr. Errors are logged once, where they are handled.
#pragma once

#include <string_view>

namespace stack::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Messages below the threshold are dropped. Default kWarn; STACK_LOG_LEVEL=debug|info|warn|error
// in the environment overrides it at first use. Thread-safe.
void set_level(Level level);
Level level();
void write(Level level, std::string_view message);

inline void debug(std::string_view m) { write(Level::kDebug, m); }
inline void info(std::string_view m) { write(Level::kInfo, m); }
inline void warn(std::string_view m) { write(Level::kWarn, m); }
inline void error(std::string_view m) { write(Level::kError, m); }

}  // namespace stack::log
