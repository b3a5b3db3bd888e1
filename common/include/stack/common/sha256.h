// SHA-256 through OpenSSL (its one-shot SHA256(), see sha256.cpp for why not EVP).
#pragma once

#include <string>
#include <string_view>

namespace stack {

// Lower-case hex digest of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace stack
