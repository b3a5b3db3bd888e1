// container.json, tree removal and random ids for LocalHost (local_internal.h).
#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "local_internal.h"
#include "stack/common/unique_fd.h"
#include "stack/volumes/tree.h"

namespace stack::engine::local {

std::string record_to_json(const ContainerRecord& r) {
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& p : r.ports)
    ports.push_back({{"target", p.target},
                     {"published", p.published},
                     {"host_ip", p.host_ip},
                     {"protocol", p.protocol.empty() ? "tcp" : p.protocol}});
  nlohmann::json j = {{"id", r.id},
                      {"name", r.name},
                      {"created", r.created},
                      {"image", r.image},
                      {"image_digest", r.image_digest},
                      {"labels", r.labels},
                      {"command", r.command},
                      {"ports", ports},
                      {"volumes", r.volumes},
                      {"lowers", r.lowers},
                      {"anonymous", r.anonymous},
                      {"stop_grace_ms", r.stop_grace_ms},
                      {"network_mode", r.network_mode},
                      {"netns", r.netns},
                      {"links", r.links},
                      {"external_links", r.external_links},
                      {"dns", r.dns},
                      {"exposed", r.exposed}};
  nlohmann::json endpoints = nlohmann::json::array();
  for (const auto& e : r.endpoints)
    endpoints.push_back({{"network", e.info.network},
                         {"ipv4", e.info.ipv4},
                         {"ipv4_prefix", e.info.ipv4_prefix},
                         {"ipv6", e.info.ipv6},
                         {"ipv6_prefix", e.info.ipv6_prefix},
                         {"gateway4", e.info.gateway4},
                         {"gateway6", e.info.gateway6},
                         {"mac", e.info.mac},
                         {"aliases", e.info.aliases},
                         {"ifname", e.ifname},
                         {"host_ifname", e.host_ifname}});
  j["endpoints"] = endpoints;
  nlohmann::json published = nlohmann::json::array();
  for (const auto& p : r.published)
    published.push_back({{"host_ip", p.host_ip},
                         {"host_port", p.host_port},
                         {"target", p.target},
                         {"protocol", p.protocol}});
  j["published"] = published;
  return j.dump(2) + "\n";
}

Result<ContainerRecord> parse_record(std::string_view text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(EINVAL, where + ": not a JSON object");
  ContainerRecord r;
  try {
    r.id = j.at("id").get<std::string>();
    r.name = j.at("name").get<std::string>();
    r.created = j.value("created", "");
    r.image = j.value("image", "");
    r.image_digest = j.value("image_digest", "");
    r.labels = j.value("labels", compose::Mapping{});
    r.command = j.value("command", std::vector<std::string>{});
    r.volumes = j.value("volumes", std::vector<std::string>{});
    r.lowers = j.value("lowers", std::vector<std::string>{});
    r.anonymous = j.value("anonymous", std::map<std::string, std::string>{});
    r.stop_grace_ms = j.value("stop_grace_ms", int64_t{10000});
    for (const auto& p : j.value("ports", nlohmann::json::array())) {
      compose::ServicePort port;
      port.target = p.value("target", 0u);
      port.published = p.value("published", "");
      port.host_ip = p.value("host_ip", "");
      port.protocol = p.value("protocol", "tcp");
      r.ports.push_back(std::move(port));
    }
    r.network_mode = j.value("network_mode", "bridge");
    r.netns = j.value("netns", "");
    r.links = j.value("links", std::vector<std::string>{});
    r.external_links = j.value("external_links", std::vector<std::string>{});
    r.dns = j.value("dns", std::vector<std::string>{});
    r.exposed = j.value("exposed", std::vector<std::string>{});
    for (const auto& e : j.value("endpoints", nlohmann::json::array())) {
      Endpoint ep;
      ep.info.network = e.at("network").get<std::string>();
      ep.info.ipv4 = e.value("ipv4", "");
      ep.info.ipv4_prefix = e.value("ipv4_prefix", 0);
      ep.info.ipv6 = e.value("ipv6", "");
      ep.info.ipv6_prefix = e.value("ipv6_prefix", 0);
      ep.info.gateway4 = e.value("gateway4", "");
      ep.info.gateway6 = e.value("gateway6", "");
      ep.info.mac = e.value("mac", "");
      ep.info.aliases = e.value("aliases", std::vector<std::string>{});
      ep.ifname = e.value("ifname", "");
      ep.host_ifname = e.value("host_ifname", "");
      r.endpoints.push_back(std::move(ep));
    }
    for (const auto& p : j.value("published", nlohmann::json::array())) {
      PublishedPort port;
      port.host_ip = p.value("host_ip", "");
      port.host_port = p.value("host_port", uint16_t{0});
      port.target = p.value("target", 0u);
      port.protocol = p.value("protocol", "tcp");
      r.published.push_back(std::move(port));
    }
  } catch (const nlohmann::json::exception& e) {
    return Error(EINVAL, where + ": " + e.what());
  }
  if (r.id.size() != 64 || r.name.empty()) return Error(EINVAL, where + ": missing id or name");
  return r;
}

