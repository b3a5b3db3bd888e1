// Netlink against the real kernel. Every test works in network namespaces it creates with
// `ip netns add` (unique names) and deletes afterwards; the host's links and routes are never
// touched. State is checked with `ip`, independently of the code under test.
#include "stack/network/netlink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "stack/common/unique_fd.h"
#include "support/require_ok.h"
#include "support/run_command.h"

namespace {

using stack::UniqueFd;
using stack::network::IfMissing;
using stack::network::LinkInfo;
using stack::network::Netlink;
using stack::test::run_program;

stack::test::ProgramResult ip(const std::vector<std::string>& args) {
  stack::test::ProgramOptions opts;
  opts.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  opts.timeout = std::chrono::milliseconds(30'000);
  return run_program("/usr/sbin/ip", args, opts);
}

// A named network namespace for one test, removed (with everything in it) at the end.
struct TestNetns {
  std::string name;
  UniqueFd fd;
  explicit TestNetns(const std::string& tag)
      : name("stknl" + std::to_string(getpid()) + "-" + tag) {
    auto r = ip({"netns", "add", name});
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    fd.reset(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd.valid());
  }
  ~TestNetns() { ip({"netns", "del", name}); }
  // `ip -n NAME ARGS...`: stdout, and REQUIREs success.
  std::string show(std::vector<std::string> args) const {
    args.insert(args.begin(), {"-n", name});
    auto r = ip(args);
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    return r.out;
  }
  bool has_link(const std::string& ifname) const {
    return ip({"-n", name, "link", "show", ifname}).exit_code == 0;
  }
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Netlink open_in(const TestNetns& ns) {
  auto nl = Netlink::open_in(ns.fd.get());
  REQUIRE_OK(nl);
  return std::move(nl).value();
}

ino_t thread_netns_inode() {
  struct stat st {};
  REQUIRE(::stat("/proc/thread-self/ns/net", &st) == 0);
  return st.st_ino;
}

const LinkInfo* find_link(const std::vector<LinkInfo>& links, const std::string& name) {
  auto it = std::find_if(links.begin(), links.end(), [&](auto& l) { return l.name == name; });
  return it == links.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("netlink creates an up bridge in the given namespace only") {
  TestNetns ns("br");
  ino_t before = thread_netns_inode();
  Netlink nl = open_in(ns);
  CHECK(thread_netns_inode() == before);  // the caller never left its namespace

  REQUIRE_OK(nl.create_bridge("stknlbr0", 1400));
  REQUIRE_OK(nl.set_up("stknlbr0"));
  std::string out = ns.show({"-d", "link", "show", "stknlbr0"});
  CHECK(contains(out, "mtu 1400"));
  CHECK(contains(out, ",UP"));
  CHECK(contains(out, "bridge forward_delay"));
  CHECK(contains(out, "vlan_filtering 0"));
  CHECK(ip({"link", "show", "stknlbr0"}).exit_code != 0);  // not in the host's namespace

  auto links = nl.links();
  REQUIRE_OK(links);
  const LinkInfo* br = find_link(*links, "stknlbr0");
  REQUIRE(br != nullptr);
  CHECK(br->up);
  CHECK(br->mtu == 1400);
  auto index = nl.link_index("stknlbr0");
  REQUIRE_OK(index);
  CHECK(*index == br->index);
}

TEST_CASE("netlink bridge vlan_filtering can be turned on and off") {
  TestNetns ns("vf");
  Netlink nl = open_in(ns);
  REQUIRE_OK(nl.create_bridge("br0"));
  auto on = nl.set_vlan_filtering("br0", true);
  if (on.ok()) {
    CHECK(contains(ns.show({"-d", "link", "show", "br0"}), "vlan_filtering 1"));
  } else {  // a kernel without CONFIG_BRIDGE_VLAN_FILTERING, as this machine's
    CHECK(on.error().code == EOPNOTSUPP);
    CHECK(contains(on.error().message, "interface br0"));
  }
  REQUIRE_OK(nl.set_vlan_filtering("br0", false));
  CHECK(contains(ns.show({"-d", "link", "show", "br0"}), "vlan_filtering 0"));
}

TEST_CASE("netlink veth peer goes straight into another namespace with address and route") {
  TestNetns host("h");
  TestNetns ctr("c");
  Netlink nl = open_in(host);
  REQUIRE_OK(nl.create_bridge("br0"));
  REQUIRE_OK(nl.create_veth("vh0", "eth0", 1450, ctr.fd.get()));
  REQUIRE_OK(nl.set_master("vh0", "br0"));
  REQUIRE_OK(nl.set_up("vh0"));
  REQUIRE_OK(nl.set_up("br0"));

  CHECK_FALSE(host.has_link("eth0"));
  CHECK(contains(ctr.show({"link", "show", "eth0"}), "mtu 1450"));
  CHECK(contains(host.show({"link", "show", "vh0"}), "master br0"));
  auto links = nl.links();
  REQUIRE_OK(links);
  REQUIRE(find_link(*links, "vh0") != nullptr);
  CHECK(find_link(*links, "vh0")->master == find_link(*links, "br0")->index);

  Netlink nc = open_in(ctr);
  REQUIRE_OK(nc.add_address("eth0", "10.1.0.2/24"));
  REQUIRE_OK(nc.add_address("eth0", "fd00:1::2/64"));
  REQUIRE_OK(nc.set_up("eth0"));
  REQUIRE_OK(nc.add_route("0.0.0.0/0", "10.1.0.1", "eth0"));
  REQUIRE_OK(nc.add_route("fd00:2::/64", "fd00:1::1", "eth0"));
  REQUIRE_OK(nc.add_route("10.9.0.0/16", "", "eth0"));

  std::string addrs = ctr.show({"addr", "show", "eth0"});
  CHECK(contains(addrs, "inet 10.1.0.2/24 brd 10.1.0.255"));
  CHECK(contains(addrs, "inet6 fd00:1::2/64"));
  auto listed = nc.addresses("eth0");
  REQUIRE_OK(listed);
  CHECK(std::count(listed->begin(), listed->end(), "10.1.0.2/24") == 1);
  CHECK(std::count(listed->begin(), listed->end(), "fd00:1::2/64") == 1);
  CHECK(contains(ctr.show({"route", "show", "default"}), "default via 10.1.0.1 dev eth0"));
  CHECK(contains(ctr.show({"route", "show", "10.9.0.0/16"}), "10.9.0.0/16 dev eth0 scope link"));
  CHECK(contains(ctr.show({"-6", "route", "show", "fd00:2::/64"}), "via fd00:1::1 dev eth0"));
  // Nothing of this reached the host-side namespace.
  CHECK_FALSE(contains(host.show({"route", "show"}), "10.1.0"));
}

TEST_CASE("netlink set_netns, rename and set_mtu act on an existing link") {
  TestNetns a("a");
  TestNetns b("b");
  Netlink na = open_in(a);
  REQUIRE_OK(na.create_veth("va", "vb"));
  REQUIRE_OK(na.set_netns("vb", b.fd.get()));
  CHECK_FALSE(a.has_link("vb"));
  Netlink nb = open_in(b);
  REQUIRE_OK(nb.rename("vb", "eth1"));
  REQUIRE_OK(nb.set_mtu("eth1", 1300));
  CHECK_FALSE(b.has_link("vb"));
  CHECK(contains(b.show({"link", "show", "eth1"}), "mtu 1300"));
}

TEST_CASE("netlink two namespaces ping each other over the bridge") {
  TestNetns host("ph");
  TestNetns c1("p1");
  TestNetns c2("p2");
  Netlink nl = open_in(host);
  REQUIRE_OK(nl.create_bridge("br0"));
  REQUIRE_OK(nl.set_up("br0"));
  const TestNetns* ctrs[] = {&c1, &c2};
  for (int i = 0; i < 2; ++i) {
    std::string vh = "vh" + std::to_string(i);
    REQUIRE_OK(nl.create_veth(vh, "eth0", 0, ctrs[i]->fd.get()));
    REQUIRE_OK(nl.set_master(vh, "br0"));
    REQUIRE_OK(nl.set_up(vh));
    Netlink nc = open_in(*ctrs[i]);
    REQUIRE_OK(nc.add_address("eth0", "10.1.0." + std::to_string(i + 2) + "/24"));
    REQUIRE_OK(nc.set_up("eth0"));
  }
  auto r = ip({"netns", "exec", c1.name, "/usr/bin/busybox", "ping", "-c", "3", "-W", "2",
               "10.1.0.3"});
  INFO(r.describe());
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "bytes from 10.1.0.3"));
  // Without the bridge port the other side is unreachable: the ping went through the bridge.
  REQUIRE_OK(nl.delete_link("vh1"));
  auto r2 = ip({"netns", "exec", c1.name, "/usr/bin/busybox", "ping", "-c", "1", "-W", "1",
                "10.1.0.3"});
  CHECK(r2.exit_code != 0);
}

TEST_CASE("netlink sets hairpin mode on a bridge port") {
  TestNetns ns("hp");
  Netlink nl = open_in(ns);
  REQUIRE_OK(nl.create_bridge("br0"));
  REQUIRE_OK(nl.create_veth("vh0", "vp0"));
  REQUIRE_OK(nl.set_master("vh0", "br0"));
  CHECK(contains(ns.show({"-d", "link", "show", "vh0"}), "hairpin off"));
  REQUIRE_OK(nl.set_hairpin("vh0", true));
  CHECK(contains(ns.show({"-d", "link", "show", "vh0"}), "hairpin on"));
  REQUIRE_OK(nl.set_hairpin("vh0", false));
  CHECK(contains(ns.show({"-d", "link", "show", "vh0"}), "hairpin off"));
}

TEST_CASE("netlink delete removes the link and its veth peer") {
  TestNetns a("da");
  TestNetns b("db");
  Netlink nl = open_in(a);
  REQUIRE_OK(nl.create_bridge("br0"));
  REQUIRE_OK(nl.create_veth("vh0", "eth0", 0, b.fd.get()));
  REQUIRE_OK(nl.delete_link("br0"));
  REQUIRE_OK(nl.delete_link("vh0"));
  CHECK_FALSE(a.has_link("br0"));
  CHECK_FALSE(a.has_link("vh0"));
  CHECK_FALSE(b.has_link("eth0"));
  auto again = nl.delete_link("br0");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ENODEV);
  CHECK(contains(again.error().message, "br0"));
  REQUIRE_OK(nl.delete_link("br0", IfMissing::kOk));
}

TEST_CASE("netlink errors carry the errno and name the interface") {
  TestNetns ns("err");
  Netlink nl = open_in(ns);
  REQUIRE_OK(nl.create_bridge("br0"));
  auto dup = nl.create_bridge("br0");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code == EEXIST);
  CHECK(contains(dup.error().message, "interface br0"));
  auto dup_veth = nl.create_veth("br0", "peer0");
  REQUIRE_FALSE(dup_veth.ok());
  CHECK(dup_veth.error().code == EEXIST);

