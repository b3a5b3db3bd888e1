#include "stack/common/sha256.h"

// OpenSSL 3 marks SHA256_Init/Update/Final deprecated in favour of EVP, but EVP's first digest
// (and the one-shot SHA256(), which goes through EVP) loads openssl.cnf and initialises
// providers: 1.2 ms and 2.4 MB of RSS per stack-runtime start (measured, docs/benchmarks.md).
// The low-level functions run the same assembly (SHA-NI where present) directly.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace stack {

std::string sha256_hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(md, &ctx);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char byte : md) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 15]);
  }
  return out;
}

}  // namespace stack
