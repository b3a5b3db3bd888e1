// container.json, tree removal and random ids for LocalHost (local_internal.h).
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

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
                      {"stop_grace_ms", r.stop_grace_ms}};
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
  } catch (const nlohmann::json::exception& e) {
    return Error(EINVAL, where + ": " + e.what());
  }
  if (r.id.size() != 64 || r.name.empty()) return Error(EINVAL, where + ": missing id or name");
  return r;
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
