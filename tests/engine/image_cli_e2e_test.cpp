// The `stack` image commands as a user runs them: the built binary (STACK_BIN) against the real
// registry (tests/support/registry_fixture.h), each test with its own state roots, DOCKER_CONFIG
// and HOME. What is checked is the command-line contract — exit codes (0, 1 failure, 2 usage),
// stderr naming the image, stdout formats — and the state the commands leave, read through
// `image inspect` or the store's files. The library behaviour behind it is pull_e2e_test.cpp's.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "engine/layer_test_util.h"
#include "stack/common/sha256.h"
#include "support/registry_fixture.h"
#include "support/test_data.h"
#include "support/run_command.h"
#include "support/test_image.h"

using stack::test::LocalRegistry;
using stack::test::LocalRegistryOptions;
using stack::test::ProgramResult;
using stack::test::RegistryAuth;
using stack::test::TestImage;
using Json = nlohmann::json;
using stack::test::read_file;
namespace fs = std::filesystem;

// The command exited with `code`; shows its output when not. `r` is evaluated once.
#define REQUIRE_EXIT(r, code)              \
  do {                                     \
    const ProgramResult& result_ = (r);    \
    INFO(result_.describe());              \
    REQUIRE(result_.exit_code == (code));  \
  } while (0)
#define CHECK_EXIT(r, code)                \
  do {                                     \
    const ProgramResult& result_ = (r);    \
    INFO(result_.describe());              \
    CHECK(result_.exit_code == (code));    \
  } while (0)

namespace {

void write_file(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string w;
  while (ss >> w) out.push_back(w);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines(text))
    if (l == line) return true;
  return false;
}

// Index of the first line equal to `line`, -1 if none.
int line_index(const std::string& text, const std::string& line) {
  auto ls = lines(text);
  for (size_t i = 0; i < ls.size(); ++i)
    if (ls[i] == line) return static_cast<int>(i);
  return -1;
}

// "<12 hex>" as the progress display and `images` print a digest.
std::string short_hex(const std::string& digest) { return digest.substr(7, 12); }

std::string base64(const std::string& in) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                 static_cast<unsigned char>(in[i + 1]) << 8 | static_cast<unsigned char>(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += abc[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += std::string{abc[(v >> 18) & 63], abc[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += std::string{abc[(v >> 18) & 63], abc[(v >> 12) & 63], abc[(v >> 6) & 63], '='};
  }
  return out;
}

// A user of `stack`: a temp dir holding state roots, DOCKER_CONFIG and HOME; run() passes
// `--root <root>` (the default root unless given) before the arguments.
struct Cli {
  layer_test::TempDir dir;

  std::string root(const std::string& name = "root") const { return dir / name; }
  std::string docker_config() const { return dir / "docker"; }
  std::string config_json() const { return docker_config() + "/config.json"; }

  ProgramResult run_in(const std::string& root, const std::vector<std::string>& args,
                       std::optional<std::string> stdin_data = std::nullopt) const {
    stack::test::ProgramOptions o;
    o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir / "home",
             "DOCKER_CONFIG=" + docker_config(), "TERM=dumb", "LANG=C"};
    o.stdin_data = std::move(stdin_data);
    o.cwd = dir.path();
    o.timeout = std::chrono::seconds(120);
    std::vector<std::string> full = {"--root", root};
    full.insert(full.end(), args.begin(), args.end());
    return stack::test::run_program(STACK_BIN, full, o);
  }
  ProgramResult run(const std::vector<std::string>& args,
                    std::optional<std::string> stdin_data = std::nullopt) const {
    return run_in(root(), args, std::move(stdin_data));
  }

  // `image inspect REF` in `root`, the one object of its array.
  Json inspect_in(const std::string& root, const std::string& ref) const {
    auto r = run_in(root, {"image", "inspect", ref});
    REQUIRE_EXIT(r, 0);
    Json j = Json::parse(r.out, nullptr, false);
    INFO(r.out);
    REQUIRE(j.is_array());
    REQUIRE(j.size() == 1);
    return j[0];
  }
  Json inspect(const std::string& ref) const { return inspect_in(root(), ref); }

  // Output of `images -q`: the IDs listed.
  std::vector<std::string> image_ids(const std::string& root) const {
    auto r = run_in(root, {"images", "-q"});
    REQUIRE_EXIT(r, 0);
    return lines(r.out);
  }
};

// Names in a store directory (layers/, blobs/sha256/), sorted.
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

// Digests of an inspect object's "Layers".
std::vector<std::string> layer_digests(const Json& inspect) {
  std::vector<std::string> out;
  for (const auto& l : inspect.at("Layers")) out.push_back(l.at("Digest").get<std::string>());
  return out;
}

// A second image sharing busybox's layer: busybox + one small layer, Cmd ["ls"].
TestImage busybox_plus_image() {
  TestImage bb = stack::test::busybox_image();
  auto extra = stack::test::make_layer({layer_test::file("etc/extra", "extra\n")});
  stack::test::ImageConfigSpec spec;
  spec.cmd = {"ls"};
  return stack::test::make_image({bb.layers[0], extra}, spec);
}

}  // namespace

