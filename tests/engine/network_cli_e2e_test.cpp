// `stack network ls|inspect|create|rm|prune` end to end: the real binary, real bridges, a real
// container on a network made with `network create` and used by a Compose file as external
// (engine_fixture.h). Each test has its own state root, network names with the test process's
// pid in them, and a random 10.240.X.0/24 subnet, so that tests run in parallel; what a test
// creates it removes, also when it fails.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "engine/engine_fixture.h"

using stack::test::EngineProject;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// A network name unique to this test process.
std::string unique_name(const std::string& stem) {
  return "ncli" + std::to_string(::getpid()) + stem;
}

// Distinct random third octets for this test's 10.240.X.0/24 subnets.
std::vector<int> random_octets(size_t n) {
  std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<int> d(16, 250);
  std::set<int> seen;
  std::vector<int> out;
  while (out.size() < n)
    if (int x = d(rng); seen.insert(x).second) out.push_back(x);
  return out;
}

std::string subnet(int x) { return "10.240." + std::to_string(x) + ".0/24"; }
std::string address(int x, int host) {
  return "10.240." + std::to_string(x) + "." + std::to_string(host);
}

// The bridge of a network, from its record.
std::string bridge_of(const EngineProject& p, const std::string& network) {
  std::ifstream in(p.root() + "/networks/" + network + ".json");
  if (!in) return "";
  return nlohmann::json::parse(in)["bridge"].get<std::string>();
}

bool link_exists(const std::string& name) {
  return !name.empty() && std::filesystem::exists("/sys/class/net/" + name);
}

// Takes the project down and removes the networks the test made, before EngineProject's own
// cleanup removes the state root (which would leave the bridges behind).
struct NetworkCleanup {
  const EngineProject& p;
  std::vector<std::string> names;
  ~NetworkCleanup() {
    (void)p.stack({"down", "-t", "0", "--remove-orphans"});
    for (auto& n : names) (void)p.stack({"network", "rm", "-f", n});
  }
};

nlohmann::json inspect(const EngineProject& p, const std::string& name) {
  auto r = p.stack({"network", "inspect", name});
  if (r.exit_code != 0) return nullptr;
  auto j = nlohmann::json::parse(r.out);
  return j.size() == 1 ? j[0] : nlohmann::json();
}

}  // namespace

TEST_CASE("network create with a subnet and gateway makes the bridge that inspect shows and rm removes",
          "[e2e][network]") {
  EngineProject p("nclicreate");
  const auto x = random_octets(1)[0];
  const std::string net = unique_name("a");
  NetworkCleanup cleanup{p, {net}};

  auto made = p.stack({"network", "create", "--subnet", subnet(x), "--gateway", address(x, 254),
                       "--ip-range", "10.240." + std::to_string(x) + ".128/25", "--aux-address",
                       "router=" + address(x, 200), "--label", "team=blue", "-o",
                       "com.docker.network.driver.mtu=1400", "--internal", "--attachable", net});
  REQUIRE(made.exit_code == 0);
  const std::string id = trim(made.out);
  CHECK(id.size() == 64);

  auto j = inspect(p, net);
  REQUIRE(j.is_object());
  CHECK(j["Name"] == net);
  CHECK(j["Id"] == id);
  CHECK(j["Driver"] == "bridge");
  CHECK(j["Scope"] == "local");
  CHECK(j["Internal"] == true);
  CHECK(j["Attachable"] == true);
  CHECK(j["EnableIPv6"] == false);
  CHECK(j["IPAM"]["Driver"] == "default");
  REQUIRE(j["IPAM"]["Config"].size() == 1);
  auto c = j["IPAM"]["Config"][0];
  CHECK(c["Subnet"] == subnet(x));
  CHECK(c["Gateway"] == address(x, 254));
  CHECK(c["IPRange"] == "10.240." + std::to_string(x) + ".128/25");
  CHECK(c["AuxiliaryAddresses"]["router"] == address(x, 200));
  CHECK(j["Labels"]["team"] == "blue");
  CHECK(j["Options"]["com.docker.network.driver.mtu"] == "1400");
  CHECK(j["Containers"].empty());
  // Docker's field order.
  auto raw = p.stack({"network", "inspect", net}).out;
  CHECK(raw.find("\"Name\"") < raw.find("\"Id\""));
  CHECK(raw.find("\"IPAM\"") < raw.find("\"Containers\""));
  // By id prefix too.
  CHECK(inspect(p, id.substr(0, 12))["Name"] == net);

  const std::string bridge = bridge_of(p, net);
  REQUIRE(link_exists(bridge));
  auto addr = stack::test::run_program("/usr/sbin/ip", {"-br", "addr", "show", bridge});
  CHECK(addr.out.find(address(x, 254) + "/24") != std::string::npos);

  SECTION("creating it again fails as Docker does") {
    auto again = p.stack({"network", "create", net});
    CHECK(again.exit_code == 1);
    CHECK(again.err.find("network with name " + net + " already exists") != std::string::npos);
  }
  SECTION("rm removes the record and the bridge and prints the name") {
    auto rm = p.stack({"network", "rm", net});
    CHECK(rm.exit_code == 0);
    CHECK(trim(rm.out) == net);
    CHECK_FALSE(link_exists(bridge));
    auto gone = p.stack({"network", "inspect", net});
    CHECK(gone.exit_code == 1);
    CHECK(trim(gone.out) == "[]");
    CHECK(gone.err.find("Error: No such network: " + net) != std::string::npos);
  }
}

