// List-valued service attributes: capabilities, DNS, links, profiles, tmpfs, expose …
#include <cctype>

#include "service_simple.h"

namespace stack::compose::simple {
namespace {

// Checks one item already read; reports its own diagnostic at the item.
using ItemCheck = bool (*)(ConvertContext& c, const Node& at, const std::string& path, const std::string& item);

enum class Items { kStrings, kStringsOrNumbers };

// Reads the items of a sequence (or, with allow_single, one string), each a string or, for
// kStringsOrNumbers, a number rendered as text.
std::optional<std::vector<std::string>> read_items(ConvertContext& c, const Node& v, const std::string& path,
                                                   bool allow_single, Items kind) {
  if (kind == Items::kStrings) return read_string_list(c, v, path, allow_single);
  if (!v.is_sequence()) {
    c.error(v, path, "must be a list of strings or numbers, not a " + v.type_name());
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < v.items.size(); ++i) {
    auto s = read_scalar_text(c, v.items[i], path_index(path, i));
    if (s) out.push_back(*s);
    ok = ok && s.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

template <FieldKey K, std::vector<std::string> Service::*M, bool AllowSingle = false, Items Kind = Items::kStrings,
          ItemCheck Check = nullptr>
ServiceField list_field() {
  return {K.text,
          [](ConvertContext& c, const Node& v, const std::string& path, Service& s) {
            auto items = read_items(c, v, path, AllowSingle, Kind);
            if (!items) return;
            bool ok = check_unique(c, v, path, *items);
            if constexpr (Check != nullptr) {
              for (size_t i = 0; i < items->size(); ++i) {
                const Node& at = v.is_sequence() ? v.items[i] : v;
                ok = Check(c, at, v.is_sequence() ? path_index(path, i) : path, (*items)[i]) && ok;
              }
            }
            if (ok) s.*M = std::move(*items);
          },
          [](const Service& s, Json& out) { put_list(out, K.text, s.*M); }};
}

bool check_profile(ConvertContext& c, const Node& at, const std::string& path, const std::string& p) {
  bool ok = p.size() >= 2 && std::isalnum(static_cast<unsigned char>(p[0]));
  for (size_t i = 1; ok && i < p.size(); ++i) {
    char ch = p[i];
    ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-';
  }
  if (!ok) c.error(at, path, "invalid profile name \"" + p + "\" (must match [a-zA-Z0-9][a-zA-Z0-9_.-]+)");
  return ok;
}

// A port number 1-65535 written in decimal.
std::optional<uint32_t> port_number(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  uint32_t v = 0;
  for (char ch : s) {
    if (!std::isdigit(static_cast<unsigned char>(ch))) return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(ch - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return v;
}

// PORT, PORT-PORT, optionally followed by /tcp, /udp or /sctp.
bool check_expose(ConvertContext& c, const Node& at, const std::string& path, const std::string& item) {
  std::string_view s = item;
  bool ok = true;
  if (auto slash = s.find('/'); slash != std::string_view::npos) {
    std::string_view proto = s.substr(slash + 1);
    ok = proto == "tcp" || proto == "udp" || proto == "sctp";
    s = s.substr(0, slash);
  }
  auto dash = s.find('-');
  auto first = port_number(s.substr(0, dash));
  ok = ok && first.has_value();
  if (ok && dash != std::string_view::npos) {
    auto last = port_number(s.substr(dash + 1));
    ok = last && *last >= *first;
  }
  if (!ok) {
    c.error(at, path,
            "invalid exposed port \"" + item + "\" (expected PORT or PORT-PORT, optionally with /tcp, /udp or /sctp)");
  }
  return ok;
}

}  // namespace

const std::vector<ServiceField>& list_fields() {
  static const std::vector<ServiceField> fields = {
      list_field<"cap_add", &Service::cap_add>(),
      list_field<"cap_drop", &Service::cap_drop>(),
      list_field<"device_cgroup_rules", &Service::device_cgroup_rules>(),
      list_field<"dns", &Service::dns, true>(),
      list_field<"dns_opt", &Service::dns_opt>(),
      list_field<"dns_search", &Service::dns_search, true>(),
      list_field<"expose", &Service::expose, false, Items::kStringsOrNumbers, check_expose>(),
      list_field<"external_links", &Service::external_links>(),
      list_field<"group_add", &Service::group_add, false, Items::kStringsOrNumbers>(),
      list_field<"links", &Service::links>(),
      list_field<"profiles", &Service::profiles, false, Items::kStrings, check_profile>(),
      list_field<"security_opt", &Service::security_opt>(),
      list_field<"tmpfs", &Service::tmpfs, true>(),
      list_field<"volumes_from", &Service::volumes_from>(),
  };
  return fields;
}

}  // namespace stack::compose::simple