TEST_CASE("cli pull: progress lines, closing lines, images listing and inspect", "[cli]") {
  auto registry = LocalRegistry::start();
  Cli cli;
  TestImage image = stack::test::busybox_image();
  registry->seed("tools/busybox", "1", image);
  const std::string ref = registry->host() + "/tools/busybox:1";
  const std::string layer = short_hex(image.layers[0].digest);

  auto r = cli.run({"pull", ref});
  REQUIRE_EXIT(r, 0);
  INFO(r.out);
  auto out = lines(r.out);
  REQUIRE(out.size() >= 5);
  CHECK(out.front() == "1: Pulling from tools/busybox");
  // Plain mode: state changes only, in order, no terminal escapes or byte counts.
  CHECK(r.out.find('\x1b') == std::string::npos);
  int waiting = line_index(r.out, layer + ": Pulling fs layer");
  int downloading = line_index(r.out, layer + ": Downloading");
  int extracting = line_index(r.out, layer + ": Extracting");
  int complete = line_index(r.out, layer + ": Pull complete");
  CHECK(waiting > 0);
  CHECK(downloading > waiting);
  CHECK(extracting > downloading);
  CHECK(complete > extracting);
  for (const auto& l : out)
    if (l.rfind(layer + ": ", 0) == 0) CHECK(l.find('[') == std::string::npos);
  REQUIRE(out.size() >= 3);
  CHECK(out[out.size() - 3] == "Digest: " + image.manifest_digest);
  CHECK(out[out.size() - 2] == "Status: Downloaded newer image for " + ref);
  CHECK(out.back() == ref);
  CHECK(r.err.empty());

  SECTION("a second pull is up to date and downloads nothing") {
    auto again = cli.run({"pull", ref});
    REQUIRE_EXIT(again, 0);
    CHECK(has_line(again.out, "Status: Image is up to date for " + ref));
    CHECK_FALSE(has_line(again.out, layer + ": Downloading"));
    CHECK_FALSE(has_line(again.out, layer + ": Pull complete"));
    CHECK(lines(again.out).back() == ref);
  }
  SECTION("-q prints only the reference") {
    auto q = cli.run_in(cli.root("quiet"), {"pull", "-q", ref});
    REQUIRE_EXIT(q, 0);
    CHECK(q.out == ref + "\n");
    CHECK(cli.inspect_in(cli.root("quiet"), ref).at("Id") == image.config_digest);
  }
  SECTION("images: table, -q, --format json, repository filter") {
    auto t = cli.run({"images"});
    REQUIRE_EXIT(t, 0);
    auto rows = lines(t.out);
    REQUIRE(rows.size() == 2);
    CHECK(words(rows[0]) ==
          std::vector<std::string>{"REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"});
    auto cells = words(rows[1]);
    REQUIRE(cells.size() >= 3);
    CHECK(cells[0] == registry->host() + "/tools/busybox");
    CHECK(cells[1] == "1");
    CHECK(cells[2] == short_hex(image.config_digest));
    // Columns line up: IMAGE ID starts at the same offset in the header and the row.
    CHECK(rows[0].find("IMAGE ID") == rows[1].find(cells[2]));

    CHECK(cli.image_ids(cli.root()) == std::vector<std::string>{short_hex(image.config_digest)});

    auto d = cli.run({"images", "--digests"});
    REQUIRE_EXIT(d, 0);
    CHECK(d.out.find(image.manifest_digest) != std::string::npos);

    auto j = cli.run({"images", "--format", "json"});
    REQUIRE_EXIT(j, 0);
    auto jl = lines(j.out);
    REQUIRE(jl.size() == 1);
    Json row = Json::parse(jl[0], nullptr, false);
    REQUIRE(row.is_object());
    CHECK(row.value("Repository", "") == registry->host() + "/tools/busybox");
    CHECK(row.value("Tag", "") == "1");
    CHECK(row.value("ID", "") == short_hex(image.config_digest));
    CHECK(row.value("Digest", "") == image.manifest_digest);
    CHECK(row.value("Platform", "") == "linux/amd64");

    auto other = cli.run({"images", "-q", "nothing/here"});
    REQUIRE_EXIT(other, 0);
    CHECK(other.out.empty());
    auto same = cli.run({"images", "-q", registry->host() + "/tools/busybox"});
    REQUIRE_EXIT(same, 0);
    CHECK(same.out == short_hex(image.config_digest) + "\n");
  }
  SECTION("image inspect: config, layers and lower dirs that hold the files") {
    Json j = cli.inspect(ref);
    CHECK(j.at("Reference") == ref);
    CHECK(j.at("Id") == image.config_digest);
    CHECK(j.at("ManifestDigest") == image.manifest_digest);
    CHECK(j.at("Config").at("config").at("Cmd") == Json::array({"sh"}));
    CHECK(layer_digests(j) == std::vector<std::string>{image.layers[0].digest});
    REQUIRE(j.at("LowerDirs").is_array());
    REQUIRE(j.at("LowerDirs").size() == 1);
    std::string lower = j.at("LowerDirs")[0];
    CHECK(lower.rfind(cli.root() + "/images/layers/", 0) == 0);
    CHECK(read_file(lower + "/bin/busybox") == read_file("/bin/busybox"));

    auto missing = cli.run({"image", "inspect", registry->host() + "/tools/nope:1"});
    CHECK_EXIT(missing, 1);
    CHECK_THAT(missing.err, Catch::Contains("no such image") &&
                                Catch::Contains(registry->host() + "/tools/nope:1"));
  }
}

