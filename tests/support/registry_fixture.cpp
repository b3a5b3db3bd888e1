// LocalRegistry: the real docker-registry as a child process (see registry_fixture.h).
#include "support/registry_fixture.h"
#include "support/test_data.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "stack/common/sha256.h"
#include "support/test_certs.h"
#include "support/token_service.h"

extern char** environ;

namespace stack::test {
namespace fs = std::filesystem;
namespace {

constexpr const char* kRegistryBinary = "/usr/bin/docker-registry";
constexpr auto kReadyTimeout = std::chrono::seconds(10);

// Written beside and renamed into place: the registry may read the file at any moment.
void write_file_atomic(const std::string& path, const std::string& data) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) throw std::runtime_error("cannot create directory for " + path + ": " + ec.message());
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp + ": " + std::strerror(errno));
}

// A port that was free a moment ago; start() retries if the registry loses the race for it.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(errno));
  ::close(fd);
  return ntohs(addr.sin_port);
}

// bcrypt ($2b$, cost 5: cheap, since the registry checks it on every request).
std::string bcrypt(const std::string& password) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$2b$", 5, nullptr, 0, setting, sizeof setting))
    throw std::runtime_error("crypt_gensalt_rn: " + std::string(std::strerror(errno)));
  crypt_data data{};
  const char* hash = crypt_rn(password.c_str(), setting, &data, sizeof data);
  if (!hash || hash[0] == '*') throw std::runtime_error("crypt_rn failed for bcrypt");
  return hash;
}

// HTTP status of GET url, 0 if no answer. An https url is verified against ca_file.
long probe(const std::string& url, const std::string& ca_file) {
  CURL* curl = curl_easy_init();
  if (!curl) return 0;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (!ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION,
      +[](char*, size_t size, size_t n, void*) -> size_t { return size * n; });
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return status;
}

std::string hex_of(const std::string& digest) {
  if (digest.rfind("sha256:", 0) != 0 || digest.size() != 71)
    throw std::runtime_error("not a sha256 digest: " + digest);
  return digest.substr(7);
}

}  // namespace

std::unique_ptr<LocalRegistry> LocalRegistry::start(const LocalRegistryOptions& options) {
  std::unique_ptr<LocalRegistry> r(new LocalRegistry());
  r->options_ = options;
  std::string tmpl = "/tmp/stack-registry-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
  r->dir_ = tmpl;
  r->storage_dir_ = r->dir_ + "/storage";
  r->log_path_ = r->dir_ + "/registry.log";
  fs::create_directories(r->storage_dir_);

  if (options.auth == RegistryAuth::kBasic) {
    std::string htpasswd;
    for (const auto& u : options.users) htpasswd += u.name + ":" + bcrypt(u.password) + "\n";
    write_file_atomic(r->dir_ + "/htpasswd", htpasswd);
  } else if (options.auth == RegistryAuth::kToken) {
    r->token_ = std::make_unique<TokenService>(options.users, options.anonymous_pull,
                                               options.token_expires_in_s);
    write_file_atomic(r->dir_ + "/token.pem", r->token_->cert_pem());
  }
  if (options.tls) {
    TestCert ca = TestCert::make_ca("stack test registry CA");
    TestCert server = TestCert::make_server("127.0.0.1", "IP:127.0.0.1,DNS:localhost", ca);
    write_file_atomic(r->ca_file(), ca.cert_pem());
    write_file_atomic(r->dir_ + "/tls/server.pem", server.cert_pem());
    write_file_atomic(r->dir_ + "/tls/server.key", server.key_pem());
  }

  std::string why;
  for (int attempt = 0; attempt < 5; ++attempt) {
    r->port_ = free_port();
    r->write_config();
    if (r->try_spawn(&why)) return r;
    if (why.find("address already in use") == std::string::npos) break;
  }
  throw std::runtime_error("local registry did not start: " + why + "\n--- registry log ---\n" +
                           r->log());
}

void LocalRegistry::write_config() {
  std::string auth;
  if (options_.auth == RegistryAuth::kBasic) {
    auth = "auth:\n  htpasswd:\n    realm: " + std::string(kBasicRealm) + "\n    path: " + dir_ +
           "/htpasswd\n";
  } else if (options_.auth == RegistryAuth::kToken) {
    auth = "auth:\n  token:\n    realm: " + token_->realm() + "\n    service: " + kTokenService +
           "\n    issuer: " + kTokenIssuer + "\n    rootcertbundle: " + dir_ + "/token.pem\n";
  }
  // No storage.cache: a blob descriptor cache would hide blobs seeded behind its back.
  std::string config = "version: 0.1\n";
  config += "log:\n  level: warn\n  formatter: text\n";
  config += "storage:\n  filesystem:\n    rootdirectory: " + storage_dir_ + "\n";
  config += "  delete:\n    enabled: true\n";
  config += "  maintenance:\n    uploadpurging:\n      enabled: false\n";
  config += "http:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
  config += "  secret: stack-test-secret\n";
  if (options_.tls) {
    // Distribution offers h2 by ALPN unless http.http2.disabled is set.
    config += "  tls:\n    certificate: " + dir_ + "/tls/server.pem\n    key: " + dir_ +
              "/tls/server.key\n";
  }
  write_file_atomic(dir_ + "/config.yml", config + auth);
}

