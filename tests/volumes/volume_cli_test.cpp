// `stack volume …` through run_volume_cli on a temporary state root: Docker's output of ls,
// inspect, create, rm and prune.
#include <CLI/CLI.hpp>
#include <catch2/catch.hpp>
#include <regex>
#include <sstream>

#include "stack/common/syscalls.h"
#include "stack/volumes/local.h"
#include "volume_cli.h"
#include "volumes/volume_test_util.h"

using namespace stack;
using volume_test::TempDir;

namespace {

struct Run {
  int code = -2;
  std::string out, err;
};

// Parses `args` as the words after `stack` and runs the volume verb.
Run stack_volume(const std::string& root, const std::string& args) {
  CLI::App app;
  std::vector<std::string> files;
  app.add_option("-f,--file", files);  // stack's global -f, which the verbs' -f must shadow
  cli::VolumeCli state;
  cli::add_volume_commands(app, state);
  std::ostringstream out, err;
  RecordingSyscalls sys;
  state.out = &out;
  state.err = &err;
  state.syscalls = &sys;
  app.parse(args, /*program_name_included=*/false);
  Run r;
  r.code = cli::run_volume_cli(root, state);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace

TEST_CASE("no volume verb parsed: -1") {
  CLI::App app;
  cli::VolumeCli state;
  cli::add_volume_commands(app, state);
  app.add_subcommand("other");
  app.parse(std::string("other"), false);
  CHECK(cli::run_volume_cli("/nonexistent", state) == -1);
}

TEST_CASE("create prints the name, ls shows Docker's table, natural order") {
  TempDir t;
  CHECK(stack_volume(t.path, "volume ls").out == "DRIVER    VOLUME NAME\n");
  auto c = stack_volume(t.path, "volume create --label tier=db -o type=tmpfs -o device=tmpfs "
                                "-o o=size=1m data10");
  CHECK(c.code == 0);
  CHECK(c.out == "data10\n");
  CHECK(stack_volume(t.path, "volume create data9").out == "data9\n");
  CHECK(stack_volume(t.path, "volume create --name Zeta").out == "Zeta\n");
  auto ls = stack_volume(t.path, "volume ls");
  CHECK(ls.code == 0);
  CHECK(ls.out == R"(DRIVER    VOLUME NAME
local     Zeta
local     data9
local     data10
)");
  CHECK(stack_volume(t.path, "volume list -q").out == "Zeta\ndata9\ndata10\n");
  CHECK(stack_volume(t.path, "volume ls -q -f label=tier=db").out == "data10\n");
  CHECK(stack_volume(t.path, "volume ls -q -f label=tier").out == "data10\n");
  CHECK(stack_volume(t.path, "volume ls -q -f label=tier=web").out.empty());
  CHECK(stack_volume(t.path, "volume ls -q -f name=data").out == "data9\ndata10\n");
  CHECK(stack_volume(t.path, "volume ls -q -f name=^Z -f name=9$").out == "Zeta\ndata9\n");
  CHECK(stack_volume(t.path, "volume ls -q -f driver=local -f name=Zeta").out == "Zeta\n");
  CHECK(stack_volume(t.path, "volume ls -q -f driver=nfs").out.empty());

  SECTION("--format json is one Docker row per line") {
    auto j = stack_volume(t.path, "volume ls --format json -f name=data10");
    CHECK(j.out == R"({"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"tier=db",)"
                   R"("Links":"N/A","Mountpoint":")" + t.path + R"(/volumes/data10/_data",)"
                   R"("Name":"data10","Scope":"local","Size":"N/A","Status":"N/A"})" "\n");
  }
  SECTION("dangling means without consumers") {
    RecordingSyscalls sys;
    auto d = volumes::LocalDriver::open(t.path + "/volumes", sys);
    VOL_REQUIRE_OK(d);
    VOL_REQUIRE_OK(d->acquire("data9", "c0ffee"));
    CHECK(stack_volume(t.path, "volume ls -q -f dangling=true").out == "Zeta\ndata10\n");
    CHECK(stack_volume(t.path, "volume ls -q -f dangling=0").out == "data9\n");
  }
  SECTION("bad filters are Docker's errors") {
    auto bad = stack_volume(t.path, "volume ls -f foo=bar");
    CHECK(bad.code == 1);
    CHECK(bad.err == "Error: invalid filter 'foo'\n");
    CHECK(stack_volume(t.path, "volume ls -f dangling=maybe").err ==
          "Error: invalid filter 'dangling=maybe'\n");
    CHECK(stack_volume(t.path, "volume ls -f dangling").err ==
          "Error: bad format of filter (expected name=value)\n");
  }
}

TEST_CASE("create without a name makes an anonymous volume, bad input is refused") {
  TempDir t;
  auto c = stack_volume(t.path, "volume create");
  CHECK(c.code == 0);
  REQUIRE(std::regex_match(c.out, std::regex("[0-9a-f]{64}\n")));
  std::string name = c.out.substr(0, 64);
  auto i = stack_volume(t.path, "volume inspect " + name);
  CHECK(i.out.find(R"("com.docker.volume.anonymous": "")") != std::string::npos);

  auto bad = stack_volume(t.path, "volume create -o foo=1 ok");
  CHECK(bad.code == 1);
  CHECK(bad.out.empty());
  CHECK(bad.err == "Error: create ok: invalid option: \"foo\"\n");
  CHECK(stack_volume(t.path, "volume create -d nfs ok").err ==
        "Error: create ok: error looking up volume plugin nfs: plugin \"nfs\" not found\n");
  CHECK(stack_volume(t.path, "volume create a").err ==
        "Error: create a: volume name is too short, names should be at least two alphanumeric "
        "characters\n");
}

TEST_CASE("inspect prints the found volumes and an error per missing one") {
  TempDir t;
  auto c = stack_volume(t.path, "volume create -o type=none -o device=/srv -o o=bind app");
  REQUIRE(c.code == 0);
  auto i = stack_volume(t.path, "volume inspect app nope");
  CHECK(i.code == 1);
  CHECK(i.err == "Error: No such volume: nope\n");
  std::regex doc(R"re(\[
    \{
        "CreatedAt": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
        "Driver": "local",
        "Labels": \{\},
        "Mountpoint": "([^"]+)",
        "Name": "app",
        "Options": \{
            "device": "/srv",
            "o": "bind",
            "type": "none"
        \},
        "Scope": "local"
    \}
\]
)re");
  std::smatch m;
  REQUIRE(std::regex_match(i.out, m, doc));
  CHECK(m[1] == t.path + "/volumes/app/_data");
  auto none = stack_volume(t.path, "volume inspect nope");
  CHECK(none.out == "[]\n");
  CHECK(none.code == 1);
}

