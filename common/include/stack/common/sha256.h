// SHA-256 through OpenSSL (its low-level SHA256_* functions; sha256.cpp says why not EVP).
#pragma once

#include <string>
#include <string_view>

namespace stack {

// Lower-case hex digest of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace stack