TEST_CASE("bad network create input is refused, naming the subnet, and leaves nothing behind",
          "[e2e][network]") {
  EngineProject p("ncliinvalid");
  const auto xs = random_octets(2);
  const std::string a = unique_name("a"), b = unique_name("b"), c = unique_name("c");
  NetworkCleanup cleanup{p, {a, b, c}};
  REQUIRE(p.stack({"network", "create", "--subnet", subnet(xs[0]), a}).exit_code == 0);

  // A subnet inside a's is an overlap.
  const std::string inner = "10.240." + std::to_string(xs[0]) + ".64/26";
  auto overlap = p.stack({"network", "create", "--subnet", inner, b});
  CHECK(overlap.exit_code == 1);
  CHECK(overlap.err.find(inner) != std::string::npos);
  CHECK(overlap.err.find(subnet(xs[0])) != std::string::npos);
  CHECK(overlap.err.find(b) != std::string::npos);

  auto bad = p.stack({"network", "create", "--subnet", "10.240." + std::to_string(xs[1]) + ".7/24", c});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("invalid subnet") != std::string::npos);

  auto nosubnet = p.stack({"network", "create", "--subnet", subnet(xs[1]), "--gateway",
                           address(xs[0], 1), c});
  CHECK(nosubnet.exit_code == 1);
  CHECK(nosubnet.err.find("no matching subnet for gateway " + address(xs[0], 1)) !=
        std::string::npos);

  auto driver = p.stack({"network", "create", "-d", "overlay", c});
  CHECK(driver.exit_code == 1);
  CHECK(driver.err.find("overlay") != std::string::npos);

  auto ls = p.stack({"network", "ls", "-q"});
  CHECK(lines(ls.out).size() == 1);
  CHECK_FALSE(std::filesystem::exists(p.root() + "/networks/" + b + ".json"));
  CHECK_FALSE(std::filesystem::exists(p.root() + "/networks/" + c + ".json"));
}

