// blkio_config. Its schema allows no x-* keys at any level, unlike most Compose objects. Compose
// prints the device entries with Go field names ("Path", "Rate"), which its own schema rejects;
// the canonical JSON uses the schema's lower-case keys so that it loads again.
#include "service_runtime.h"

namespace stack::compose::runtime {
namespace {

constexpr int64_t kMinWeight = 10;
constexpr int64_t kMaxWeight = 1000;

enum class RateKind { kBytes, kOps };

std::vector<BlkioWeightDevice> read_weight_devices(ConvertContext& c, const Node& n, const std::string& path) {
  auto read = [&](const Node& item, const std::string& p) -> std::optional<BlkioWeightDevice> {
    if (!check_mapping_strict(c, item, p, {"path", "weight"})) return std::nullopt;
    BlkioWeightDevice w;
    if (const Node* v = item.find("path")) w.path = read_string(c, *v, path_join(p, "path")).value_or("");
    if (const Node* v = item.find("weight"))
      w.weight = static_cast<uint16_t>(
          read_int_range(c, *v, path_join(p, "weight"), kMinWeight, kMaxWeight).value_or(0));
    return w;
  };
  return read_list<BlkioWeightDevice>(c, n, path, read).value_or(std::vector<BlkioWeightDevice>{});
}

std::optional<uint64_t> read_rate(ConvertContext& c, const Node& n, const std::string& path, RateKind kind) {
  if (kind == RateKind::kBytes) {
    auto b = read_bytes(c, n, path);
    if (!b) return std::nullopt;
    return static_cast<uint64_t>(*b);
  }
  auto v = read_int(c, n, path);
  if (!v) return std::nullopt;
  if (*v < 0) {
    c.error(n, path, "must be a non-negative integer, not " + std::to_string(*v));
    return std::nullopt;
  }
  return static_cast<uint64_t>(*v);
}

std::vector<BlkioLimit> read_limits(ConvertContext& c, const Node& n, const std::string& path, RateKind kind) {
  auto read = [&](const Node& item, const std::string& p) -> std::optional<BlkioLimit> {
    if (!check_mapping_strict(c, item, p, {"path", "rate"})) return std::nullopt;
    BlkioLimit l;
    if (const Node* v = item.find("path")) l.path = read_string(c, *v, path_join(p, "path")).value_or("");
    if (const Node* v = item.find("rate")) l.rate = read_rate(c, *v, path_join(p, "rate"), kind).value_or(0);
    return l;
  };
  return read_list<BlkioLimit>(c, n, path, read).value_or(std::vector<BlkioLimit>{});
}

Json limits_json(const std::vector<BlkioLimit>& limits) {
  Json a = Json::array();
  for (const auto& l : limits) {
    Json o = Json::object();
    if (!l.path.empty()) o["path"] = l.path;
    // Compose stores both kinds of rate as byte sizes, which it writes as strings of digits.
    if (l.rate != 0) o["rate"] = std::to_string(l.rate);
    a.push_back(std::move(o));
  }
  return a;
}

}  // namespace

void parse_blkio_config(ConvertContext& c, const Node& value, const std::string& path, Service& svc) {
  static const std::vector<std::string> kKeys = {"weight",           "weight_device",    "device_read_bps",
                                                 "device_read_iops", "device_write_bps", "device_write_iops"};
  ErrorWatch watch(c);
  if (!check_mapping_strict(c, value, path, kKeys)) return;
  BlkioConfig b;
  auto at = [&](const char* key) { return path_join(path, key); };
  if (const Node* v = value.find("weight"))
    b.weight = static_cast<uint16_t>(read_int_range(c, *v, at("weight"), kMinWeight, kMaxWeight).value_or(0));
  if (const Node* v = value.find("weight_device")) b.weight_device = read_weight_devices(c, *v, at("weight_device"));
  if (const Node* v = value.find("device_read_bps"))
    b.device_read_bps = read_limits(c, *v, at("device_read_bps"), RateKind::kBytes);
  if (const Node* v = value.find("device_read_iops"))
    b.device_read_iops = read_limits(c, *v, at("device_read_iops"), RateKind::kOps);
  if (const Node* v = value.find("device_write_bps"))
    b.device_write_bps = read_limits(c, *v, at("device_write_bps"), RateKind::kBytes);
  if (const Node* v = value.find("device_write_iops"))
    b.device_write_iops = read_limits(c, *v, at("device_write_iops"), RateKind::kOps);
  if (watch.ok()) svc.blkio_config = std::move(b);
}

void blkio_config_to_json(const Service& svc, Json& out) {
  if (!svc.blkio_config) return;
  const BlkioConfig& b = *svc.blkio_config;
  Json o = Json::object();
  if (b.weight != 0) o["weight"] = b.weight;
  if (!b.weight_device.empty()) {
    Json a = Json::array();
    for (const auto& w : b.weight_device) {
      Json item = Json::object();
      if (!w.path.empty()) item["path"] = w.path;
      if (w.weight != 0) item["weight"] = w.weight;
      a.push_back(std::move(item));
    }
    o["weight_device"] = std::move(a);
  }
  if (!b.device_read_bps.empty()) o["device_read_bps"] = limits_json(b.device_read_bps);
  if (!b.device_read_iops.empty()) o["device_read_iops"] = limits_json(b.device_read_iops);
  if (!b.device_write_bps.empty()) o["device_write_bps"] = limits_json(b.device_write_bps);
  if (!b.device_write_iops.empty()) o["device_write_iops"] = limits_json(b.device_write_iops);
  out["blkio_config"] = std::move(o);
}

}  // namespace stack::compose::runtime