  for (auto status : {nl.set_up("nosuch0"), nl.set_master("nosuch0", "br0"),
                      nl.add_address("nosuch0", "10.1.0.2/24"),
                      nl.add_route("0.0.0.0/0", "10.1.0.1", "nosuch0")}) {
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == ENODEV);
    CHECK(contains(status.error().message, "nosuch0"));
  }
  auto no_bridge = nl.set_master("br0", "nosuchbr");
  REQUIRE_FALSE(no_bridge.ok());
  CHECK(no_bridge.error().code == ENODEV);
  CHECK(contains(no_bridge.error().message, "nosuchbr"));
  auto index = nl.link_index("nosuch0");
  REQUIRE_FALSE(index.ok());
  CHECK(index.error().code == ENODEV);

  auto bad = nl.add_address("br0", "10.1.0.300/24");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == EINVAL);
  CHECK(contains(bad.error().message, "10.1.0.300/24"));
  auto no_prefix = nl.add_address("br0", "10.1.0.2");
  REQUIRE_FALSE(no_prefix.ok());
  CHECK(no_prefix.error().code == EINVAL);
  auto long_name = nl.create_bridge("a-name-longer-than-15");
  REQUIRE_FALSE(long_name.ok());
  CHECK(long_name.error().code == EINVAL);
}
