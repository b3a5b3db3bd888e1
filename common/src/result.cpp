#include "stack/common/result.h"

#include <cstring>

namespace stack {

std::string Error::to_string() const {
  std::string out;
  for (auto it = context.rbegin(); it != context.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += message;
  return out;
}

Error errno_error(const std::string& what, int err) {
  return Error(err, what + ": " + std::strerror(err));
}

}  // namespace stack
