// `stack exec` and `stack run` end to end: the real binary, shims and runtime on this machine
// (engine_fixture.h).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "engine/engine_fixture.h"

using stack::test::EngineProject;
using stack::test::ProgramOptions;
using stack::test::ProgramResult;

namespace {

std::string state(const nlohmann::json& c) { return c.value("State", ""); }

// `stack --root R args…` in the project directory with stdin_data on stdin.
ProgramResult stack_with_stdin(const EngineProject& p, const std::vector<std::string>& args,
                               const std::string& stdin_data) {
  std::vector<std::string> all = {"--root", p.root()};
  all.insert(all.end(), args.begin(), args.end());
  ProgramOptions o;
  o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"};
  o.cwd = p.dir();
  o.stdin_data = stdin_data;
  return stack::test::run_program(STACK_BIN, all, o);
}

// The records of every container in the state root (one-offs included), by name.
std::map<std::string, nlohmann::json> records(const EngineProject& p) {
  std::map<std::string, nlohmann::json> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(p.root() + "/containers", ec)) {
    std::ifstream in(e.path() / "container.json");
    if (!in) continue;
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_object()) out[j["name"].get<std::string>()] = j;
  }
  return out;
}

// Runs `stack args…` with a new pty as its stdin and controlling terminal, stdout and stderr to
// a pipe; returns what it printed and its exit status.
std::pair<std::string, int> stack_on_pty(const EngineProject& p,
                                         const std::vector<std::string>& args) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  std::string slave_name = ::ptsname(master);
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  std::vector<std::string> all = {STACK_BIN, "--root", p.root()};
  all.insert(all.end(), args.begin(), args.end());
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::setsid();
    int slave = ::open(slave_name.c_str(), O_RDWR);  // becomes the controlling terminal
    if (slave < 0) ::_exit(126);
    ::dup2(slave, 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    if (::chdir(p.dir().c_str()) != 0) ::_exit(126);
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    char env0[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    char* envp[] = {env0, nullptr};
    ::execve(argv[0], argv.data(), envp);
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {master, POLLIN, 0}};
    if (::poll(fds, 2, 200) > 0) {
      if (fds[1].revents & POLLIN) (void)!::read(master, buf, sizeof buf);  // drain echo
      if (fds[0].revents) {
        ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        text.append(buf, static_cast<size_t>(n));
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      break;
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out[0]);
  ::close(master);
  return {text, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

}  // namespace

TEST_CASE("exec runs in the service's container with -e, -w, -u, stdin and its exit code") {
  EngineProject p("exe");
  p.write_compose(R"(services:
  web:
    image: busybox:e2e
    command: ["sleep", "1000"]
    environment:
      FOO: from-file
      KEEP: kept
)");
  auto up = p.stack({"up", "-d"});
  INFO(up.describe());
  REQUIRE(up.exit_code == 0);

  // The command's own exit code; -e overrides the service's variable, others are kept.
  auto r = p.stack({"exec", "-T", "-e", "FOO=bar", "web", "sh", "-c", "echo $FOO $KEEP; exit 3"});
  INFO(r.describe());
  CHECK(r.exit_code == 3);
  CHECK(r.out == "bar kept\n");
  auto env = p.stack({"exec", "-T", "-e", "FOO=bar", "web", "env"});
  CHECK(env.exit_code == 0);
  CHECK(env.out.find("FOO=bar\n") != std::string::npos);
  CHECK(env.out.find("FOO=from-file") == std::string::npos);

  auto cwd = p.stack({"exec", "-T", "-w", "/www", "web", "sh", "-c", "pwd; cat index.html"});
  CHECK(cwd.exit_code == 0);
  CHECK(cwd.out == "/www\nhello from stack\n");

  // -u by name, resolved against the container's /etc/passwd.
  auto id = p.stack({"exec", "-T", "-u", "nobody", "web", "id", "-u"});
  INFO(id.describe());
  CHECK(id.exit_code == 0);
  CHECK(id.out == "65534\n");
  auto root = p.stack({"exec", "-T", "web", "id", "-u"});
  CHECK(root.out == "0\n");
  auto bad_user = p.stack({"exec", "-T", "-u", "nosuchuser", "web", "true"});
  CHECK(bad_user.exit_code == 1);
  CHECK(bad_user.err.find("nosuchuser") != std::string::npos);

  // Without a tty our stdin is the process's.
  auto cat = stack_with_stdin(p, {"exec", "-T", "web", "cat"}, "hello\nworld\n");
  INFO(cat.describe());
  CHECK(cat.exit_code == 0);
  CHECK(cat.out == "hello\nworld\n");
  // Not a terminal: no pty even without -T.
  auto cat2 = stack_with_stdin(p, {"exec", "web", "sh", "-c", "cat; tty || true"}, "piped\n");
  CHECK(cat2.out.rfind("piped\n", 0) == 0);
  CHECK(cat2.out.find("/dev/pts") == std::string::npos);

  // -d: returns at once (0) and the process goes on in the container.
  auto d = p.stack({"exec", "-d", "web", "sh", "-c", "sleep 3; touch /tmp/marker"},
                   std::chrono::milliseconds(10000));
  INFO(d.describe());
  CHECK(d.exit_code == 0);
  CHECK(d.out.empty());
  CHECK(d.elapsed < std::chrono::milliseconds(2500));
  CHECK(EngineProject::eventually(
      [&] { return p.stack({"exec", "-T", "web", "test", "-f", "/tmp/marker"}).exit_code == 0; }));

  // A command that does not exist: an error, not a hang.
  auto missing = p.stack({"exec", "-T", "web", "/no/such/cmd"});
  CHECK(missing.exit_code != 0);

  // A stopped service: Compose's message naming it.
  REQUIRE(p.stack({"stop", "-t", "0", "web"}).exit_code == 0);
  auto stopped = p.stack({"exec", "-T", "web", "true"});
  CHECK(stopped.exit_code == 1);
  CHECK(stopped.err.find("service \"web\" is not running") != std::string::npos);
  auto unknown = p.stack({"exec", "-T", "nope", "true"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("no such service: nope") != std::string::npos);
}

TEST_CASE("exec --index reaches the right replica, without a tty flag a pty is allocated") {
  EngineProject p("exi");
  p.write_compose(R"(services:
  web:
    image: busybox:e2e
    command: ["sleep", "1000"]
    scale: 2
)");
  auto up = p.stack({"up", "-d"});
  INFO(up.describe());
  REQUIRE(up.exit_code == 0);
  auto ps = p.ps();
  REQUIRE(ps.count("exi-web-2"));
  // A container's hostname is the first 12 characters of its id.
  const std::string id2 = ps["exi-web-2"]["ID"].get<std::string>().substr(0, 12);
  const std::string id1 = ps["exi-web-1"]["ID"].get<std::string>().substr(0, 12);
  REQUIRE(id1 != id2);
  CHECK(p.stack({"exec", "-T", "--index", "2", "web", "hostname"}).out == id2 + "\n");
  CHECK(p.stack({"exec", "-T", "web", "hostname"}).out == id1 + "\n");
  auto none = p.stack({"exec", "-T", "--index", "5", "web", "true"});
  CHECK(none.exit_code == 1);
  CHECK(none.err.find("service \"web\" is not running container #5") != std::string::npos);

  // stdin is a terminal: the process gets a pty of its own (runtime console socket).
  auto [out, code] = stack_on_pty(p, {"exec", "web", "sh", "-c", "tty; exit 5"});
  INFO(out);
  CHECK(code == 5);
  CHECK(out.find("/dev/pts/") != std::string::npos);
  // -T: no pty even on a terminal.
  auto [out_t, code_t] = stack_on_pty(p, {"exec", "-T", "web", "sh", "-c", "tty; true"});
  INFO(out_t);
  CHECK(code_t == 0);
  CHECK(out_t.find("/dev/pts/") == std::string::npos);
}

TEST_CASE("run: a one-off container after its dependencies, with its output and exit code") {
  EngineProject p("rn");
  p.write_compose(R"(services:
  db:
    image: busybox:e2e
    command: ["sleep", "1000"]
  web:
    image: busybox:e2e
    command: ["sh", "-c", "echo default command"]
    environment:
      FOO: from-file
    depends_on: [db]
)");
  // Attached: the dependency comes up first, the output is printed, the exit code returned.
  auto r = p.stack({"run", "--rm", "-e", "FOO=bar", "web", "sh", "-c",
                    "echo out $FOO; echo err >&2; exit 4"});
  INFO(r.describe());
  CHECK(r.exit_code == 4);
  CHECK(r.out == "out bar\nerr\n");
  auto ps = p.ps();
  CHECK(ps.size() == 1);
  CHECK(state(ps["rn-db-1"]) == "running");
  // --rm: nothing of the one-off is left.
  CHECK(records(p).size() == 1);

  // The service's command by default; --entrypoint replaces the image's entrypoint.
  auto def = p.stack({"run", "--rm", "--no-deps", "web"});
  CHECK(def.exit_code == 0);
  CHECK(def.out == "default command\n");
  auto ep = p.stack({"run", "--rm", "--entrypoint", "echo", "web", "a", "b"});
  INFO(ep.describe());
  CHECK(ep.out == "a b\n");
  auto w = p.stack({"run", "--rm", "-w", "/www", "-u", "nobody", "web", "sh", "-c", "pwd; id -u"});
  CHECK(w.out == "/www\n65534\n");

  // -d: the name (<project>-<service>-run-<12 hex>), a labelled one-off that ps does not list.
  auto d = p.stack({"run", "-d", "web", "sleep", "1000"});
  INFO(d.describe());
  REQUIRE(d.exit_code == 0);
  std::string name = d.out.substr(0, d.out.find('\n'));
  CHECK(std::regex_match(name, std::regex("rn-web-run-[0-9a-f]{12}")));
  auto recs = records(p);
  REQUIRE(recs.count(name));
  CHECK(recs[name]["labels"]["com.docker.compose.oneoff"] == "True");
  CHECK(recs[name]["labels"]["com.docker.compose.service"] == "web");
  CHECK(recs[name]["labels"]["com.docker.compose.project"] == "rn");
  CHECK(p.ps().count(name) == 0);
  // up neither removes nor counts it: web-1 is still created.
  auto up = p.stack({"up", "-d"});
  INFO(up.describe());
  REQUIRE(up.exit_code == 0);
  CHECK(p.ps().count("rn-web-1") == 1);
  recs = records(p);
  CHECK(recs.count(name) == 1);
  std::string names;
  for (const auto& [n, r] : recs) names += n + " ";
  INFO("records: " << names);
  CHECK(recs.size() == 3);
  // Still running after up (ps hides it: read its shim's status.json).
  std::ifstream status_in(p.root() + "/containers/" + recs[name]["id"].get<std::string>() +
                          "/status.json");
  auto status = nlohmann::json::parse(status_in, nullptr, false);
  CHECK(status.value("state", "") == "running");
  // --name names the one-off.
  auto named = p.stack({"run", "--rm", "--no-deps", "--name", "custom-oneoff", "web", "hostname"});
  CHECK(named.exit_code == 0);
  CHECK(named.out.size() == 13);  // its hostname: 12 hex and a newline
  CHECK(records(p).count("custom-oneoff") == 0);
  // down removes the one-off too.
  auto down = p.stack({"down", "-t", "0"});
  INFO(down.describe());
  CHECK(down.exit_code == 0);
  CHECK(records(p).empty());
}

TEST_CASE("run waits for a healthy dependency and fails when the service is unknown") {
  EngineProject p("rh");
  p.write_compose(R"(services:
  db:
    image: busybox:e2e
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 1000"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      start_period: 20s
      start_interval: 200ms
  web:
    image: busybox:e2e
    depends_on:
      db: {condition: service_healthy}
)");
  auto r = p.stack({"run", "--rm", "web", "echo", "ran"});
  INFO(r.describe());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "ran\n");
  CHECK(p.ps()["rh-db-1"]["Health"] == "healthy");
  auto unknown = p.stack({"run", "--rm", "nope"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("nope") != std::string::npos);
}