std::string network_record_to_json(const NetworkRecord& r) {
  nlohmann::json config = nlohmann::json::array();
  for (const auto& c : r.ipam_config)
    config.push_back({{"subnet", c.subnet},
                      {"ip_range", c.ip_range},
                      {"gateway", c.gateway},
                      {"aux_addresses", c.aux_addresses}});
  nlohmann::json j = {{"name", r.name},
                      {"id", r.id},
                      {"created", r.created},
                      {"driver", r.driver},
                      {"bridge", r.bridge},
                      {"labels", r.labels},
                      {"options", r.options},
                      {"internal", r.internal},
                      {"attachable", r.attachable},
                      {"enable_ipv6", r.enable_ipv6},
                      {"mtu", r.mtu},
                      {"ipam", {{"driver", r.ipam_driver}, {"config", config}}}};
  return j.dump(2) + "\n";
}

Result<NetworkRecord> parse_network_record(std::string_view text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(EINVAL, where + ": not a JSON object");
  NetworkRecord r;
  try {
    r.name = j.at("name").get<std::string>();
    r.id = j.value("id", "");
    r.created = j.value("created", "");
    r.driver = j.value("driver", "bridge");
    r.bridge = j.value("bridge", "");
    r.labels = j.value("labels", compose::Mapping{});
    r.options = j.value("options", compose::Mapping{});
    r.internal = j.value("internal", false);
    r.attachable = j.value("attachable", false);
    r.enable_ipv6 = j.value("enable_ipv6", false);
    r.mtu = j.value("mtu", 0u);
    auto ipam = j.value("ipam", nlohmann::json::object());
    r.ipam_driver = ipam.value("driver", "default");
    for (const auto& c : ipam.value("config", nlohmann::json::array())) {
      compose::IpamPool pool;
      pool.subnet = c.value("subnet", "");
      pool.ip_range = c.value("ip_range", "");
      pool.gateway = c.value("gateway", "");
      pool.aux_addresses = c.value("aux_addresses", compose::Mapping{});
      r.ipam_config.push_back(std::move(pool));
    }
  } catch (const nlohmann::json::exception& e) {
    return Error(EINVAL, where + ": " + e.what());
  }
  if (r.name.empty()) return Error(EINVAL, where + ": missing name");
  return r;
}

Status all_errors(const std::vector<std::string>& errors, const std::string& what) {
  if (errors.empty()) return {};
  std::string all;
  for (const auto& e : errors) all += (all.empty() ? "" : "; ") + e;
  return Error(EIO, what.empty() ? all : what + ": " + all);
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    out.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Status remove_container_dir(const std::string& containers_dir, const std::string& id) {
  UniqueFd dir(::open(containers_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return errno_error("opening " + containers_dir);
  return volumes::remove_tree_at(dir.get(), id).wrap("removing " + containers_dir + "/" + id);
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace stack::engine::local