TEST_CASE("cli pull: an unknown tag fails naming the image, and stores nothing", "[cli]") {
  auto registry = LocalRegistry::start();
  Cli cli;
  registry->seed("tools/busybox", "1", stack::test::busybox_image());
  const std::string ref = registry->host() + "/tools/busybox:nope";
  auto r = cli.run({"pull", ref});
  CHECK_EXIT(r, 1);
  // The reference once, the cause after it.
  CHECK(r.err == "stack: image " + ref + ": manifest unknown (HTTP 404)\n");
  CHECK_FALSE(has_line(r.out, ref));  // the reference is printed only for a pulled image
  CHECK(cli.image_ids(cli.root()).empty());
  CHECK(entries(cli.root() + "/images/layers").empty());

  // One failure among several: the others are pulled, the exit status still says failure.
  auto mixed = cli.run({"pull", "-q", ref, registry->host() + "/tools/busybox:1"});
  CHECK_EXIT(mixed, 1);
  CHECK(mixed.out == registry->host() + "/tools/busybox:1\n");
  CHECK(cli.image_ids(cli.root()).size() == 1);
  auto ignored = cli.run({"pull", "-q", "--ignore-pull-failures", ref});
  CHECK_EXIT(ignored, 0);
}

TEST_CASE("cli pull: an unreachable registry fails quickly with the image named", "[cli]") {
  auto registry = LocalRegistry::start();
  Cli cli;
  registry->seed("tools/busybox", "1", stack::test::busybox_image());
  const std::string ref = registry->host() + "/tools/busybox:1";
  registry->stop();
  auto r = cli.run({"pull", ref});
  CHECK_EXIT(r, 1);
  // Retries are bounded (5 attempts, backoff from 200 ms): seconds, not minutes.
  CHECK(r.elapsed < std::chrono::seconds(30));
  CHECK_THAT(r.err, Catch::StartsWith("stack: ") && Catch::Contains("image " + ref));
  CHECK_THAT(r.err, Catch::Contains("onnect"));  // "connect…", "Connection refused"
  CHECK(lines(r.err).size() == 1);  // one message, not one per retry
  CHECK(r.err.find(ref, r.err.find(ref) + 1) == std::string::npos);  // named once
  CHECK(cli.image_ids(cli.root()).empty());
}

