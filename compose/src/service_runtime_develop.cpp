// develop: watch rules for `stack watch`. Watched paths are host paths and resolve against the
// project directory, as Compose resolves them.
#include "service_runtime.h"

namespace stack::compose::runtime {
namespace {

const std::vector<std::string> kWatchActions = {"rebuild", "sync", "restart", "sync+restart", "sync+exec"};

std::optional<WatchRule> read_watch_rule(ConvertContext& c, const Node& n, const std::string& path) {
  static const std::vector<std::string> kKeys = {"path",    "action",  "target",       "ignore",
                                                 "include", "exec",    "initial_sync"};
  ErrorWatch watch(c);
  if (!check_mapping(c, n, path, kKeys)) return std::nullopt;
  WatchRule w;
  auto at = [&](const char* key) { return path_join(path, key); };
  if (require_key(c, n, path, "path")) {
    if (auto p = read_string(c, *n.find("path"), at("path"))) w.path = resolve_path(c, *p);
  }
  if (require_key(c, n, path, "action"))
    w.action = read_enum(c, *n.find("action"), at("action"), kWatchActions).value_or("");
  if (const Node* v = n.find("target")) w.target = read_string(c, *v, at("target")).value_or("");
  if (const Node* v = n.find("ignore"))
    w.ignore = read_string_list(c, *v, at("ignore"), true).value_or(std::vector<std::string>{});
  if (const Node* v = n.find("include"))
    w.include = read_string_list(c, *v, at("include"), true).value_or(std::vector<std::string>{});
  if (const Node* v = n.find("initial_sync")) w.initial_sync = read_bool(c, *v, at("initial_sync")).value_or(false);
  if (const Node* v = n.find("exec")) w.exec = read_hook(c, *v, at("exec"));
  else if (w.action == "sync+exec") c.error(n, path, "missing required key \"exec\" (action is sync+exec)");
  w.extensions = read_extensions(n);
  if (!watch.ok()) return std::nullopt;
  return w;
}

Json watch_rule_json(const WatchRule& w) {
  Json o = Json::object();
  o["path"] = w.path;
  o["action"] = w.action;
  if (!w.target.empty()) o["target"] = w.target;
  if (!w.ignore.empty()) o["ignore"] = string_list_json(w.ignore);
  if (!w.include.empty()) o["include"] = string_list_json(w.include);
  if (w.initial_sync) o["initial_sync"] = true;
  if (w.exec) o["exec"] = hook_json(*w.exec);
  return extensions_json(w.extensions, std::move(o));
}

}  // namespace

void parse_develop(ConvertContext& c, const Node& value, const std::string& path, Service& svc) {
  if (value.is_null() || (value.is_scalar() && !value.quoted && scalar_is_null(value))) return;
  ErrorWatch watch(c);
  if (!check_mapping(c, value, path, {"watch"})) return;
  Develop d;
  if (const Node* v = value.find("watch")) {
    std::string p = path_join(path, "watch");
    if (!v->is_sequence()) c.error(*v, p, "must be a list of watch rules, not a " + v->type_name());
    for (size_t i = 0; v->is_sequence() && i < v->items.size(); ++i) {
      if (auto w = read_watch_rule(c, v->items[i], path_index(p, i))) d.watch.push_back(std::move(*w));
    }
  }
  d.extensions = read_extensions(value);
  if (watch.ok()) svc.develop = std::move(d);
}

void develop_to_json(const Service& svc, Json& out) {
  if (!svc.develop) return;
  Json o = Json::object();
  if (!svc.develop->watch.empty()) {
    Json a = Json::array();
    for (const auto& w : svc.develop->watch) a.push_back(watch_rule_json(w));
    o["watch"] = std::move(a);
  }
  out["develop"] = extensions_json(svc.develop->extensions, std::move(o));
}

}  // namespace stack::compose::runtime