TEST_CASE("a Compose file runs a container on a created network as external and rm refuses while "
          "it is used",
          "[e2e][network]") {
  EngineProject p("ncliext");
  const auto x = random_octets(1)[0];
  const std::string net = unique_name("ext");
  NetworkCleanup cleanup{p, {net}};
  REQUIRE(p.stack({"network", "create", "--subnet", subnet(x), net}).exit_code == 0);

  p.write_compose("services:\n"
                  "  app:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n"
                  "    networks: [outside]\n"
                  "networks:\n  outside:\n    external: true\n    name: " + net + "\n");
  auto up = p.stack({"up", "-d"});
  REQUIRE(up.exit_code == 0);

  auto ip = trim(p.stack({"exec", "app", "hostname", "-i"}).out);
  CHECK(ip.rfind("10.240." + std::to_string(x) + ".", 0) == 0);

  auto j = inspect(p, net);
  REQUIRE(j["Containers"].size() == 1);
  auto attached = j["Containers"].begin().value();
  CHECK(attached["Name"] == "ncliext-app-1");
  CHECK(attached["IPv4Address"] == ip + "/24");
  CHECK_FALSE(attached["MacAddress"].get<std::string>().empty());

  auto busy = p.stack({"network", "rm", net});
  CHECK(busy.exit_code == 1);
  CHECK(busy.err.find("active endpoints") != std::string::npos);
  CHECK(inspect(p, net).is_object());

  // `down` leaves an external network alone; then rm takes it.
  REQUIRE(p.stack({"down", "-t", "0"}).exit_code == 0);
  REQUIRE(inspect(p, net).is_object());
  CHECK(inspect(p, net)["Containers"].empty());
  const std::string bridge = bridge_of(p, net);
  auto rm = p.stack({"network", "rm", net});
  CHECK(rm.exit_code == 0);
  CHECK_FALSE(link_exists(bridge));
}

TEST_CASE("network ls lists sorted by name, with -q, --no-trunc, --format json and filters",
          "[e2e][network]") {
  EngineProject p("nclils");
  const auto xs = random_octets(3);
  // Natural order: n2 before n10.
  const std::string n10 = unique_name("n10"), n2 = unique_name("n2"), other = unique_name("x");
  NetworkCleanup cleanup{p, {n10, n2, other}};
  REQUIRE(p.stack({"network", "create", "--subnet", subnet(xs[0]), "--label", "tier=web", n10})
              .exit_code == 0);
  REQUIRE(p.stack({"network", "create", "--subnet", subnet(xs[1]), "--label", "tier=db", n2})
              .exit_code == 0);
  auto made = p.stack({"network", "create", "--subnet", subnet(xs[2]), other});
  REQUIRE(made.exit_code == 0);
  const std::string other_id = trim(made.out);

  auto ls = p.stack({"network", "ls"});
  REQUIRE(ls.exit_code == 0);
  auto rows = lines(ls.out);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].rfind("NETWORK ID     NAME", 0) == 0);
  CHECK(rows[0].find("DRIVER") != std::string::npos);
  CHECK(rows[0].find("SCOPE") != std::string::npos);
  CHECK(rows[1].find(n2) != std::string::npos);
  CHECK(rows[2].find(n10) != std::string::npos);
  CHECK(rows[3].find(other) != std::string::npos);
  CHECK(rows[3].rfind(other_id.substr(0, 12) + "   " + other, 0) == 0);
  CHECK(rows[3].find("bridge") != std::string::npos);
  CHECK(rows[3].find("local") != std::string::npos);

  auto q = lines(p.stack({"network", "ls", "-q"}).out);
  REQUIRE(q.size() == 3);
  CHECK(q[2] == other_id.substr(0, 12));
  auto full = lines(p.stack({"network", "ls", "-q", "--no-trunc"}).out);
  REQUIRE(full.size() == 3);
  CHECK(full[2] == other_id);

  auto by_label = lines(p.stack({"network", "ls", "--filter", "label=tier", "--format", "json"}).out);
  REQUIRE(by_label.size() == 2);
  auto row = nlohmann::json::parse(by_label[0]);
  CHECK(row["Name"] == n2);
  CHECK(row["Labels"] == "tier=db");
  CHECK(row["Driver"] == "bridge");
  CHECK(row["Scope"] == "local");
  CHECK(row["Internal"] == "false");
  CHECK(row["ID"].get<std::string>().size() == 12);

  auto web = lines(p.stack({"network", "ls", "-q", "-f", "label=tier=web"}).out);
  CHECK(web == std::vector<std::string>{q[1]});
  auto by_name = lines(p.stack({"network", "ls", "--format", "json", "--filter", "name=" + other}).out);
  REQUIRE(by_name.size() == 1);
  CHECK(nlohmann::json::parse(by_name[0])["Name"] == other);
  CHECK(lines(p.stack({"network", "ls", "-q", "--filter", "driver=bridge"}).out).size() == 3);
  CHECK(lines(p.stack({"network", "ls", "-q", "--filter", "driver=macvlan"}).out).empty());
  CHECK(lines(p.stack({"network", "ls", "-q", "--filter", "id=" + other_id.substr(0, 6)}).out) ==
        std::vector<std::string>{other_id.substr(0, 12)});
  auto badf = p.stack({"network", "ls", "--filter", "colour=red"});
  CHECK(badf.exit_code == 1);
  CHECK(badf.err.find("invalid filter 'colour'") != std::string::npos);

  SECTION("rm goes on past a missing network and exits 1") {
    auto rm = p.stack({"network", "rm", n2, unique_name("missing"), n10});
    CHECK(rm.exit_code == 1);
    CHECK(lines(rm.out) == std::vector<std::string>{n2, n10});
    CHECK(rm.err.find("Error: No such network: " + unique_name("missing")) != std::string::npos);
    CHECK(lines(p.stack({"network", "ls", "-q"}).out).size() == 1);
    CHECK(p.stack({"network", "rm", "-f", unique_name("missing")}).exit_code == 0);
  }
}

