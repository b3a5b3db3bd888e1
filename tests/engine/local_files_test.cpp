// LocalHost's pure pieces: /etc files, shim.json from a service, Docker's status text, the
// container record (engine/src/host/local_internal.h).
#include <catch2/catch.hpp>

#include "host/local_internal.h"

using namespace stack;
using namespace stack::engine;
using namespace stack::engine::local;

TEST_CASE("hosts file: localhost lines, extra_hosts in order, own name") {
  std::string h = hosts_content("web", "example.org", {"db=10.0.0.2", "v6:[::1]", "old:1.2.3.4"}, false);
  CHECK(h.find("127.0.0.1\tlocalhost\n") == 0);
  auto db = h.find("10.0.0.2\tdb\n");
  auto v6 = h.find("::1\tv6\n");
  auto old = h.find("1.2.3.4\told\n");
  CHECK(db != std::string::npos);
  CHECK(v6 > db);
  CHECK(old > v6);
  CHECK(h.find("127.0.1.1\tweb.example.org web\n") != std::string::npos);
  CHECK(hosts_content("web", "", {}, true).find("web") == std::string::npos);
}

TEST_CASE("resolv.conf: loopback resolvers dropped without host network, dns options replace") {
  const std::string host = "# comment\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch lan\noptions edns0\n";
  compose::Service s;
  std::string r = resolv_content(host, s, false);
  CHECK(r.find("127.0.0.53") == std::string::npos);
  CHECK(r.find("nameserver 10.1.1.1\n") != std::string::npos);
  CHECK(r.find("search lan\n") != std::string::npos);
  CHECK(resolv_content(host, s, true).find("nameserver 127.0.0.53") != std::string::npos);
  s.dns = {"9.9.9.9"};
  s.dns_search = {"a.example", "b.example"};
  s.dns_opt = {"ndots:2"};
  r = resolv_content(host, s, false);
  CHECK(r.find("10.1.1.1") == std::string::npos);
  CHECK(r.find("nameserver 9.9.9.9\n") != std::string::npos);
  CHECK(r.find("search a.example b.example\n") != std::string::npos);
  CHECK(r.find("lan") == std::string::npos);
  CHECK(r.find("options ndots:2\n") != std::string::npos);
  CHECK(r.find("edns0") == std::string::npos);
}

TEST_CASE("resolv.conf of a container on bridge networks points at the embedded DNS") {
  const std::string host = "nameserver 10.1.1.1\nsearch lan\noptions edns0\n";
  stack::compose::Service s;
  std::string r = resolv_content(host, s, false, true);
  CHECK(r == "nameserver 127.0.0.11\nsearch lan\noptions edns0 ndots:0\n");
  // dns: servers become the embedded resolver's upstreams, never nameserver lines.
  s.dns = {"9.9.9.9"};
  r = resolv_content(host, s, false, true);
  CHECK(r.find("9.9.9.9") == std::string::npos);
  CHECK(r.find("nameserver 10.1.1.1") == std::string::npos);
  CHECK(r.rfind("nameserver 127.0.0.11\n", 0) == 0);
  s.dns_opt = {"ndots:3"};
  r = resolv_content(host, s, false, true);
  CHECK(r.find("options ndots:3\n") != std::string::npos);
  CHECK(r.find("ndots:0") == std::string::npos);
}

