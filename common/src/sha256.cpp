#include "stack/common/sha256.h"

// OpenSSL 3 marks SHA256_Init/Update/Final deprecated in favour of EVP, but EVP's first digest
// (and the one-shot SHA256(), which goes through EVP) loads openssl.cnf and initialises
// providers: 1.2 ms and 2.4 MB of RSS per stack-runtime start (measured, docs/benchmarks.md).
// The low-level functions run the same assembly (SHA-NI where present) directly.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace stack {

namespace {

std::string to_hex(const unsigned char* md) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

}  // namespace

struct Sha256::State {
  SHA256_CTX ctx;
};

Sha256::Sha256() : state_(new State) { SHA256_Init(&state_->ctx); }
Sha256::~Sha256() { delete state_; }
void Sha256::update(const void* data, size_t size) { SHA256_Update(&state_->ctx, data, size); }
std::string Sha256::hex_digest() {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_Final(md, &state_->ctx);
  return to_hex(md);
}

std::string sha256_hex(std::string_view data) {
  Sha256 hasher;
  hasher.update(data);
  return hasher.hex_digest();
}

}  // namespace stack
