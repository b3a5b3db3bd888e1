// The /etc files, shim.json and Docker's status text for LocalHost (local_internal.h).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <sstream>

#include "local_internal.h"

namespace stack::engine::local {
namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string_view first_word(std::string_view line) {
  size_t b = line.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  line.remove_prefix(b);
  return line.substr(0, line.find_first_of(" \t"));
}

bool is_loopback_nameserver(std::string_view line) {
  std::string_view rest = line.substr(line.find("nameserver") + 10);
  size_t b = rest.find_first_not_of(" \t");
  if (b == std::string_view::npos) return false;
  rest.remove_prefix(b);
  rest = rest.substr(0, rest.find_first_of(" \t"));
  return rest.starts_with("127.") || rest == "::1";
}

int64_t duration_ms(const std::optional<compose::Duration>& d, int64_t fallback_ms) {
  return d ? d->ns / 1000000 : fallback_ms;
}

}  // namespace

std::string hosts_content(const std::string& hostname, const std::string& domainname,
                          const std::vector<std::string>& extra_hosts, bool host_network,
                          const std::vector<std::string>& addresses) {
  std::string out =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\n"
      "ff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n";
  for (const auto& entry : extra_hosts) {
    // Compose keeps "host=ip"; the legacy "host:ip" splits at the first colon (an IPv6 address
    // follows it).
    size_t sep = entry.find('=');
    if (sep == std::string::npos) sep = entry.find(':');
    if (sep == std::string::npos) continue;
    std::string ip = entry.substr(sep + 1);
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    out += ip + "\t" + entry.substr(0, sep) + "\n";
  }
  if (!host_network && !hostname.empty()) {
    // The container's name resolves to its own addresses; without any (network_mode none) to
    // its loopback, so that programs that look up their own hostname work.
    std::string names = hostname;
    if (!domainname.empty()) names = hostname + "." + domainname + " " + hostname;
    for (const auto& a : addresses) out += a + "\t" + names + "\n";
    if (addresses.empty()) out += "127.0.1.1\t" + names + "\n";
  }
  return out;
}

std::string resolv_content(std::string_view host_resolv_conf, const compose::Service& service,
                           bool host_network, bool embedded_dns) {
  std::string out;
  // The embedded resolver answers names of the container's networks and forwards the rest to
  // the host's resolvers, or to the service's dns: servers when it has some (as Docker does).
  if (embedded_dns) out += "nameserver 127.0.0.11\n";
  bool options_seen = false;
  for (std::string_view line : lines_of(host_resolv_conf)) {
    std::string_view word = first_word(line);
    if (word == "nameserver") {
      if (!service.dns.empty() || embedded_dns) continue;
      if (!host_network && is_loopback_nameserver(line)) continue;
    } else if (word == "search" || word == "domain") {
      if (!service.dns_search.empty()) continue;
    } else if (word == "options") {
      if (!service.dns_opt.empty()) continue;
      if (embedded_dns) {
        out.append(line);
        if (line.find("ndots:") == std::string_view::npos) out += " ndots:0";
        out += '\n';
        options_seen = true;
        continue;
      }
    }
    out.append(line);
    out += '\n';
  }
  if (embedded_dns && !options_seen && service.dns_opt.empty())
    out += "options ndots:0\n";
  if (!embedded_dns)
    for (const auto& ns : service.dns) out += "nameserver " + ns + "\n";
  if (!service.dns_search.empty()) {
    // "." alone means "no search domains" (Docker's convention).
    std::string joined;
    for (const auto& s : service.dns_search)
      if (s != ".") joined += (joined.empty() ? "" : " ") + s;
    if (!joined.empty()) out += "search " + joined + "\n";
  }
  if (!service.dns_opt.empty()) {
    out += "options";
    for (const auto& o : service.dns_opt) out += " " + o;
    out += "\n";
  }
  return out;
}