TEST_CASE("shim.json from a service: restart, stop signal, grace, logging, healthcheck merge") {
  compose::Service s;
  s.name = "web";
  image::ImageConfig img;
  img.stop_signal = "SIGQUIT";
  image::Healthcheck ih;
  ih.test = {"CMD-SHELL", "check"};
  ih.interval_ns = 5'000'000'000;
  ih.retries = 7;
  img.healthcheck = ih;
  auto c = shim_config_for(s, img, "id", "/b", "/rt");
  REQUIRE(c.ok());
  CHECK(c->restart.kind == RestartPolicy::Kind::kNo);
  CHECK(c->stop_signal == "SIGQUIT");
  CHECK(c->stop_grace_ms == 10000);
  REQUIRE(c->healthcheck);
  CHECK(c->healthcheck->test == std::vector<std::string>{"CMD-SHELL", "check"});
  CHECK(c->healthcheck->interval_ms == 5000);
  CHECK(c->healthcheck->retries == 7);
  CHECK(c->healthcheck->timeout_ms == 30000);

  s.restart = "on-failure:3";
  s.stop_signal = "SIGUSR1";
  s.stop_grace_period = compose::Duration{2'500'000'000};
  s.logging = compose::Logging{"json-file", {{"max-size", "1k"}, {"max-file", "3"}}, {}};
  compose::Healthcheck sh;
  sh.interval = compose::Duration{1'000'000'000};
  s.healthcheck = sh;
  c = shim_config_for(s, img, "id", "/b", "/rt");
  REQUIRE(c.ok());
  CHECK(c->restart.kind == RestartPolicy::Kind::kOnFailure);
  CHECK(c->restart.max_retries == 3);
  CHECK(c->stop_signal == "SIGUSR1");
  CHECK(c->stop_grace_ms == 2500);
  CHECK(c->log.max_size == 1024);
  CHECK(c->log.max_file == 3);
  CHECK(c->healthcheck->interval_ms == 1000);
  CHECK(c->healthcheck->retries == 7);  // the image's, not overridden

  sh.disable = true;
  s.healthcheck = sh;
  CHECK(!shim_config_for(s, img, "id", "/b", "/rt")->healthcheck);
  s.healthcheck.reset();
  s.restart.clear();
  s.deploy = compose::Deploy{};
  s.deploy->restart_policy = compose::RestartPolicy{"on-failure", {}, 5, {}, {}};
  c = shim_config_for(s, img, "id", "/b", "/rt");
  CHECK(c->restart.kind == RestartPolicy::Kind::kOnFailure);
  CHECK(c->restart.max_retries == 5);

  s.logging = compose::Logging{"syslog", {}, {}};
  auto bad = shim_config_for(s, img, "id", "/b", "/rt");
  REQUIRE(!bad.ok());
  CHECK(bad.error().to_string().find("service web: logging.driver") == 0);
  s.logging.reset();
  s.stop_signal = "SIGNOPE";
  bad = shim_config_for(s, img, "id", "/b", "/rt");
  REQUIRE(!bad.ok());
  CHECK(bad.error().to_string().find("service web: stop_signal") == 0);
}

TEST_CASE("sizes in Docker's units") {
  CHECK(*parse_size("10") == 10);
  CHECK(*parse_size("1k") == 1024);
  CHECK(*parse_size("2m") == 2 * 1024 * 1024);
  CHECK(*parse_size("1.5g") == 1536LL * 1024 * 1024);
  CHECK(*parse_size("3MB") == 3 * 1024 * 1024);
  CHECK(!parse_size("x").ok());
  CHECK(!parse_size("5q").ok());
}

TEST_CASE("Docker's human durations and status texts") {
  const int64_t s = 1'000'000'000;
  CHECK(human_duration(s / 2) == "Less than a second");
  CHECK(human_duration(s) == "1 second");
  CHECK(human_duration(45 * s) == "45 seconds");
  CHECK(human_duration(60 * s) == "About a minute");
  CHECK(human_duration(5 * 60 * s) == "5 minutes");
  CHECK(human_duration(3600 * s) == "About an hour");
  CHECK(human_duration(5 * 3600 * s) == "5 hours");
  CHECK(human_duration(3 * 86400 * s) == "3 days");
  ObservedContainer c;
  const std::string t0 = "2026-01-01T00:00:00Z";
  const int64_t now = parse_rfc3339_ns(t0) + 120 * s;
  CHECK(parse_rfc3339_ns("2026-01-01T00:00:00.5Z") == parse_rfc3339_ns(t0) + s / 2);
  c.state = ContainerState::kCreated;
  CHECK(status_text(c, kNeverTime, kNeverTime, now) == "Created");
  c.state = ContainerState::kRunning;
  CHECK(status_text(c, t0, kNeverTime, now) == "Up 2 minutes");
  c.health = Health::kHealthy;
  CHECK(status_text(c, t0, kNeverTime, now) == "Up 2 minutes (healthy)");
  c.health = Health::kStarting;
  CHECK(status_text(c, t0, kNeverTime, now) == "Up 2 minutes (health: starting)");
  c.state = ContainerState::kPaused;
  CHECK(status_text(c, t0, kNeverTime, now) == "Up 2 minutes (Paused)");
  c.state = ContainerState::kExited;
  c.exit_code = 137;
  CHECK(status_text(c, t0, t0, now) == "Exited (137) 2 minutes ago");
}

TEST_CASE("container.json round trip") {
  ContainerRecord r;
  r.id = std::string(64, 'a');
  r.name = "demo-web-1";
  r.created = "2026-01-01T00:00:00Z";
  r.image = "busybox:1";
  r.image_digest = "sha256:" + std::string(64, 'b');
  r.labels = {{"com.docker.compose.project", "demo"}};
  r.command = {"sleep", "1"};
  compose::ServicePort port;
  port.target = 80;
  port.published = "8080";
  port.protocol = "udp";
  r.ports = {port};
  r.volumes = {"demo_data"};
  r.lowers = {"/l/2", "/l/1"};
  r.stop_grace_ms = 1500;
  auto back = parse_record(record_to_json(r), "c.json");
  REQUIRE(back.ok());
  CHECK(back->id == r.id);
  CHECK(back->name == r.name);
  CHECK(back->labels == r.labels);
  CHECK(back->command == r.command);
  REQUIRE(back->ports.size() == 1);
  CHECK(back->ports[0].published == "8080");
  CHECK(back->ports[0].protocol == "udp");
  CHECK(back->volumes == r.volumes);
  CHECK(back->lowers == r.lowers);
  CHECK(back->stop_grace_ms == 1500);
  CHECK(!parse_record("{\"id\":\"x\"}", "c.json").ok());
  auto bad = parse_record("[", "c.json");
  REQUIRE(!bad.ok());
  CHECK(bad.error().to_string().find("c.json") == 0);
}
