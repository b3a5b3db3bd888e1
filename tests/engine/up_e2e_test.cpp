// The engine end to end: the real `stack` binary with its shims and runtime on this machine,
// images imported into a fresh state root (engine_fixture.h).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "engine/engine_fixture.h"
#include "engine/http_util.h"

using stack::test::EngineProject;
using stack::test::free_port;
using stack::test::http_request;

namespace {

std::string state(const nlohmann::json& c) { return c.value("State", ""); }

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("up -d starts a health-gated chain with a one-shot job in order") {
  EngineProject p("chain");
  p.write_compose(R"(services:
  db:
    image: busybox:e2e
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 1000"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      # Failures during the start period do not count (else db would be unhealthy before it
      # is ready, and Compose fails a service_healthy dependency on an unhealthy container).
      start_period: 20s
      start_interval: 200ms
  migrate:
    image: busybox:e2e
    command: ["sh", "-c", "echo migrated"]
    depends_on:
      db: {condition: service_healthy}
  web:
    image: busybox:e2e
    command: ["sh", "-c", "echo web started; exec sleep 1000"]
    depends_on:
      migrate: {condition: service_completed_successfully}
)");
  auto up = p.stack({"up", "-d"});
  INFO(up.describe());
  REQUIRE(up.exit_code == 0);
  auto ps = p.ps();
  REQUIRE(ps.size() == 3);
  CHECK(state(ps["chain-db-1"]) == "running");
  CHECK(ps["chain-db-1"]["Health"] == "healthy");
  CHECK(state(ps["chain-migrate-1"]) == "exited");
  CHECK(ps["chain-migrate-1"]["ExitCode"] == 0);
  CHECK(state(ps["chain-web-1"]) == "running");
  // migrate started only after a successful probe of db; web only after migrate finished.
  auto db = p.status("chain-db-1");
  auto migrate = p.status("chain-migrate-1");
  auto web = p.status("chain-web-1");
  std::string first_ok;
  for (const auto& probe : db["health"]["log"])
    if (probe["exit_code"] == 0 && first_ok.empty()) first_ok = probe["end"];
  REQUIRE(!first_ok.empty());
  CHECK(migrate["started_at"].get<std::string>() >= first_ok);
  CHECK(web["started_at"].get<std::string>() >= migrate["finished_at"].get<std::string>());
  auto logs = p.stack({"logs", "--no-color", "migrate", "web"});
  CHECK(logs.out.find("migrate-1  | migrated") != std::string::npos);
  CHECK(logs.out.find("web-1      | web started") != std::string::npos);
  // A new shell (another process) sees the same state: nothing lives in the CLI.
  CHECK(p.stack({"ps", "-q"}).out.size() == 2 * 65);
}

TEST_CASE("a no-op up changes nothing and a changed service alone is recreated") {
  EngineProject p("recreate");
  auto file = [&](const std::string& web_cmd) {
    p.write_compose("services:\n  db:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n"
                    "  web:\n    image: busybox:e2e\n    command: [\"sh\", \"-c\", \"" + web_cmd +
                    "\"]\n    stop_grace_period: 1s\n");
  };
  file("exec sleep 1000");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  auto before = p.ps();
  auto again = p.stack({"up", "-d"});
  REQUIRE(again.exit_code == 0);
  CHECK(again.err.find("Created") == std::string::npos);
  CHECK(p.ps()["recreate-web-1"]["ID"] == before["recreate-web-1"]["ID"]);
  CHECK(p.stack({"up", "-d", "--dry-run"}).out.empty());

  file("echo v2; exec sleep 1000");
  auto dry = p.stack({"up", "-d", "--dry-run"});
  CHECK(dry.out.find("config hash changed") != std::string::npos);
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  auto after = p.ps();
  REQUIRE(after.size() == 2);
  CHECK(after["recreate-web-1"]["ID"] != before["recreate-web-1"]["ID"]);
  CHECK(after["recreate-db-1"]["ID"] == before["recreate-db-1"]["ID"]);
  CHECK(state(after["recreate-web-1"]) == "running");
}

TEST_CASE("scale changes only the replica count, and logs -f picks up replicas started later") {
  EngineProject p("scale");
  p.write_compose(R"(services:
  db:
    image: busybox:e2e
    command: ["sleep", "1000"]
  web:
    image: busybox:e2e
    command: ["sh", "-c", "echo hello from $$(hostname); exec sleep 1000"]
    stop_grace_period: 1s
)");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  auto before = p.ps();
  std::string follow_out;
  std::thread follower([&] {
    follow_out = p.stack({"logs", "-f", "--no-color", "web"}, std::chrono::milliseconds(5000)).out;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto up3 = p.stack({"scale", "web=3"});
  follower.join();
  INFO(up3.describe());
  REQUIRE(up3.exit_code == 0);
  auto three = p.ps();
  REQUIRE(three.size() == 4);
  for (const char* n : {"scale-web-1", "scale-web-2", "scale-web-3"}) CHECK(state(three[n]) == "running");
  CHECK(three["scale-web-1"]["ID"] == before["scale-web-1"]["ID"]);
  CHECK(three["scale-db-1"]["ID"] == before["scale-db-1"]["ID"]);
  CHECK(follow_out.find("web-3  | hello from") != std::string::npos);

  REQUIRE(p.stack({"scale", "web=1"}).exit_code == 0);
  auto one = p.ps();
  REQUIRE(one.size() == 2);
  CHECK(one["scale-web-1"]["ID"] == before["scale-web-1"]["ID"]);
}

TEST_CASE("restart policies after kill -9 of the container's process") {
  EngineProject p("restart");
  p.write_compose(R"(services:
  always:
    image: busybox:e2e
    command: ["sleep", "1000"]
    restart: always
  never:
    image: busybox:e2e
    command: ["sleep", "1000"]
)");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  auto a = p.status("restart-always-1");
  auto n = p.status("restart-never-1");
  int a_pid = a["pid"], n_pid = n["pid"];
  REQUIRE(a_pid > 0);
  REQUIRE(n_pid > 0);
  REQUIRE(::kill(a_pid, SIGKILL) == 0);
  REQUIRE(::kill(n_pid, SIGKILL) == 0);
  CHECK(EngineProject::eventually([&] {
    auto s = p.status("restart-always-1");
    return s["restart_count"] == 1 && s["state"] == "running" && s["pid"] != a_pid;
  }));
  CHECK(EngineProject::eventually([&] {
    auto s = p.status("restart-never-1");
    return s["state"] == "exited" && s["exit_code"] == 137;
  }));
  // `up` starts the exited one again, as Compose does.
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  CHECK(state(p.ps()["restart-never-1"]) == "running");
}

TEST_CASE("busybox httpd answers real HTTP requests") {
  EngineProject p("http");
  int port = free_port();
  p.write_compose("services:\n  web:\n    image: busybox:e2e\n    network_mode: host\n"
                  "    command: [\"httpd\", \"-f\", \"-p\", \"127.0.0.1:" + std::to_string(port) +
                  "\", \"-h\", \"/www\"]\n");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  std::string reply;
  CHECK(EngineProject::eventually([&] {
    reply = http_request("127.0.0.1", port, "/index.html");
    return reply.find("hello from stack") != std::string::npos;
  }));
  CHECK(reply.rfind("HTTP/1.", 0) == 0);
}

TEST_CASE("a named volume is filled from the image, and down -v leaves nothing behind") {
  EngineProject p("vol");
  p.write_compose(R"(services:
  app:
    image: busybox:e2e
    command: ["sh", "-c", "cat /data/seed.txt; echo written > /data/new; exec sleep 1000"]
    volumes: ["data:/data"]
    restart: always
  scratch:
    image: busybox:e2e
    command: ["sleep", "1000"]
    volumes: ["/scratch"]
volumes:
  data: {}
)");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  const std::string vol = p.root() + "/volumes/vol_data/_data";
  CHECK(EngineProject::eventually([&] { return slurp(vol + "/new") == "written\n"; }));
  CHECK(slurp(vol + "/seed.txt") == "from the image\n");
  CHECK(EngineProject::eventually([&] {
    return p.stack({"logs", "app"}).out.find("from the image") != std::string::npos;
  }));
  // A recreate keeps the anonymous volume (Compose's behaviour): the data written survives.
  REQUIRE(p.stack({"exec", "-T", "scratch", "sh", "-c", "echo kept > /scratch/f"}).exit_code == 0);
  auto old_id = p.ps()["vol-scratch-1"]["ID"];
  REQUIRE(p.stack({"up", "-d", "--force-recreate", "-t", "0", "scratch"}).exit_code == 0);
  CHECK(p.ps()["vol-scratch-1"]["ID"] != old_id);
  CHECK(p.stack({"exec", "-T", "scratch", "cat", "/scratch/f"}).out == "kept\n");
  CHECK(entries(p.root() + "/volumes").size() == 2);  // vol_data and the one anonymous volume

  auto ps = p.ps();
  std::vector<std::string> ids;
  std::vector<int> shim_pids;
  for (auto& [name, c] : ps) {
    ids.push_back(c["ID"]);
    shim_pids.push_back(p.status(name)["shim_pid"]);
  }
  REQUIRE(ids.size() == 2);

  auto down = p.stack({"down", "-v"});
  REQUIRE(down.exit_code == 0);
  CHECK(entries(p.root() + "/containers").empty());
  CHECK(entries(p.root() + "/containers/.names").empty());
  CHECK(entries(p.root() + "/volumes").empty());
  CHECK(entries(p.root() + "/networks") == std::vector<std::string>{"ipam"});
  CHECK(entries(p.root() + "/networks/ipam").empty());
  std::string mounts = slurp("/proc/self/mountinfo");
  CHECK(mounts.find(p.root()) == std::string::npos);
  for (const auto& id : ids) {
    CHECK(::access(("/run/stack/runtime/" + id).c_str(), F_OK) != 0);
    for (const char* ctl : {"memory", "pids", "cpu"})
      CHECK(::access(("/sys/fs/cgroup/" + std::string(ctl) + "/stack/" + id).c_str(), F_OK) != 0);
  }
  // Gone, or a zombie that this machine's init has not reaped yet.
  for (int pid : shim_pids) {
    std::string st = slurp("/proc/" + std::to_string(pid) + "/stat");
    CHECK((st.empty() || st.find(") Z ") != std::string::npos));
  }
}

TEST_CASE("bad input: a clear error naming the service, and nothing running is lost") {
  EngineProject p("bad");
  p.write_compose("services:\n  web:\n    image: busybox:e2e\n    ports: [\"80:80:80:80\"]\n");
  auto invalid = p.stack({"up", "-d"});
  CHECK(invalid.exit_code != 0);
  CHECK(invalid.err.find("compose.yaml:") != std::string::npos);

  p.write_compose(R"(services:
  good:
    image: busybox:e2e
    command: ["sleep", "1000"]
  broken:
    image: busybox:e2e
    command: ["/no/such/program"]
  after:
    image: busybox:e2e
    command: ["sleep", "1000"]
    depends_on: [broken]
)");
  auto up = p.stack({"up", "-d"});
  CHECK(up.exit_code == 1);
  CHECK(up.err.find("container bad-broken-1") != std::string::npos);
  CHECK(up.err.find("/no/such/program") != std::string::npos);
  auto ps = p.ps();
  CHECK(state(ps["bad-good-1"]) == "running");
  CHECK(ps.count("bad-after-1") == 0);
  auto good_id = ps["bad-good-1"]["ID"];

  p.write_compose(R"(services:
  good:
    image: busybox:e2e
    command: ["sleep", "1000"]
  missing:
    image: busybox:nope
    pull_policy: never
)");
  auto missing = p.stack({"up", "-d"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("service missing") != std::string::npos);
  CHECK(p.ps()["bad-good-1"]["ID"] == good_id);

  p.write_compose(R"(services:
  a:
    image: busybox:e2e
    depends_on: [b]
  b:
    image: busybox:e2e
    depends_on: [a]
)");
  auto cycle = p.stack({"up", "-d"});
  CHECK(cycle.exit_code != 0);
  CHECK(cycle.err.find("cycle") != std::string::npos);
  CHECK(p.ps()["bad-good-1"]["ID"] == good_id);
}

TEST_CASE("killing stack up at any moment and running it again converges") {
  EngineProject p("crash");
  std::string yaml = "services:\n";
  for (int i = 0; i < 6; ++i)
    yaml += "  s" + std::to_string(i) + ":\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n";
  p.write_compose(yaml);
  for (int delay_ms : {30, 80, 150}) {
    auto killed = p.stack({"up", "-d"}, std::chrono::milliseconds(delay_ms));
    INFO("killed after " << delay_ms << " ms: " << killed.describe());
    auto again = p.stack({"up", "-d"});
    INFO(again.describe());
    REQUIRE(again.exit_code == 0);
    auto ps = p.ps();
    CHECK(ps.size() == 6);
    for (auto& [name, c] : ps) CHECK(state(c) == "running");
    // Every container directory has its record: nothing half-created survives.
    for (const auto& id : entries(p.root() + "/containers"))
      CHECK(::access((p.root() + "/containers/" + id + "/container.json").c_str(), F_OK) == 0);
    REQUIRE(p.stack({"down", "-t", "0"}).exit_code == 0);
  }
}

TEST_CASE("attached up prints prefixed output and exit lines, and aborts on container exit") {
  EngineProject p("attach");
  p.write_compose(R"(services:
  a:
    image: busybox:e2e
    command: ["sh", "-c", "echo from a"]
  b:
    image: busybox:e2e
    command: ["sh", "-c", "sleep 0.5; echo from b; exit 3"]
)");
  auto up = p.stack({"up", "--no-color"}, std::chrono::milliseconds(30000));
  INFO(up.describe());
  CHECK(up.exit_code == 0);
  CHECK(up.out.find("a-1  | from a\n") != std::string::npos);
  CHECK(up.out.find("b-1  | from b\n") != std::string::npos);
  CHECK(up.out.find("b-1 exited with code 3\n") != std::string::npos);

  p.write_compose(R"(services:
  sleeper:
    image: busybox:e2e
    command: ["sleep", "1000"]
    stop_grace_period: 1s
  b:
    image: busybox:e2e
    command: ["sh", "-c", "sleep 0.5; exit 3"]
)");
  auto abort = p.stack({"up", "--no-color", "--abort-on-container-exit", "--exit-code-from", "b"},
                       std::chrono::milliseconds(30000));
  INFO(abort.describe());
  CHECK(abort.exit_code == 3);
  auto ps = p.ps();
  CHECK(state(ps["attach-sleeper-1"]) == "exited");
}

TEST_CASE("init: true forwards the stop signal and reaps orphaned zombies") {
  EngineProject p("init");
  p.write_compose(R"(services:
  app:
    image: busybox:e2e
    init: true
    command: ["sh", "-c", "(sleep 0.2 &); exec sleep 1000"]
    stop_grace_period: 60s
)");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto top = p.stack({"top"});
  REQUIRE(top.exit_code == 0);
  CHECK(top.out.find("/sbin/docker-init -- sh -c") != std::string::npos);
  // The orphaned `sleep 0.2` came to the init, which reaped it: no zombie in the container.
  std::istringstream lines(top.out);
  std::string line;
  int processes = 0;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string uid, pid;
    f >> uid >> pid;
    if (pid.empty() || !std::isdigit(static_cast<unsigned char>(pid[0]))) continue;
    ++processes;
    CHECK(slurp("/proc/" + pid + "/stat").find(") Z ") == std::string::npos);
  }
  CHECK(processes == 2);  // the init and sleep 1000
  // SIGTERM reaches `sleep` through the init: the stop does not wait for the 60 s grace.
  auto stop = p.stack({"stop"});
  REQUIRE(stop.exit_code == 0);
  CHECK(stop.elapsed < std::chrono::milliseconds(10000));
  CHECK(p.status("init-app-1")["exit_code"] == 143);
}

TEST_CASE("events --json reports create, start, die and destroy") {
  EngineProject p("events");
  p.write_compose(R"(services:
  job:
    image: busybox:e2e
    command: ["sh", "-c", "sleep 0.3; exit 2"]
)");
  std::string out;
  std::thread watcher([&] {
    out = p.stack({"events", "--json"}, std::chrono::milliseconds(5000)).out;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  REQUIRE(p.stack({"down"}).exit_code == 0);
  watcher.join();
  std::vector<std::string> actions;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    CHECK(j["service"] == "job");
    CHECK(j["attributes"]["name"] == "events-job-1");
    actions.push_back(j["action"]);
    if (j["action"] == "die") CHECK(j["attributes"]["exitCode"] == "2");
  }
  CHECK(actions == std::vector<std::string>{"create", "start", "die", "destroy"});
}

TEST_CASE("rm -v removes anonymous volumes, and a container_name taken by another project is refused") {
  EngineProject p("rmv");
  p.write_compose(R"(services:
  app:
    image: busybox:e2e
    command: ["sleep", "1000"]
    container_name: shared-name
    volumes: ["/scratch"]
)");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  CHECK(entries(p.root() + "/volumes").size() == 1);
  // Another project in the same state root wants the same container name.
  auto other = p.stack({"-p", "rmv-other", "up", "-d"});
  CHECK(other.exit_code == 1);
  CHECK(other.err.find("container name \"shared-name\" is already in use") != std::string::npos);
  // Its network was made before the name clash: take that project down too.
  CHECK(p.stack({"-p", "rmv-other", "down"}).exit_code == 0);
  CHECK(state(p.ps()["shared-name"]) == "running");
  REQUIRE(p.stack({"stop", "-t", "0"}).exit_code == 0);
  REQUIRE(p.stack({"rm", "-f", "-v"}).exit_code == 0);
  CHECK(p.ps().empty());
  CHECK(entries(p.root() + "/volumes").empty());
}

TEST_CASE("two concurrent ups of one project serialise, and up --wait returns once healthy") {
  EngineProject p("concurrent");
  std::string yaml = "services:\n";
  for (int i = 0; i < 4; ++i)
    yaml += "  s" + std::to_string(i) + ":\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n";
  yaml += R"(  slow:
    image: busybox:e2e
    command: ["sh", "-c", "sleep 1; touch /tmp/ok; exec sleep 1000"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      start_period: 30s
      start_interval: 100ms
)";
  p.write_compose(yaml);
  stack::test::ProgramResult a, b;
  std::thread ta([&] { a = p.stack({"up", "-d"}); });
  std::thread tb([&] { b = p.stack({"up", "-d"}); });
  ta.join();
  tb.join();
  INFO(a.describe() << "\n" << b.describe());
  CHECK(a.exit_code == 0);
  CHECK(b.exit_code == 0);
  auto ps = p.ps();
  CHECK(ps.size() == 5);  // no duplicate replica, no name conflict
  REQUIRE(p.stack({"down", "-t", "0"}).exit_code == 0);

  auto wait = p.stack({"up", "--wait"});
  INFO(wait.describe());
  REQUIRE(wait.exit_code == 0);
  CHECK(wait.elapsed >= std::chrono::milliseconds(900));
  CHECK(p.ps()["concurrent-slow-1"]["Health"] == "healthy");
}

TEST_CASE("secrets and configs are mounted read-only with their uid, gid and mode") {
  EngineProject p("secrets");
  std::ofstream(p.dir() + "/pw.txt") << "s3cret\n";
  p.write_compose(R"(services:
  app:
    image: busybox:e2e
    command: ["sleep", "1000"]
    secrets:
      - pw
      - source: pw
        target: pw_for_nobody
        uid: "65534"
        gid: "65534"
        mode: 0400
    configs:
      - source: settings
        target: /etc/app.conf
secrets:
  pw:
    file: ./pw.txt
configs:
  settings:
    content: |
      level=debug
)");
  auto up = p.stack({"up", "-d"});
  INFO(up.describe());
  REQUIRE(up.exit_code == 0);
  auto exec = [&](const std::string& cmd) { return p.stack({"exec", "-T", "app", "sh", "-c", cmd}).out; };
  CHECK(exec("cat /run/secrets/pw") == "s3cret\n");
  CHECK(exec("cat /etc/app.conf") == "level=debug\n");
  CHECK(exec("ls -ln /run/secrets/pw_for_nobody").rfind("-r--------    1 65534    65534", 0) == 0);
  INFO(exec("ls -ln /run/secrets/"));
  CHECK(exec("ls -ln /run/secrets/pw").rfind("-r--r--r--", 0) == 0);
  CHECK(exec("echo x > /run/secrets/pw 2>&1 || echo refused") .find("refused") != std::string::npos);
}

TEST_CASE("a container killed by the OOM killer is recorded as oom_killed") {
  EngineProject p("oom");
  p.write_compose(R"(services:
  hog:
    image: busybox:e2e
    command: ["sh", "-c", "x=$$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"]
    mem_limit: 16m
    memswap_limit: 16m
  fine:
    image: busybox:e2e
    command: ["sh", "-c", "exit 0"]
)");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);
  CHECK(EngineProject::eventually([&] { return p.status("oom-hog-1")["state"] == "exited"; }));
  auto hog = p.status("oom-hog-1");
  CHECK(hog["oom_killed"] == true);
  CHECK(hog["exit_code"] == 137);
  CHECK(EngineProject::eventually([&] { return p.status("oom-fine-1")["state"] == "exited"; }));
  CHECK(p.status("oom-fine-1")["oom_killed"] == false);
}

TEST_CASE("Ctrl-C on an attached up stops the containers and exits 130") {
  EngineProject p("ctrlc");
  p.write_compose(R"(services:
  a:
    image: busybox:e2e
    command: ["sh", "-c", "echo up; exec sleep 1000"]
    stop_grace_period: 1s
)");
  // The real binary, attached, in its own process group as a shell would run it.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::setpgid(0, 0);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (::chdir(p.dir().c_str()) != 0) ::_exit(126);
    ::execl(STACK_BIN, STACK_BIN, "--root", p.root().c_str(), "up", "--no-color", nullptr);
    ::_exit(127);
  }
  CHECK(EngineProject::eventually([&] {
    auto ps = p.ps();
    return ps.count("ctrlc-a-1") && state(ps["ctrlc-a-1"]) == "running";
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(::kill(pid, SIGINT) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(state(p.ps()["ctrlc-a-1"]) == "exited");
}
