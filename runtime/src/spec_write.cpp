// spec_to_json(): the Spec back to OCI JSON, fields in the order `runc spec` writes them.
// Optional values that are absent and optional lists that are empty are left out; an optional
// object that is present is written even when empty, so parse_spec() gives back the same Spec.
#include <exception>

#include "spec_internal.h"

namespace stack::runtime {
namespace spec_detail {
namespace {

template <class T>
void put_if(OrderedJson& j, const char* key, const std::optional<T>& value) {
  if (value) j[key] = *value;
}

template <class T>
void put_list(OrderedJson& j, const char* key, const std::vector<T>& values) {
  if (!values.empty()) j[key] = values;
}

void put_string(OrderedJson& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

OrderedJson write_user(const User& u) {
  OrderedJson j;
  j["uid"] = u.uid;
  j["gid"] = u.gid;
  put_if(j, "umask", u.umask);
  put_list(j, "additionalGids", u.additional_gids);
  return j;
}

OrderedJson write_capabilities(const Capabilities& c) {
  OrderedJson j = OrderedJson::object();
  put_list(j, "bounding", c.bounding);
  put_list(j, "effective", c.effective);
  put_list(j, "inheritable", c.inheritable);
  put_list(j, "permitted", c.permitted);
  put_list(j, "ambient", c.ambient);
  return j;
}

OrderedJson write_mount(const Mount& m) {
  OrderedJson j;
  j["destination"] = m.destination;
  put_string(j, "type", m.type);
  put_string(j, "source", m.source);
  put_list(j, "options", m.options);
  return j;
}

OrderedJson write_hooks(const Hooks& hooks) {
  OrderedJson j = OrderedJson::object();
  const std::pair<const char*, const std::vector<Hook>*> lists[] = {
      {"prestart", &hooks.prestart},
      {"createRuntime", &hooks.create_runtime},
      {"createContainer", &hooks.create_container},
      {"startContainer", &hooks.start_container},
      {"poststart", &hooks.poststart},
      {"poststop", &hooks.poststop}};
  for (const auto& [key, list] : lists) {
    for (const Hook& hook : *list) {
      OrderedJson h;
      h["path"] = hook.path;
      put_list(h, "args", hook.args);
      put_list(h, "env", hook.env);
      put_if(h, "timeout", hook.timeout_s);
      j[key].push_back(std::move(h));
    }
  }
  return j;
}

}  // namespace

OrderedJson write_process(const Process& p) {
  OrderedJson j;
  if (p.terminal) j["terminal"] = true;
  if (p.console_size)
    j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  j["user"] = write_user(p.user);
  j["args"] = p.args;
  put_list(j, "env", p.env);
  j["cwd"] = p.cwd;
  if (p.capabilities) j["capabilities"] = write_capabilities(*p.capabilities);
  for (const Rlimit& r : p.rlimits)
    j["rlimits"].push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
  if (p.no_new_privileges) j["noNewPrivileges"] = true;
  put_if(j, "oomScoreAdj", p.oom_score_adj);
  put_string(j, "apparmorProfile", p.apparmor_profile);
  put_string(j, "selinuxLabel", p.selinux_label);
  return j;
}

}  // namespace spec_detail

std::string spec_to_json(const Spec& spec) {
  using namespace spec_detail;
  try {
    OrderedJson j;
    j["ociVersion"] = spec.oci_version;
    if (spec.process) j["process"] = write_process(*spec.process);
    j["root"] = {{"path", spec.root.path}};
    if (spec.root.readonly) j["root"]["readonly"] = true;
    put_string(j, "hostname", spec.hostname);
    put_string(j, "domainname", spec.domainname);
    for (const Mount& m : spec.mounts) j["mounts"].push_back(write_mount(m));
    OrderedJson hooks = write_hooks(spec.hooks);
    if (!hooks.empty()) j["hooks"] = std::move(hooks);
    if (!spec.annotations.empty()) j["annotations"] = spec.annotations;
    j["linux"] = write_linux(spec.linux);
    // Invalid UTF-8 in a string cannot come from parse_spec(); replacing it keeps this total.
    return j.dump(2, ' ', false, OrderedJson::error_handler_t::replace) + "\n";
  } catch (const std::exception&) {
    return std::string();  // only std::bad_alloc can get here
  }
}

}  // namespace stack::runtime
