// Registry client against the real CNCF Distribution registry (LocalRegistry on 127.0.0.1):
// manifests and blobs, parallel fetch with pausing sinks, errors, Basic and token auth, push.
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "support/registry_fixture.h"
#include "support/test_image.h"
#include "stack/common/sha256.h"
#include "stack/engine/image/registry.h"

using namespace stack::engine::image;
using stack::Result;
using stack::Status;
using stack::test::LocalRegistry;
using stack::test::LocalRegistryOptions;
using stack::test::RegistryAuth;
using stack::test::TestImage;

namespace {

Reference ref(const LocalRegistry& reg, const std::string& path, const std::string& tag,
              const std::string& digest = "") {
  return Reference{reg.host(), path, tag, digest};
}

RegistryOptions options(std::optional<Credentials> creds = std::nullopt) {
  RegistryOptions o;
  o.backoff_initial_ms = 10;
  o.max_attempts = 2;
  o.connect_timeout_ms = 2000;
  if (creds) o.credentials = [creds](const std::string&) { return creds; };
  return o;
}

const Credentials kAlice{"alice", "wonderland", ""};

// Takes every other offer only after a pause; a waker thread resumes it.
class PausingSink : public BlobSink {
 public:
  std::string got;
  std::optional<Status> status;
  std::function<void()> on_pause;
  int pauses = 0;

  Result<Action> data(const char* bytes, size_t size) override {
    if (!refused_ && (++offers_ % 2) == 1) {
      refused_ = true;
      ++pauses;
      on_pause();
      return Action::kPause;
    }
    refused_ = false;
    got.append(bytes, size);
    return Action::kContinue;
  }
  void done(const Status& s) override { status = s; }

 private:
  int offers_ = 0;
  bool refused_ = false;
};

}  // namespace

TEST_CASE("manifests by tag and by digest, index and manifest, and HEAD") {
  auto reg = LocalRegistry::start();
  TestImage child = stack::test::busybox_image();
  TestImage index = stack::test::make_index({{Platform{"linux", "amd64", "", ""}, child}});
  reg->seed("app", "multi", index);
  reg->seed("app", "single", child);
  RegistryClient client(options());

  auto top = client.get_manifest(ref(*reg, "app", "multi"));
  REQUIRE(top.ok());
  CHECK(top->body == index.index);
  CHECK(top->digest == index.index_digest);
  CHECK(top->media_type == index.index_media_type);

  auto by_digest = client.get_manifest(ref(*reg, "app", "", child.manifest_digest));
  REQUIRE(by_digest.ok());
  CHECK(by_digest->body == child.manifest);
  CHECK(by_digest->media_type == child.manifest_media_type);

  auto single = client.get_manifest(ref(*reg, "app", "single"));
  REQUIRE(single.ok());
  CHECK(single->digest == child.manifest_digest);

  auto head = client.head_manifest(ref(*reg, "app", "multi"));
  REQUIRE(head.ok());
  CHECK(head->digest == index.index_digest);
  CHECK(head->size == static_cast<int64_t>(index.index.size()));
  CHECK(head->media_type == index.index_media_type);

  auto unknown = client.get_manifest(ref(*reg, "app", "nope"));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ENOENT);
  CHECK(unknown.error().message == reg->host() + "/app:nope: manifest unknown (HTTP 404)");
  auto unknown_head = client.head_manifest(ref(*reg, "app", "nope"));
  CHECK(unknown_head.error().code == ENOENT);
  auto no_repo = client.get_manifest(ref(*reg, "nothing/here", "1"));
  CHECK(no_repo.error().code == ENOENT);
}