TEST_CASE("network prune removes only networks no container uses", "[e2e][network]") {
  EngineProject p("ncliprune");
  const auto xs = random_octets(3);
  const std::string used = unique_name("used"), idle = unique_name("idle"),
                    kept = unique_name("kept");
  NetworkCleanup cleanup{p, {used, idle, kept}};
  REQUIRE(p.stack({"network", "create", "--subnet", subnet(xs[0]), used}).exit_code == 0);
  REQUIRE(p.stack({"network", "create", "--subnet", subnet(xs[1]), "--label", "keep=yes", kept})
              .exit_code == 0);
  REQUIRE(p.stack({"network", "create", "--subnet", subnet(xs[2]), "--label", "keep=no", idle})
              .exit_code == 0);
  const std::string idle_bridge = bridge_of(p, idle);
  p.write_compose("services:\n"
                  "  app:\n    image: busybox:e2e\n    command: [\"sleep\", \"1000\"]\n"
                  "    networks: [u]\n"
                  "networks:\n  u:\n    external: true\n    name: " + used + "\n");
  REQUIRE(p.stack({"up", "-d"}).exit_code == 0);

  // A label filter narrows it: only `idle` carries keep=no.
  auto some = p.stack({"network", "prune", "-f", "--filter", "label=keep=no"});
  CHECK(some.exit_code == 0);
  CHECK(some.out == "Deleted Networks:\n" + idle + "\n\n");
  CHECK_FALSE(link_exists(idle_bridge));

  // label!= keeps the marked one; the used one stays whatever the filter.
  auto none = p.stack({"network", "prune", "-f", "--filter", "label!=keep"});
  CHECK(none.exit_code == 0);
  CHECK(none.out.empty());

  auto rest = p.stack({"network", "prune", "-f"});
  CHECK(rest.exit_code == 0);
  CHECK(rest.out == "Deleted Networks:\n" + kept + "\n\n");
  auto left = lines(p.stack({"network", "ls", "--format", "json"}).out);
  REQUIRE(left.size() == 1);
  CHECK(nlohmann::json::parse(left[0])["Name"] == used);
  // The container still has its network.
  CHECK(trim(p.stack({"exec", "app", "hostname", "-i"}).out)
            .rfind("10.240." + std::to_string(xs[0]) + ".", 0) == 0);
}