TEST_CASE("cli pull: a project's services, selected services, pull_policy and failures", "[cli]") {
  auto registry = LocalRegistry::start();
  Cli cli;
  TestImage web = stack::test::busybox_image();
  TestImage cache = busybox_plus_image();
  registry->seed("proj/web", "1", web);
  registry->seed("proj/cache", "1", cache);
  const std::string h = registry->host();
  const std::string compose = cli.dir / "project/compose.yml";
  write_file(compose, "name: proj\n"
                      "services:\n"
                      "  web:\n"
                      "    image: " + h + "/proj/web:1\n"
                      "  cache:\n"
                      "    image: " + h + "/proj/cache:1\n"
                      "  offline:\n"
                      "    image: " + h + "/proj/offline:1\n"
                      "    pull_policy: never\n");

  SECTION("every pullable service; pull_policy: never is skipped") {
    auto r = cli.run({"-f", compose, "pull"});
    REQUIRE_EXIT(r, 0);
    CHECK(has_line(r.out, "web Pulled"));
    CHECK(has_line(r.out, "cache Pulled"));
    CHECK(r.out.find("offline") == std::string::npos);
    CHECK(cli.inspect(h + "/proj/web:1").at("Id") == web.config_digest);
    CHECK(cli.inspect(h + "/proj/cache:1").at("Id") == cache.config_digest);
    auto ids = cli.image_ids(cli.root());
    CHECK(ids.size() == 2);
    CHECK(cli.run({"image", "inspect", h + "/proj/offline:1"}).exit_code == 1);

    // Quiet: nothing on stdout (no references for project pulls).
    auto q = cli.run({"-f", compose, "pull", "-q"});
    REQUIRE_EXIT(q, 0);
    CHECK(q.out.empty());

    // --policy missing overrides the services' policy (as Compose's, pull_policy: never too,
    // hence the services named): present images are not pulled again.
    auto missing = cli.run({"-f", compose, "pull", "--policy", "missing", "web", "cache"});
    REQUIRE_EXIT(missing, 0);
    CHECK(missing.out.empty());
  }
  SECTION("only the services named") {
    auto r = cli.run({"-f", compose, "pull", "web"});
    REQUIRE_EXIT(r, 0);
    CHECK(has_line(r.out, "web Pulled"));
    CHECK(r.out.find("cache") == std::string::npos);
    CHECK(cli.image_ids(cli.root()) == std::vector<std::string>{short_hex(web.config_digest)});
  }
  SECTION("a service whose image does not exist fails the pull unless --ignore-pull-failures") {
    const std::string bad = cli.dir / "project/bad.yml";
    write_file(bad, "name: proj\n"
                    "services:\n"
                    "  web:\n"
                    "    image: " + h + "/proj/web:1\n"
                    "  broken:\n"
                    "    image: " + h + "/proj/absent:1\n");
    auto r = cli.run({"-f", bad, "pull"});
    CHECK_EXIT(r, 1);
    CHECK_THAT(r.err, Catch::Contains("service broken") &&
                          Catch::Contains(h + "/proj/absent:1"));
    // The good service is pulled all the same.
    CHECK(cli.inspect(h + "/proj/web:1").at("Id") == web.config_digest);

    auto ignored = cli.run_in(cli.root("ignored"), {"-f", bad, "pull", "--ignore-pull-failures"});
    CHECK_EXIT(ignored, 0);
    CHECK_THAT(ignored.err, Catch::Contains("service broken"));
    CHECK(cli.inspect_in(cli.root("ignored"), h + "/proj/web:1").at("Id") == web.config_digest);
  }
}

