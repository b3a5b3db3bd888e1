// String and boolean service attributes.
#include <cctype>

#include "service_simple.h"

namespace stack::compose::simple {
namespace {

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

bool is_name_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-';
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s)
    if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
  return true;
}

bool check_cgroup(ConvertContext& c, const Node& at, const std::string& path, std::string& v) {
  if (v == "host" || v == "private") return true;
  c.error(at, path, "invalid value " + in_quotes(v) + " (expected one of: host, private)");
  return false;
}

// Docker's container-name rule, anchored (the schema's pattern is not, but the engine's is).
bool check_container_name(ConvertContext& c, const Node& at, const std::string& path, std::string& v) {
  bool ok = v.size() >= 2 && std::isalnum(static_cast<unsigned char>(v[0]));
  for (size_t i = 1; ok && i < v.size(); ++i) ok = is_name_char(v[i]);
  if (!ok) c.error(at, path, "invalid container name " + in_quotes(v) + " (must match [a-zA-Z0-9][a-zA-Z0-9_.-]+)");
  return ok;
}

// every_<n><unit>[<n><unit>…] with units w, d, h, m, s (the schema's pattern).
bool is_every_policy(std::string_view v) {
  if (v.rfind("every_", 0) != 0) return false;
  v.remove_prefix(6);
  if (v.empty()) return false;
  while (!v.empty()) {
    size_t digits = 0;
    while (digits < v.size() && std::isdigit(static_cast<unsigned char>(v[digits]))) ++digits;
    if (digits == 0 || digits == v.size()) return false;
    if (std::string_view("wdhms").find(v[digits]) == std::string_view::npos) return false;
    v.remove_prefix(digits + 1);
  }
  return true;
}

bool check_pull_policy(ConvertContext& c, const Node& at, const std::string& path, std::string& v) {
  // compose-go normalises the Kubernetes spelling to its own.
  if (v == "if_not_present") v = "missing";
  for (const char* ok : {"always", "never", "missing", "build", "refresh", "daily", "weekly"})
    if (v == ok) return true;
  if (is_every_policy(v)) return true;
  c.error(at, path,
          "invalid pull policy " + in_quotes(v) +
              " (expected always, never, missing, build, refresh, daily, weekly or every_<duration>)");
  return false;
}

bool check_restart(ConvertContext& c, const Node& at, const std::string& path, std::string& v) {
  if (v == "no" || v == "always" || v == "unless-stopped" || v == "on-failure") return true;
  if (v.rfind("on-failure:", 0) == 0 && all_digits(std::string_view(v).substr(11))) return true;
  c.error(
      at, path,
      "invalid restart policy " + in_quotes(v) + " (expected no, always, on-failure[:max-retries] or unless-stopped)");
  return false;
}

// pid is the one string attribute the schema lets be null (meaning unset).
void parse_pid(ConvertContext& c, const Node& v, const std::string& path, Service& s) {
  if (scalar_is_null(v)) return;
  if (auto x = read_string(c, v, path)) s.pid = *x;
}
void pid_to_json(const Service& s, Json& out) {
  if (!s.pid.empty()) out["pid"] = s.pid;
}

}  // namespace

const std::vector<ServiceField>& scalar_fields() {
  static const std::vector<ServiceField> fields = {
      string_field<"cgroup", &Service::cgroup, check_cgroup>(),
      string_field<"cgroup_parent", &Service::cgroup_parent>(),
      string_field<"container_name", &Service::container_name, check_container_name>(),
      string_field<"cpuset", &Service::cpuset>(),
      string_field<"domainname", &Service::domainname>(),
      string_field<"hostname", &Service::hostname>(),
      string_field<"image", &Service::image>(),
      string_field<"ipc", &Service::ipc>(),
      string_field<"mac_address", &Service::mac_address>(),
      string_field<"network_mode", &Service::network_mode>(),
      {"pid", parse_pid, pid_to_json},
      string_field<"platform", &Service::platform>(),
      string_field<"pull_policy", &Service::pull_policy, check_pull_policy>(),
      string_field<"pull_refresh_after", &Service::pull_refresh_after>(),
      string_field<"restart", &Service::restart, check_restart>(),
      string_field<"runtime", &Service::runtime>(),
      string_field<"stop_signal", &Service::stop_signal>(),
      string_field<"user", &Service::user>(),
      string_field<"userns_mode", &Service::userns_mode>(),
      string_field<"uts", &Service::uts>(),
      string_field<"volume_driver", &Service::volume_driver>(),
      string_field<"working_dir", &Service::working_dir>(),
      optional_bool_field<"attach", &Service::attach>(),
      optional_bool_field<"init", &Service::init>(),
      bool_field<"oom_kill_disable", &Service::oom_kill_disable>(),
      bool_field<"privileged", &Service::privileged>(),
      bool_field<"read_only", &Service::read_only>(),
      bool_field<"stdin_open", &Service::stdin_open>(),
      bool_field<"tty", &Service::tty>(),
      bool_field<"use_api_socket", &Service::use_api_socket>(),
  };
  return fields;
}

}  // namespace stack::compose::simple