Result<int64_t> parse_size(std::string_view text) {
  if (text.empty()) return Error(EINVAL, "empty size");
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value < 0)
    return Error(EINVAL, "invalid size \"" + std::string(text) + "\"");
  std::string unit(end, text.data() + text.size());
  std::transform(unit.begin(), unit.end(), unit.begin(), ::tolower);
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  double mult = 1;
  if (unit == "k") mult = 1024.0;
  else if (unit == "m") mult = 1024.0 * 1024;
  else if (unit == "g") mult = 1024.0 * 1024 * 1024;
  else if (unit == "t") mult = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty()) return Error(EINVAL, "invalid size \"" + std::string(text) + "\"");
  return static_cast<int64_t>(value * mult);
}

Result<ShimConfig> shim_config_for(const compose::Service& service,
                                   const image::ImageConfig& image, const std::string& id,
                                   const std::string& bundle, const std::string& runtime_root) {
  auto fail = [&](const std::string& field, const Error& e) {
    return Error(e.code, "service " + service.name + ": " + field + ": " + e.to_string());
  };
  ShimConfig c;
  c.id = id;
  c.bundle = bundle;
  c.runtime_root = runtime_root;
  std::string restart = service.restart;
  // deploy.restart_policy applies when `restart` is not set (Compose maps it the same way).
  if (restart.empty() && service.deploy && service.deploy->restart_policy) {
    const auto& rp = *service.deploy->restart_policy;
    if (rp.condition == "none") restart = "no";
    else if (rp.condition == "on-failure" || rp.condition == "any" || rp.condition.empty())
      restart = rp.condition == "on-failure" ? "on-failure" : "always";
    if (rp.max_attempts && restart == "on-failure")
      restart += ":" + std::to_string(*rp.max_attempts);
  }
  auto policy = parse_restart_policy(restart);
  if (!policy.ok()) return fail("restart", policy.error());
  c.restart = *policy;
  c.stop_signal = !service.stop_signal.empty() ? service.stop_signal
                  : !image.stop_signal.empty() ? image.stop_signal
                                               : "SIGTERM";
  if (auto sig = parse_signal(c.stop_signal); !sig.ok()) return fail("stop_signal", sig.error());
  c.stop_grace_ms = duration_ms(service.stop_grace_period, 10000);
  c.tty = service.tty;
  c.stdin_open = service.stdin_open;
  if (service.logging) {
    const auto& lg = *service.logging;
    if (!lg.driver.empty() && lg.driver != "json-file" && lg.driver != "local")
      return Error(ENOTSUP, "service " + service.name + ": logging.driver: \"" + lg.driver +
                                "\" is not supported (json-file only)");
    if (auto it = lg.options.find("max-size"); it != lg.options.end()) {
      auto size = parse_size(it->second);
      if (!size.ok()) return fail("logging.options.max-size", size.error());
      c.log.max_size = *size;
    }
    if (auto it = lg.options.find("max-file"); it != lg.options.end()) {
      int n = 0;
      auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
      if (ec != std::errc() || end != it->second.data() + it->second.size() || n < 1)
        return Error(EINVAL, "service " + service.name +
                                 ": logging.options.max-file: expected a positive integer, got \"" +
                                 it->second + "\"");
      c.log.max_file = n;
    }
  }
  // Healthcheck: the service's fields over the image's; test NONE or disable turns it off.
  HealthcheckConfig hc;
  std::vector<std::string> test;
  if (image.healthcheck) {
    const auto& ih = *image.healthcheck;
    test = ih.test;
    if (ih.interval_ns) hc.interval_ms = ih.interval_ns / 1000000;
    if (ih.timeout_ns) hc.timeout_ms = ih.timeout_ns / 1000000;
    if (ih.start_period_ns) hc.start_period_ms = ih.start_period_ns / 1000000;
    if (ih.start_interval_ns) hc.start_interval_ms = ih.start_interval_ns / 1000000;
    if (ih.retries) hc.retries = ih.retries;
  }
  bool disabled = false;
  if (service.healthcheck) {
    const auto& sh = *service.healthcheck;
    disabled = sh.disable;
    if (sh.test) test = *sh.test;
    hc.interval_ms = duration_ms(sh.interval, hc.interval_ms);
    hc.timeout_ms = duration_ms(sh.timeout, hc.timeout_ms);
    hc.start_period_ms = duration_ms(sh.start_period, hc.start_period_ms);
    hc.start_interval_ms = duration_ms(sh.start_interval, hc.start_interval_ms);
    if (sh.retries) hc.retries = static_cast<int>(*sh.retries);
  }
  if (!test.empty() && test[0] == "NONE") disabled = true;
  if (!disabled && !test.empty()) {
    // A bare string test (Compose keeps it as one item) is CMD-SHELL.
    if (test[0] != "CMD" && test[0] != "CMD-SHELL") {
      std::string joined;
      for (const auto& t : test) joined += (joined.empty() ? "" : " ") + t;
      test = {"CMD-SHELL", joined};
    }
    hc.test = test;
    if (hc.interval_ms <= 0) hc.interval_ms = 30000;
    if (hc.timeout_ms <= 0) hc.timeout_ms = 30000;
    if (hc.start_interval_ms <= 0) hc.start_interval_ms = 5000;
    if (hc.retries <= 0) hc.retries = 3;
    c.healthcheck = hc;
  }
  return c;
}