TEST_CASE("cli push: an imported directory is pushed, pulled elsewhere and identical", "[cli]") {
  auto registry = LocalRegistry::start();
  Cli cli;
  const std::string h = registry->host();
  const std::string rootfs = cli.dir / "rootfs";
  fs::create_directories(rootfs + "/bin");
  fs::copy_file("/bin/busybox", rootfs + "/bin/busybox");
  write_file(rootfs + "/etc/greeting", "hello from import\n");
  const std::string ref = h + "/imp/bb:1";

  auto imp = cli.run({"image", "import", "-c", "CMD [\"sh\"]", rootfs, ref});
  REQUIRE_EXIT(imp, 0);
  std::string id = lines(imp.out).at(0);
  CHECK(std::regex_match(id, std::regex("sha256:[0-9a-f]{64}")));
  Json local = cli.inspect(ref);
  CHECK(local.at("Id") == id);
  CHECK(local.at("Config").at("config").at("Cmd") == Json::array({"sh"}));
  REQUIRE(local.at("Layers").size() == 1);

  auto push = cli.run({"push", ref});
  REQUIRE_EXIT(push, 0);
  INFO(push.out);
  CHECK(lines(push.out).at(0) == "The push refers to repository [" + h + "/imp/bb]");
  std::smatch m;
  std::string last = lines(push.out).back();
  REQUIRE(std::regex_match(last, m, std::regex("1: digest: (sha256:[0-9a-f]{64}) size: (\\d+)")));
  const std::string digest = m[1];
  CHECK(registry->tag_digest("imp/bb", "1") == digest);
  auto manifest = registry->blob(digest);
  REQUIRE(manifest);
  CHECK(std::to_string(manifest->size()) == m[2].str());
  const std::string layer = layer_digests(local)[0];
  CHECK(registry->has_layer_link("imp/bb", layer));
  CHECK(has_line(push.out, short_hex(layer) + ": Pushed"));

  // Pulled into a fresh root: the same image.
  auto pull = cli.run_in(cli.root("other"), {"pull", "-q", ref});
  REQUIRE_EXIT(pull, 0);
  Json pulled = cli.inspect_in(cli.root("other"), ref);
  CHECK(pulled.at("Id") == local.at("Id"));
  CHECK(pulled.at("Layers") == local.at("Layers"));
  CHECK(pulled.at("ManifestDigest") == digest);
  CHECK(read_file(pulled.at("LowerDirs")[0].get<std::string>() + "/etc/greeting") ==
        "hello from import\n");

  SECTION("--chunk-size to another repository") {
    const std::string ref2 = h + "/imp/chunked:2";
    REQUIRE_EXIT(cli.run({"image", "tag", ref, ref2}), 0);
    auto chunked = cli.run({"push", "--chunk-size", "65536", ref2});
    REQUIRE_EXIT(chunked, 0);
    CHECK_THAT(lines(chunked.out).back(), Catch::StartsWith("2: digest: " + digest + " size: "));
    CHECK(registry->tag_digest("imp/chunked", "2") == digest);
    CHECK(registry->has_layer_link("imp/chunked", layer));
    auto blob = registry->blob(layer);
    REQUIRE(blob);
    CHECK(blob->size() == local.at("Layers")[0].at("Size").get<size_t>());
  }
  SECTION("-q prints the reference only; a second push finds the layer there") {
    auto q = cli.run({"push", "-q", ref});
    REQUIRE_EXIT(q, 0);
    CHECK(q.out == ref + "\n");
    auto again = cli.run({"push", ref});
    REQUIRE_EXIT(again, 0);
    CHECK(has_line(again.out, short_hex(layer) + ": Layer already exists"));
  }
  SECTION("an image not in the store") {
    auto none = cli.run({"push", h + "/imp/none:1"});
    CHECK_EXIT(none, 1);
    CHECK_THAT(none.err, Catch::Contains("no such image") && Catch::Contains(h + "/imp/none:1"));
    CHECK(registry->tag_digest("imp/none", "1").empty());
  }
}

