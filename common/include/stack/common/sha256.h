// SHA-256 through OpenSSL (its low-level SHA256_* functions; sha256.cpp says why not EVP).
#pragma once

#include <string>
#include <cstddef>
#include <string_view>

namespace stack {

// Lower-case hex digest of `data`.
std::string sha256_hex(std::string_view data);

// Incremental SHA-256 for streams (blobs verified while they download). Not thread-safe.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lower-case hex digest of everything so far; the hasher is finished afterwards.
  std::string hex_digest();

 private:
  struct State;
  State* state_;
};

}  // namespace stack