TEST_CASE("config by get_blob, layers by a parallel fetch with pausing sinks") {
  auto reg = LocalRegistry::start();
  TestImage image = stack::test::busybox_image();
  reg->seed("app", "1", image);
  std::vector<std::string> extra;
  for (int i = 0; i < 4; ++i) {
    std::string data(200'000 + i * 1000, static_cast<char>('a' + i));
    data += std::to_string(i);
    extra.push_back(data);
    reg->put_blob("app", data);
  }
  RegistryClient client(options());
  auto config = client.get_blob(ref(*reg, "app", "1"),
                                Descriptor{"", image.config_digest,
                                           static_cast<int64_t>(image.config.size())});
  REQUIRE(config.ok());
  CHECK(*config == image.config);

  std::vector<std::string> expected = extra;
  expected.push_back(image.layers[0].blob);
  std::mutex mu;
  std::condition_variable cv;
  std::deque<size_t> queue;
  bool finished = false;
  BlobFetch* fetch = nullptr;
  std::vector<std::unique_ptr<PausingSink>> sinks;
  std::vector<BlobTransfer> transfers;
  for (size_t i = 0; i < expected.size(); ++i) {
    sinks.push_back(std::make_unique<PausingSink>());
    sinks[i]->on_pause = [&, i] {
      std::lock_guard lock(mu);
      queue.push_back(i);
      cv.notify_one();
    };
    std::string digest = "sha256:" + stack::sha256_hex(expected[i]);
    transfers.push_back({Descriptor{"", digest, static_cast<int64_t>(expected[i].size())}, 0,
                         sinks[i].get()});
  }
  std::thread waker([&] {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return finished || !queue.empty(); });
      if (finished) return;
      size_t i = queue.front();
      queue.pop_front();
      lock.unlock();
      fetch->wake(i);
      lock.lock();
    }
  });
  Status st = client.fetch_blobs(ref(*reg, "app", "1"), transfers, 3,
                                 [&](BlobFetch& f) { fetch = &f; });
  {
    std::lock_guard lock(mu);
    finished = true;
    cv.notify_one();
  }
  waker.join();
  REQUIRE(st.ok());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("blob " << i);
    REQUIRE(sinks[i]->status);
    CHECK(sinks[i]->status->ok());
    CHECK(sinks[i]->pauses > 0);
    CHECK(sinks[i]->got == expected[i]);
  }

  // An unknown blob: that sink fails with ENOENT naming the digest.
  PausingSink missing;
  missing.on_pause = [&] { fetch->wake(0); };
  std::string bogus = "sha256:" + stack::sha256_hex("not there");
  std::vector<BlobTransfer> one{{Descriptor{"", bogus, 9}, 0, &missing}};
  Status miss = client.fetch_blobs(ref(*reg, "app", "1"), one, 1,
                                   [&](BlobFetch& f) { fetch = &f; });
  REQUIRE_FALSE(miss.ok());
  CHECK(miss.error().code == ENOENT);
  CHECK(miss.error().message.find(bogus) != std::string::npos);
  CHECK(missing.status->error().code == ENOENT);
}

TEST_CASE("a stopped registry is ECONNREFUSED") {
  auto reg = LocalRegistry::start();
  std::string host = reg->host();
  reg->stop();
  RegistryClient client(options());
  auto m = client.get_manifest(Reference{host, "app", "1", ""});
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == ECONNREFUSED);
  CHECK(m.error().message == host + "/app:1: cannot connect: Connection refused");
}

TEST_CASE("Basic auth: refused without credentials, accepted with them") {
  LocalRegistryOptions o;
  o.auth = RegistryAuth::kBasic;
  auto reg = LocalRegistry::start(o);
  reg->seed("app", "1", stack::test::busybox_image());
  RegistryClient anonymous(options());
  auto denied = anonymous.get_manifest(ref(*reg, "app", "1"));
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().code == EACCES);
  CHECK(denied.error().message.find("authentication required (HTTP 401)") != std::string::npos);

  RegistryClient client(options(kAlice));
  REQUIRE(client.get_manifest(ref(*reg, "app", "1")).ok());
  CHECK(client.check_login(reg->host(), kAlice).ok());
  Status wrong = client.check_login(reg->host(), Credentials{"alice", "nope", ""});
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == EACCES);
}