bool LocalRegistry::try_spawn(std::string* why) {
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
  std::string config = dir_ + "/config.yml";
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "REGISTRY_", 9) != 0)
      env_strings.emplace_back(*e);  // would override config
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  const char* argv[] = {kRegistryBinary, "serve", config.c_str(), nullptr};
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) throw std::runtime_error("cannot open " + log_path_);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid == 0) {
    // A test that crashes must not leave a registry behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::close_range(3, ~0U, 0);
    ::execve(kRegistryBinary, const_cast<char**>(argv), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  pid_ = pid;

  auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  std::string url = base_url() + "/v2/";
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      std::string log_text = log();
      *why = "docker-registry exited with status " +
             std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus));
      if (log_text.find("address already in use") != std::string::npos)
        *why += " (address already in use)";
      return false;
    }
    long status = probe(url, ca_file());
    if (status == 200 || status == 401) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *why = "GET " + url + " did not answer 200 or 401 within 10 s";
  kill_registry();
  return false;
}

void LocalRegistry::kill_registry() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void LocalRegistry::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

LocalRegistry::~LocalRegistry() {
  kill_registry();
  token_.reset();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string LocalRegistry::host() const { return "127.0.0.1:" + std::to_string(port_); }
std::string LocalRegistry::base_url() const {
  return (options_.tls ? "https://" : "http://") + host();
}
std::string LocalRegistry::ca_file() const { return options_.tls ? dir_ + "/ca.pem" : ""; }
std::string LocalRegistry::log() const { return read_file(log_path_); }

std::vector<AccessLogEntry> LocalRegistry::access_log() const {
  std::vector<AccessLogEntry> out;
  std::istringstream in(log());
  for (std::string line; std::getline(in, line);) {
    // `] "METHOD TARGET PROTOCOL" STATUS `: the text formatter's lines have no `] "`.
    size_t open = line.find("] \"");
    if (open == std::string::npos) continue;
    size_t start = open + 3, close = line.find('"', start);
    if (close == std::string::npos) continue;
    std::istringstream request(line.substr(start, close - start));
    AccessLogEntry e;
    if (!(request >> e.method >> e.target >> e.protocol)) continue;
    std::istringstream rest(line.substr(close + 1));
    if (!(rest >> e.status)) continue;
    out.push_back(std::move(e));
  }
  return out;
}

std::string LocalRegistry::token_realm() const { return token_ ? token_->realm() : ""; }
int LocalRegistry::token_requests() const { return token_ ? token_->requests() : 0; }
std::vector<TokenRequestRecord> LocalRegistry::token_log() const {
  return token_ ? token_->log() : std::vector<TokenRequestRecord>{};
}

std::string LocalRegistry::issue_token(const std::string& subject,
                                       const std::vector<std::string>& access,
                                       int expires_in_s) const {
  if (!token_) throw std::runtime_error("issue_token: the registry does not use token auth");
  return token_->issue(subject, access, expires_in_s);
}

// --- seeding and inspection: Distribution's storage layout (registry/storage/paths.go) ---

namespace {
std::string v2_root(const std::string& storage) { return storage + "/docker/registry/v2"; }
std::string blob_path(const std::string& storage, const std::string& hex) {
  return v2_root(storage) + "/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
}
std::string repo_path(const std::string& storage, const std::string& repo) {
  return v2_root(storage) + "/repositories/" + repo;
}
}  // namespace

std::string LocalRegistry::put_blob(const std::string& repo, const std::string& data) {
  std::string hex = sha256_hex(data);
  std::string digest = "sha256:" + hex;
  // Data before link: the registry must never see a link to a missing blob.
  write_file_atomic(blob_path(storage_dir_, hex), data);
  write_file_atomic(repo_path(storage_dir_, repo) + "/_layers/sha256/" + hex + "/link", digest);
  return digest;
}

std::string LocalRegistry::put_manifest(const std::string& repo, const std::string& tag_or_empty,
                                        const std::string& body) {
  std::string hex = sha256_hex(body);
  std::string digest = "sha256:" + hex;
  std::string manifests = repo_path(storage_dir_, repo) + "/_manifests";
  write_file_atomic(blob_path(storage_dir_, hex), body);
  write_file_atomic(manifests + "/revisions/sha256/" + hex + "/link", digest);
  if (!tag_or_empty.empty()) {
    std::string tag = manifests + "/tags/" + tag_or_empty;
    write_file_atomic(tag + "/index/sha256/" + hex + "/link", digest);
    write_file_atomic(tag + "/current/link", digest);
  }
  return digest;
}

void LocalRegistry::seed(const std::string& repo, const std::string& tag, const TestImage& image) {
  for (const auto& [digest, data] : image.all_blobs()) put_blob(repo, data);
  for (const auto& child : image.platforms) put_manifest(repo, "", child.manifest);
  put_manifest(repo, tag, image.top_body());
}

std::string LocalRegistry::tag_digest(const std::string& repo, const std::string& tag) const {
  return read_file(repo_path(storage_dir_, repo) + "/_manifests/tags/" + tag + "/current/link");
}

std::optional<std::string> LocalRegistry::blob(const std::string& digest) const {
  std::string path = blob_path(storage_dir_, hex_of(digest));
  if (!fs::exists(path)) return std::nullopt;
  return read_file(path);
}

bool LocalRegistry::has_layer_link(const std::string& repo, const std::string& digest) const {
  return read_file(repo_path(storage_dir_, repo) + "/_layers/sha256/" + hex_of(digest) + "/link") ==
         digest;
}

}  // namespace stack::test