int64_t parse_rfc3339_ns(std::string_view text) {
  if (text.size() < 20 || text.starts_with("0001-")) return 0;
  std::tm tm{};
  std::string head(text.substr(0, 19));
  if (!::strptime(head.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  int64_t sec = ::timegm(&tm);
  int64_t frac = 0;
  size_t i = 19;
  if (i < text.size() && text[i] == '.') {
    int64_t scale = 100000000;
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      frac += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  return sec * 1000000000 + frac;
}

std::string human_duration(int64_t ns) {
  double seconds = static_cast<double>(ns) / 1e9;
  auto n = [](double v) { return std::to_string(static_cast<int64_t>(v)); };
  if (seconds < 1) return "Less than a second";
  if (seconds < 2) return "1 second";
  if (seconds < 60) return n(seconds) + " seconds";
  double minutes = seconds / 60;
  if (std::llround(minutes) == 1) return "About a minute";
  if (minutes < 60) return n(std::round(minutes)) + " minutes";
  double hours = minutes / 60;
  if (std::llround(hours) == 1) return "About an hour";
  if (hours < 48) return n(std::round(hours)) + " hours";
  if (hours < 24 * 7 * 2) return n(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return n(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return n(hours / 24 / 30) + " months";
  return n(hours / 24 / 365) + " years";
}

std::string status_text(const ObservedContainer& c, const std::string& started_at,
                        const std::string& finished_at, int64_t now_unix_ns) {
  auto since = [&](const std::string& t) {
    int64_t at = parse_rfc3339_ns(t);
    return at ? human_duration(std::max<int64_t>(0, now_unix_ns - at)) : std::string();
  };
  switch (c.state) {
    case ContainerState::kCreated:
      return "Created";
    case ContainerState::kRunning:
    case ContainerState::kPaused: {
      std::string s = "Up " + since(started_at);
      if (c.state == ContainerState::kPaused) s += " (Paused)";
      else if (c.health == Health::kStarting) s += " (health: starting)";
      else if (c.health != Health::kNone) s += " (" + std::string(to_string(c.health)) + ")";
      return s;
    }
    case ContainerState::kRestarting:
      return "Restarting (" + std::to_string(c.exit_code) + ") " + since(finished_at) + " ago";
    case ContainerState::kExited:
      return "Exited (" + std::to_string(c.exit_code) + ") " + since(finished_at) + " ago";
    case ContainerState::kDead:
      return "Dead";
  }
  return "";
}

}  // namespace stack::engine::local