TEST_CASE("rm prints each removed name and refuses volumes in use") {
  TempDir t;
  for (auto n : {"a1", "a2", "busy"})
    REQUIRE(stack_volume(t.path, std::string("volume create ") + n).code == 0);
  RecordingSyscalls sys;
  auto d = volumes::LocalDriver::open(t.path + "/volumes", sys);
  VOL_REQUIRE_OK(d);
  VOL_REQUIRE_OK(d->acquire("busy", "abc123"));
  auto r = stack_volume(t.path, "volume rm a1 busy nope a2");
  CHECK(r.code == 1);
  CHECK(r.out == "a1\na2\n");
  CHECK(r.err == "Error: remove busy: volume is in use - [abc123]\n"
                 "Error: No such volume: nope\n");
  auto f = stack_volume(t.path, "volume rm -f busy nope");
  CHECK(f.code == 1);  // -f forgives the missing one only, as Docker's
  CHECK(f.err == "Error: remove busy: volume is in use - [abc123]\n");
  CHECK(stack_volume(t.path, "volume ls -q").out == "busy\n");
  CHECK(stack_volume(t.path, "volume remove -f nope").code == 0);
}

TEST_CASE("prune removes unused anonymous volumes, or all unused with -a") {
  TempDir t;
  std::string anon1 = stack_volume(t.path, "volume create").out.substr(0, 64);
  std::string anon2 = stack_volume(t.path, "volume create").out.substr(0, 64);
  REQUIRE(stack_volume(t.path, "volume create named").code == 0);
  REQUIRE(stack_volume(t.path, "volume create used").code == 0);
  RecordingSyscalls sys;
  auto d = volumes::LocalDriver::open(t.path + "/volumes", sys);
  VOL_REQUIRE_OK(d);
  VOL_REQUIRE_OK(d->acquire(anon2, "c1"));
  VOL_REQUIRE_OK(d->acquire("used", "c1"));
  volume_test::write(t.path + "/volumes/" + anon1 + "/_data/f", std::string(1234, 'x'));

  auto p = stack_volume(t.path, "volume prune -f");
  CHECK(p.code == 0);
  CHECK(p.out == "Deleted Volumes:\n" + anon1 + "\n\nTotal reclaimed space: 1.234kB\n");
  auto a = stack_volume(t.path, "volume prune -a -f");
  CHECK(a.out == "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n");
  CHECK(stack_volume(t.path, "volume prune").out == "Total reclaimed space: 0B\n");
  auto left = stack_volume(t.path, "volume ls -q").out;
  CHECK((left == "used\n" + anon2 + "\n" || left == anon2 + "\nused\n"));
}
