// dns_state: the embedded DNS's records from the containers (netd.h), a pure function.
#include <catch2/catch.hpp>

#include "stack/engine/netd.h"

using stack::engine::ContainerInfo;
using stack::engine::ContainerState;
using stack::engine::dns_state;
using stack::engine::EndpointInfo;
using stack::engine::Health;

namespace {

ContainerInfo container(const std::string& name, const std::string& id, const std::string& service,
                        const std::string& network, const std::string& ip,
                        ContainerState state = ContainerState::kRunning,
                        Health health = Health::kNone) {
  ContainerInfo c;
  c.observed.name = name;
  c.observed.id = id + std::string(64 - id.size(), '0');
  c.observed.labels.project = "app";
  c.observed.labels.service = service;
  c.observed.state = state;
  c.observed.health = health;
  c.network_mode = "bridge";
  EndpointInfo e;
  e.network = network;
  e.ipv4 = ip;
  e.aliases = {service};
  c.endpoints.push_back(e);
  return c;
}

// The addresses of `name` in `network` as text, sorted; "-" when the name is absent.
std::vector<std::string> lookup(const stack::engine::DnsState& s, const std::string& network,
                                const std::string& name) {
  auto it = s.networks.find(network);
  if (it == s.networks.end()) return {"-"};
  for (const auto& r : it->second) {
    if (r.name != name) continue;
    std::vector<std::string> out;
    for (const auto& a : r.addresses) out.push_back(a.to_string());
    std::sort(out.begin(), out.end());
    return out;
  }
  return {"-"};
}

}  // namespace

TEST_CASE("dns_state: service names hold every running replica, names and short ids their own") {
  auto s = dns_state({container("app-web-1", "aaaa", "web", "app_default", "10.0.0.2"),
                      container("app-web-2", "bbbb", "web", "app_default", "10.0.0.3"),
                      container("app-web-3", "cccc", "web", "app_default", "10.0.0.4",
                                ContainerState::kExited)});
  CHECK(lookup(s, "app_default", "web") == std::vector<std::string>{"10.0.0.2", "10.0.0.3"});
  CHECK(lookup(s, "app_default", "app-web-2") == std::vector<std::string>{"10.0.0.3"});
  CHECK(lookup(s, "app_default", "aaaa00000000") == std::vector<std::string>{"10.0.0.2"});
  CHECK(lookup(s, "app_default", "app-web-3") == std::vector<std::string>{"-"});
  // Container names give PTR answers, services do not.
  for (const auto& r : s.networks["app_default"])
    CHECK(r.reverse == (r.name.rfind("app-web-", 0) == 0));
  CHECK(s.views["aaaa" + std::string(60, '0')] == std::vector<std::string>{"app_default"});
}

TEST_CASE("dns_state: with a healthcheck only healthy replicas, all running ones when none is") {
  auto s = dns_state(
      {container("app-db-1", "aaaa", "db", "n", "10.0.0.2", ContainerState::kRunning,
                 Health::kHealthy),
       container("app-db-2", "bbbb", "db", "n", "10.0.0.3", ContainerState::kRunning,
                 Health::kStarting),
       container("app-q-1", "cccc", "q", "n", "10.0.0.4", ContainerState::kRunning,
                 Health::kUnhealthy),
       container("app-q-2", "dddd", "q", "n", "10.0.0.5", ContainerState::kRunning,
                 Health::kStarting)});
  CHECK(lookup(s, "n", "db") == std::vector<std::string>{"10.0.0.2"});
  CHECK(lookup(s, "n", "q") == std::vector<std::string>{"10.0.0.4", "10.0.0.5"});
}

TEST_CASE("dns_state: networks are separate and links are a container's own first network") {
  auto web = container("app-web-1", "aaaa", "web", "front", "10.1.0.2");
  auto db = container("app-db-1", "bbbb", "db", "back", "10.2.0.2");
  auto api = container("app-api-1", "cccc", "api", "front", "10.1.0.3");
  api.endpoints.push_back({"back", "10.2.0.3", "", 0, 0, "", "", "", {"api"}});
  api.links = {"db:database", "web"};
  auto s = dns_state({web, db, api});
  CHECK(lookup(s, "front", "db") == std::vector<std::string>{"-"});
  CHECK(lookup(s, "back", "db") == std::vector<std::string>{"10.2.0.2"});
  const std::string api_id = "cccc" + std::string(60, '0');
  CHECK(s.views[api_id] == std::vector<std::string>{"@" + api_id, "front", "back"});
  CHECK(lookup(s, "@" + api_id, "database") == std::vector<std::string>{"10.2.0.2"});
  CHECK(lookup(s, "@" + api_id, "web") == std::vector<std::string>{"10.1.0.2"});
  // A container without links has no private network in its view.
  CHECK(s.views["aaaa" + std::string(60, '0')] == std::vector<std::string>{"front"});
}
