// P-256 keys and X.509 certificates made in memory with OpenSSL for test fixtures: the token
// service's self-signed signer (token_service.h) and the local registry's TLS CA and server
// certificate (registry_fixture.h). Certificates are valid from an hour ago (Go's x509 checks
// the validity period; clocks of child processes may differ by a second) for 7 days.
// Failures throw std::runtime_error (test code only). Not thread-safe per object.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>

namespace stack::test {

// A key pair and its certificate. Move-only; owns the key.
class TestCert {
 public:
  // A self-signed CA: basicConstraints critical CA:TRUE, keyUsage critical digitalSignature
  // and keyCertSign (so that the same certificate can both sign JWTs and be a trust root).
  static TestCert make_ca(const std::string& common_name);
  // A TLS server (leaf) certificate signed by `issuer` (made by make_ca): CA:FALSE, keyUsage
  // digitalSignature, extendedKeyUsage serverAuth, subjectAltName `san` in OpenSSL's config
  // syntax, e.g. "IP:127.0.0.1,DNS:localhost".
  static TestCert make_server(const std::string& common_name, const std::string& san,
                              const TestCert& issuer);

  TestCert(TestCert&&) noexcept;
  TestCert& operator=(TestCert&&) noexcept;
  ~TestCert();

  const std::string& cert_pem() const { return cert_pem_; }
  const std::string& cert_der() const { return cert_der_; }
  std::string key_pem() const;  // PKCS#8 "PRIVATE KEY", unencrypted
  EVP_PKEY* key() const;        // owned by this object

 private:
  struct State;
  TestCert();
  void fill_encodings();
  std::unique_ptr<State> state_;
  std::string cert_pem_, cert_der_;
};

}  // namespace stack::test
