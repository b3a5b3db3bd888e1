// The token service of a LocalRegistry in kToken mode (Distribution's token auth spec): one
// thread with a blocking accept loop on 127.0.0.1:<free port>, HTTP/1.1 enough for
//   GET /token?service=<svc>&scope=<scope>[&scope=…]   [Authorization: Basic …]
// one request per connection. Users are checked against the configured list; requested
// repository actions are granted by policy (pull for every known user; push too for can_push
// users; pull only for anonymous requests when anonymous_pull; other actions never). Wrong or
// missing credentials (without anonymous_pull) → 401. The JWT is ES256, signed by a P-256 key
// generated at start, its self-signed certificate in the "x5c" header and written as the
// registry's rootcertbundle.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/registry_fixture.h"

namespace stack::test {

class TokenService {
 public:
  // Generates the key and certificate and starts the thread. Throws std::runtime_error.
  TokenService(std::vector<RegistryUser> users, bool anonymous_pull, int expires_in_s);
  ~TokenService();  // stops and joins the thread
  TokenService(const TokenService&) = delete;
  TokenService& operator=(const TokenService&) = delete;

  std::string realm() const;  // "http://127.0.0.1:PORT/token"
  const std::string& cert_pem() const { return cert_pem_; }
  int requests() const { return requests_.load(); }
  std::vector<TokenRequestRecord> log() const;

  // A signed JWT for `subject` with `access` ("repository:<name>:<a,b>"), no policy applied.
  std::string issue(const std::string& subject, const std::vector<std::string>& access,
                    int expires_in_s) const;

 private:
  struct Key;
  void serve();
  void handle(int fd);

  std::vector<RegistryUser> users_;
  bool anonymous_pull_;
  int expires_in_s_;
  std::unique_ptr<Key> key_;
  std::string cert_pem_;
  std::string cert_der_b64_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: wakes the accept loop on destruction
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::vector<TokenRequestRecord> log_;
};

}  // namespace stack::test
