// Test keys and certificates with OpenSSL (see test_certs.h).
#include "support/test_certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <utility>
#include <vector>

namespace stack::test {
namespace {

void fail(const std::string& what) { throw std::runtime_error("test certificate: " + what); }

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (!ext) fail("cannot build certificate extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, issued by `issuer` (nullptr: self-signed), signed with
// `issuer_key`; `extensions` are (nid, OpenSSL config value) pairs.
X509Ptr build(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
              const std::vector<std::pair<int, std::string>>& extensions) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  // Random serials: two leaves of one CA must never share one (verifiers may cache by it).
  unsigned char serial[8];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7 * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(cert.get(), key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) add_ext(cert.get(), &ctx, nid, value);
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) fail("cannot sign " + cn);
  return cert;
}

EVP_PKEY* new_p256_key() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!key) fail("cannot generate a P-256 key");
  return key;
}

}  // namespace

struct TestCert::State {
  EVP_PKEY* key = nullptr;
  X509Ptr cert;
  ~State() { EVP_PKEY_free(key); }
};

TestCert::TestCert() : state_(std::make_unique<State>()) {}
TestCert::TestCert(TestCert&&) noexcept = default;
TestCert& TestCert::operator=(TestCert&&) noexcept = default;
TestCert::~TestCert() = default;

EVP_PKEY* TestCert::key() const { return state_->key; }

std::string TestCert::key_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio ||
      PEM_write_bio_PrivateKey(bio, state_->key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("cannot encode the private key");
  return bio_string(bio);
}

TestCert TestCert::make_ca(const std::string& common_name) {
  TestCert c;
  c.state_->key = new_p256_key();
  c.state_->cert = build(c.state_->key, common_name, nullptr, c.state_->key,
                         {{NID_basic_constraints, "critical,CA:TRUE"},
                          {NID_key_usage, "critical,digitalSignature,keyCertSign"},
                          {NID_subject_key_identifier, "hash"}});
  c.fill_encodings();
  return c;
}

TestCert TestCert::make_server(const std::string& common_name, const std::string& san,
                               const TestCert& issuer) {
  TestCert c;
  c.state_->key = new_p256_key();
  c.state_->cert = build(c.state_->key, common_name, issuer.state_->cert.get(), issuer.key(),
                         {{NID_basic_constraints, "critical,CA:FALSE"},
                          {NID_key_usage, "critical,digitalSignature"},
                          {NID_ext_key_usage, "serverAuth"},
                          {NID_subject_alt_name, san},
                          {NID_subject_key_identifier, "hash"},
                          {NID_authority_key_identifier, "keyid:always"}});
  c.fill_encodings();
  return c;
}

void TestCert::fill_encodings() {
  unsigned char* der = nullptr;
  int der_len = i2d_X509(state_->cert.get(), &der);
  if (der_len <= 0) fail("cannot encode certificate");
  cert_der_.assign(reinterpret_cast<char*>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_X509(bio, state_->cert.get()) != 1) fail("cannot encode certificate");
  cert_pem_ = bio_string(bio);
}

}  // namespace stack::test