TEST_CASE("token auth: scopes asked for, token reused, refusal without credentials") {
  LocalRegistryOptions o;
  o.auth = RegistryAuth::kToken;
  auto reg = LocalRegistry::start(o);
  TestImage image = stack::test::busybox_image();
  reg->seed("app", "1", image);
  RegistryClient client(options(kAlice));
  REQUIRE(client.get_manifest(ref(*reg, "app", "1")).ok());
  REQUIRE(client.head_manifest(ref(*reg, "app", "1")).ok());
  auto config = client.get_blob(ref(*reg, "app", "1"),
                                Descriptor{"", image.config_digest,
                                           static_cast<int64_t>(image.config.size())});
  REQUIRE(config.ok());
  auto log = reg->token_log();
  REQUIRE(log.size() == 1);  // one token for the pull scope, then cached
  CHECK(log[0].user == "alice");
  CHECK(log[0].scopes == std::vector<std::string>{"repository:app:pull"});
  CHECK(log[0].status == 200);

  RegistryClient anonymous(options());
  auto denied = anonymous.get_manifest(ref(*reg, "app", "1"));
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().code == EACCES);
  CHECK(client.check_login(reg->host(), kAlice).ok());
  CHECK(client.check_login(reg->host(), Credentials{"alice", "bad", ""}).error().code == EACCES);
}

TEST_CASE("push: monolithic and chunked blobs, a manifest, and a cross-repository mount") {
  LocalRegistryOptions o;
  o.auth = RegistryAuth::kToken;
  auto reg = LocalRegistry::start(o);
  RegistryClient client(options(kAlice));
  TestImage image = stack::test::busybox_image();
  Reference target = ref(*reg, "pushed/app", "v1");

  auto upload = [&](const std::string& data, size_t chunk) -> Status {
    size_t pos = 0;
    auto read = [&](char* buf, size_t n) -> Result<size_t> {
      size_t k = std::min(n, data.size() - pos);
      std::memcpy(buf, data.data() + pos, k);
      pos += k;
      return k;
    };
    auto rewind = [&]() -> Status {
      pos = 0;
      return {};
    };
    Descriptor d{"", "sha256:" + stack::sha256_hex(data), static_cast<int64_t>(data.size())};
    return client.upload_blob(target, d, read, rewind, chunk);
  };
  const std::string& layer = image.layers[0].blob;
  CHECK_FALSE(client.blob_exists(target, image.layers[0].digest).value());
  REQUIRE(upload(image.config, 0).ok());
  REQUIRE(upload(layer, 256 * 1024).ok());  // several PATCHes
  CHECK(client.blob_exists(target, image.layers[0].digest).value());
  CHECK(reg->blob(image.layers[0].digest) == layer);
  CHECK(reg->has_layer_link("pushed/app", image.config_digest));

  auto digest = client.put_manifest(target, image.manifest_media_type, image.manifest);
  REQUIRE(digest.ok());
  CHECK(*digest == image.manifest_digest);
  CHECK(reg->tag_digest("pushed/app", "v1") == image.manifest_digest);
  auto back = client.get_manifest(target);
  REQUIRE(back.ok());
  CHECK(back->body == image.manifest);

  // A wrong digest is refused by the registry, not stored.
  std::string data = "some bytes";
  size_t pos = 0;
  auto read = [&](char* buf, size_t n) -> Result<size_t> {
    size_t k = std::min(n, data.size() - pos);
    std::memcpy(buf, data.data() + pos, k);
    pos += k;
    return k;
  };
  Descriptor lie{"", "sha256:" + stack::sha256_hex("other bytes"), 10};
  Status bad = client.upload_blob(target, lie, read, nullptr, 0);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find(lie.digest) != std::string::npos);

  Reference other = ref(*reg, "other/app", "v1");
  auto mounted = client.mount_blob(other, image.layers[0].digest, "pushed/app");
  REQUIRE(mounted.ok());
  CHECK(*mounted);
  CHECK(reg->has_layer_link("other/app", image.layers[0].digest));
  auto not_mounted =
      client.mount_blob(other, "sha256:" + stack::sha256_hex("absent"), "pushed/app");
  REQUIRE(not_mounted.ok());
  CHECK_FALSE(*not_mounted);
  auto log = reg->token_log();
  bool push_scope = false, mount_scopes = false;
  for (const auto& r : log) {
    UNSCOPED_INFO("token request: " << r.user << " " << r.status << " "
                                    << Catch::Detail::stringify(r.scopes));
    if (r.scopes == std::vector<std::string>{"repository:pushed/app:pull,push"}) push_scope = true;
    if (r.scopes.size() == 2 && r.scopes[0] == "repository:other/app:pull,push" &&
        r.scopes[1] == "repository:pushed/app:pull") {
      mount_scopes = true;
    }
  }
  CHECK(push_scope);
  CHECK(mount_scopes);
}