TEST_CASE("cli save/load: two images through a file and stdin, garbage refused", "[cli]") {
  auto registry = LocalRegistry::start();
  Cli cli;
  TestImage a = stack::test::busybox_image();
  TestImage b = busybox_plus_image();
  const std::string h = registry->host();
  registry->seed("s/a", "1", a);
  registry->seed("s/b", "2", b);
  const std::string ra = h + "/s/a:1", rb = h + "/s/b:2";
  REQUIRE_EXIT(cli.run({"pull", "-q", ra, rb}), 0);
  const std::string archive = cli.dir / "images.tar";
  auto save = cli.run({"image", "save", "-o", archive, ra, rb});
  REQUIRE_EXIT(save, 0);
  CHECK(save.out.empty());
  REQUIRE(fs::file_size(archive) > 0);
  // No temporary file is left beside the archive.
  for (const auto& n : entries(cli.dir.path())) CHECK(n.find(".tmp-") == std::string::npos);

  auto check_loaded = [&](const std::string& root, const ProgramResult& r) {
    REQUIRE_EXIT(r, 0);
    CHECK(has_line(r.out, "Loaded image: " + ra));
    CHECK(has_line(r.out, "Loaded image: " + rb));
    for (const auto& ref : {ra, rb}) {
      Json mine = cli.inspect(ref), theirs = cli.inspect_in(root, ref);
      CHECK(theirs.at("Id") == mine.at("Id"));
      CHECK(theirs.at("Layers") == mine.at("Layers"));
      for (const auto& d : theirs.at("LowerDirs")) {
        CHECK(d.get<std::string>().rfind(root + "/images/layers/", 0) == 0);
        CHECK(fs::is_directory(d.get<std::string>()));
      }
    }
    // lowerdir= order: top layer first, busybox's base last.
    Json lb = cli.inspect_in(root, rb);
    REQUIRE(lb.at("LowerDirs").size() == 2);
    CHECK(read_file(lb.at("LowerDirs")[0].get<std::string>() + "/etc/extra") == "extra\n");
    CHECK(read_file(lb.at("LowerDirs")[1].get<std::string>() + "/bin/busybox") ==
          read_file("/bin/busybox"));
  };

  SECTION("from a file") {
    const std::string root = cli.root("loaded");
    check_loaded(root, cli.run_in(root, {"image", "load", "-i", archive}));
  }
  SECTION("from stdin") {
    const std::string root = cli.root("stdin");
    check_loaded(root, cli.run_in(root, {"image", "load"}, read_file(archive)));
  }
  SECTION("save to stdout, then load -q") {
    auto out = cli.run({"image", "save", ra});
    REQUIRE_EXIT(out, 0);
    auto q = cli.run_in(cli.root("q"), {"image", "load", "-q"}, out.out);
    REQUIRE_EXIT(q, 0);
    CHECK(q.out.empty());
    CHECK(cli.inspect_in(cli.root("q"), ra).at("Id") == a.config_digest);
  }
  SECTION("a garbage file and garbage on stdin") {
    const std::string junk = cli.dir / "junk.tar";
    write_file(junk, std::string(4096, 'x'));
    auto r = cli.run_in(cli.root("junk"), {"image", "load", "-i", junk});
    CHECK_EXIT(r, 1);
    CHECK_THAT(r.err, Catch::StartsWith("stack: ") && Catch::Contains(junk));
    auto s = cli.run_in(cli.root("junk"), {"image", "load"}, std::string("not an archive\n"));
    CHECK_EXIT(s, 1);
    CHECK_THAT(s.err, Catch::StartsWith("stack: "));
    CHECK(cli.image_ids(cli.root("junk")).empty());
    CHECK(entries(cli.root("junk") + "/images/layers").empty());
  }
  SECTION("save of an unknown image writes no file") {
    const std::string out = cli.dir / "none.tar";
    auto r = cli.run({"image", "save", "-o", out, h + "/s/none:1"});
    CHECK_EXIT(r, 1);
    CHECK_THAT(r.err, Catch::Contains(h + "/s/none:1"));
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("cli rm/prune: untag, and remove layers only when no image needs them", "[cli]") {
  auto registry = LocalRegistry::start();
  Cli cli;
  TestImage a = stack::test::busybox_image();
  TestImage b = busybox_plus_image();
  const std::string h = registry->host();
  registry->seed("r/a", "1", a);
  registry->seed("r/b", "1", b);
  const std::string ra = h + "/r/a:1", rb = h + "/r/b:1", ra2 = h + "/r/a:copy";
  REQUIRE_EXIT(cli.run({"pull", "-q", ra, rb}), 0);
  REQUIRE_EXIT(cli.run({"image", "tag", ra, ra2}), 0);
  CHECK(cli.inspect(ra2).at("Id") == a.config_digest);
  const std::string layers = cli.root() + "/images/layers";
  const std::string blobs = cli.root() + "/images/blobs/sha256";
  REQUIRE(entries(layers).size() == 2);  // busybox, busybox+extra (chain ids)
  const std::string a_config = a.config_digest.substr(7);
  REQUIRE(fs::exists(blobs + "/" + a_config));

  // The other tag still holds the image: nothing is deleted.
  auto rm1 = cli.run({"image", "rm", ra});
  REQUIRE_EXIT(rm1, 0);
  CHECK(rm1.out == "Untagged: " + ra + "\n");
  CHECK(cli.run({"image", "inspect", ra}).exit_code == 1);
  CHECK(cli.inspect(ra2).at("Id") == a.config_digest);
  CHECK(fs::exists(blobs + "/" + a_config));

  // Image a goes; its layer stays, since b is built on it.
  auto rm2 = cli.run({"image", "rm", ra2});
  REQUIRE_EXIT(rm2, 0);
  CHECK(has_line(rm2.out, "Untagged: " + ra2));
  CHECK_THAT(rm2.out, Catch::Contains("Deleted: ") && Catch::Contains(" 0 layers"));
  CHECK_FALSE(fs::exists(blobs + "/" + a_config));
  CHECK(entries(layers).size() == 2);
  Json jb = cli.inspect(rb);
  REQUIRE(jb.at("LowerDirs").size() == 2);
  CHECK(read_file(jb.at("LowerDirs")[0].get<std::string>() + "/etc/extra") == "extra\n");
  CHECK(read_file(jb.at("LowerDirs")[1].get<std::string>() + "/bin/busybox") ==
        read_file("/bin/busybox"));

  auto unknown = cli.run({"image", "rm", h + "/r/zzz:1"});
  CHECK_EXIT(unknown, 1);
  CHECK_THAT(unknown.err, Catch::Contains("no such image") && Catch::Contains(h + "/r/zzz:1"));

  auto rm3 = cli.run({"image", "rm", rb});
  REQUIRE_EXIT(rm3, 0);
  CHECK(entries(layers).empty());
  CHECK(cli.image_ids(cli.root()).empty());

  auto prune = cli.run({"image", "prune", "-f"});
  REQUIRE_EXIT(prune, 0);
  CHECK(has_line(prune.out, "Deleted 0 blobs and 0 layers"));
  CHECK(has_line(prune.out, "Total reclaimed space: 0B"));
}

TEST_CASE("cli image prune: removes what no image needs and says how much", "[cli]") {
  auto registry = LocalRegistry::start();
  Cli cli;
  registry->seed("p/a", "1", stack::test::busybox_image());
  const std::string ref = registry->host() + "/p/a:1";
  REQUIRE_EXIT(cli.run({"pull", "-q", ref}), 0);
  // An unreferenced verified blob, as an interrupted pull leaves behind.
  const std::string blobs = cli.root() + "/images/blobs/sha256";
  const std::string data(3000, 'z');
  const std::string hex = stack::sha256_hex(data);
  write_file(blobs + "/" + hex, data);
  auto prune = cli.run({"image", "prune"});
  REQUIRE_EXIT(prune, 0);
  CHECK(has_line(prune.out, "Deleted 1 blobs and 0 layers"));
  CHECK(has_line(prune.out, "Total reclaimed space: 3kB"));
  CHECK_FALSE(fs::exists(blobs + "/" + hex));
  CHECK(fs::is_directory(cli.inspect(ref).at("LowerDirs")[0].get<std::string>()));
}

TEST_CASE("cli login/logout: Basic auth registry, config.json", "[cli]") {
  LocalRegistryOptions o;
  o.auth = RegistryAuth::kBasic;
  auto registry = LocalRegistry::start(o);
  Cli cli;
  const std::string h = registry->host();
  registry->seed("private/bb", "1", stack::test::busybox_image());
  const std::string ref = h + "/private/bb:1";

  auto anon = cli.run({"pull", "-q", ref});
  CHECK_EXIT(anon, 1);
  CHECK_THAT(anon.err, Catch::Contains("image " + ref));

  auto wrong = cli.run({"login", "-u", "alice", "-p", "not-the-password", h});
  CHECK_EXIT(wrong, 1);
  CHECK_THAT(wrong.err, Catch::Contains("login to " + h));
  CHECK_FALSE(fs::exists(cli.config_json()));

  auto ok = cli.run({"login", "-u", "alice", "--password-stdin", h}, std::string("wonderland\n"));
  REQUIRE_EXIT(ok, 0);
  CHECK(has_line(ok.out, "Login Succeeded"));
  REQUIRE(fs::exists(cli.config_json()));
  struct stat st{};
  REQUIRE(::stat(cli.config_json().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat(cli.docker_config().c_str(), &st) == 0);  // created by login, private
  CHECK((st.st_mode & 07777) == 0700);
  std::string saved = read_file(cli.config_json());
  Json config = Json::parse(saved, nullptr, false);
  INFO(saved);
  REQUIRE(config.is_object());
  CHECK(config["auths"][h]["auth"] == base64("alice:wonderland"));
  CHECK(saved.find("wonderland") == std::string::npos);  // only in base64

  // A failed login leaves the saved credentials alone.
  auto wrong2 = cli.run({"login", "-u", "alice", "--password-stdin", h}, std::string("nope\n"));
  CHECK_EXIT(wrong2, 1);
  CHECK(read_file(cli.config_json()) == saved);

  auto pull = cli.run({"pull", "-q", ref});
  REQUIRE_EXIT(pull, 0);
  CHECK(pull.out == ref + "\n");

  auto logout = cli.run({"logout", h});
  REQUIRE_EXIT(logout, 0);
  CHECK(has_line(logout.out, "Removing login credentials for " + h));
  Json after = Json::parse(read_file(cli.config_json()), nullptr, false);
  REQUIRE(after.is_object());
  CHECK_FALSE(after.value("auths", Json::object()).contains(h));
  auto again = cli.run_in(cli.root("after-logout"), {"pull", "-q", ref});
  CHECK_EXIT(again, 1);

  SECTION("login and logout keep the other registries and keys of config.json") {
    write_file(cli.config_json(),
               R"({"auths":{"other.test:5000":{"auth":"eDp5"}},"psFormat":"table {{.ID}}"})");
    REQUIRE_EXIT(cli.run({"login", "-u", "alice", "-p", "wonderland", h}), 0);
    Json in = Json::parse(read_file(cli.config_json()), nullptr, false);
    REQUIRE(in.is_object());
    CHECK(in["auths"]["other.test:5000"]["auth"] == "eDp5");
    CHECK(in["auths"][h]["auth"] == base64("alice:wonderland"));
    CHECK(in["psFormat"] == "table {{.ID}}");
    REQUIRE_EXIT(cli.run({"logout", h}), 0);
    Json out = Json::parse(read_file(cli.config_json()), nullptr, false);
    REQUIRE(out.is_object());
    CHECK(out["auths"] == Json{{"other.test:5000", {{"auth", "eDp5"}}}});
    CHECK(out["psFormat"] == "table {{.ID}}");
  }
  SECTION("usage: no username, both password flags") {
    auto nouser = cli.run({"login", "-p", "x", h});
    CHECK_EXIT(nouser, 1);
    CHECK_THAT(nouser.err, Catch::Contains("username"));
    auto both = cli.run({"login", "-u", "alice", "-p", "x", "--password-stdin", h},
                        std::string("wonderland\n"));
    CHECK_EXIT(both, 1);
    CHECK_THAT(both.err, Catch::Contains("mutually exclusive"));
  }
}

TEST_CASE("cli login: token auth registry, then pull", "[cli]") {
  LocalRegistryOptions o;
  o.auth = RegistryAuth::kToken;
  auto registry = LocalRegistry::start(o);
  Cli cli;
  const std::string h = registry->host();
  TestImage image = stack::test::busybox_image();
  registry->seed("tok/bb", "1", image);
  const std::string ref = h + "/tok/bb:1";

  CHECK_EXIT(cli.run({"pull", "-q", ref}), 1);
  auto login = cli.run({"login", "-u", "alice", "--password-stdin", h},
                       std::string("wonderland\n"));
  REQUIRE_EXIT(login, 0);
  CHECK(has_line(login.out, "Login Succeeded"));
  auto pull = cli.run({"pull", ref});
  REQUIRE_EXIT(pull, 0);
  CHECK(has_line(pull.out, "Status: Downloaded newer image for " + ref));
  CHECK(cli.inspect(ref).at("Id") == image.config_digest);
  bool alice_pulled = false;
  for (const auto& t : registry->token_log())
    if (t.user == "alice" && t.status == 200)
      for (const auto& s : t.scopes) alice_pulled |= s.rfind("repository:tok/bb:pull", 0) == 0;
  CHECK(alice_pulled);
}

TEST_CASE("cli usage errors exit 2", "[cli]") {
  Cli cli;
  auto r = cli.run({"pull", "--platform"});
  CHECK_EXIT(r, 2);
  CHECK_FALSE(r.err.empty());
  CHECK_EXIT(cli.run({"image", "tag", "only-one"}), 2);
  CHECK_EXIT(cli.run({"images", "--format", "xml"}), 2);
  CHECK_EXIT(cli.run({"image"}), 2);
  CHECK_EXIT(cli.run({"push"}), 2);
  // A bad value that parses is a failure (1), not a usage error.
  auto bad = cli.run({"pull", "--platform", "linux/amd64", "Not_A/Valid:Ref"});
  CHECK_EXIT(bad, 1);
  CHECK_THAT(bad.err, Catch::Contains("Not_A/Valid:Ref"));
}

TEST_CASE("cli pull --platform: a single-platform image of another platform is refused", "[cli]") {
  auto registry = LocalRegistry::start();
  Cli cli;
  registry->seed("tools/busybox", "1", stack::test::busybox_image());
  const std::string ref = registry->host() + "/tools/busybox:1";
  auto r = cli.run({"pull", "--platform", "linux/arm64", ref});
  CHECK_EXIT(r, 1);
  CHECK(r.err == "stack: image " + ref + ": the image is linux/amd64 only, not linux/arm64\n");
  CHECK(cli.image_ids(cli.root()).empty());
  CHECK_EXIT(cli.run({"pull", "-q", "--platform", "linux/amd64", ref}), 0);
}

TEST_CASE("cli logout: not logged in is said, and is not an error (as Docker)", "[cli]") {
  Cli cli;
  auto r = cli.run({"logout", "127.0.0.1:1"});
  CHECK_EXIT(r, 0);
  CHECK(r.out == "Not logged in to 127.0.0.1:1\n");
}
