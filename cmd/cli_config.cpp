#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>

#include "cli.h"
#include "stack/common/atomic_file.h"
#include "stack/common/log.h"
#include "stack/compose/canonical.h"

extern char** environ;

namespace stack::cli {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

namespace {

// The selected services and everything they depend on, transitively.
std::set<std::string> with_dependencies(const compose::Project& p, const std::vector<std::string>& selected) {
  std::set<std::string> out;
  std::vector<std::string> todo(selected.begin(), selected.end());
  while (!todo.empty()) {
    std::string n = todo.back();
    todo.pop_back();
    if (!out.insert(n).second) continue;
    if (const auto* s = p.find_service(n))
      for (const auto& [dep, _] : s->depends_on) todo.push_back(dep);
  }
  return out;
}

int emit(const ConfigOptions& o, const std::string& text) {
  if (o.output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  if (auto st = write_file_atomic(o.output, text); !st) {
    std::fprintf(stderr, "stack: %s\n", st.error().to_string().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

compose::LoadOptions load_options(const GlobalOptions& g) {
  compose::LoadOptions o;
  o.files = g.files;
  o.project_name = g.project_name;
  o.project_directory = g.project_directory;
  o.env_files = g.env_files;
  o.profiles = g.profiles;
  char buf[4096];
  if (::getcwd(buf, sizeof buf) != nullptr) o.working_dir = buf;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) o.environment[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& f : g.files) {
    if (f == "-") {
      o.stdin_content.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      break;
    }
  }
  return o;
}

int run_config(const GlobalOptions& g, const ConfigOptions& opts) {
  compose::LoadOptions lo = load_options(g);
  lo.interpolate = !opts.no_interpolate;
  lo.resolve_environment = !opts.no_resolve_env;
  lo.services = opts.selected;
  std::vector<std::string> warnings;
  lo.warnings = &warnings;
  auto loaded = compose::load(lo, compose::RealFileSource());
  for (const auto& w : warnings) log::warn(w);
  if (!loaded) {
    std::fprintf(stderr, "%s\n", loaded.error().to_string().c_str());
    return 1;
  }
  compose::Project& p = *loaded;
  for (const auto& s : opts.selected) {
    if (!p.find_service(s)) {
      std::fprintf(stderr, "no such service: %s\n", s.c_str());
      return 1;
    }
  }
  if (!opts.selected.empty()) {
    auto keep = with_dependencies(p, opts.selected);
    std::erase_if(p.services, [&](const compose::Service& s) { return keep.count(s.name) == 0; });
  }
  if (opts.quiet) return 0;

  std::string out;
  if (opts.services) {
    for (const auto& s : p.services) out += s.name + "\n";
  } else if (opts.volumes) {
    for (const auto& [k, _] : p.volumes) out += k + "\n";
  } else if (opts.networks) {
    for (const auto& [k, _] : p.networks) out += k + "\n";
  } else if (opts.profiles) {
    std::set<std::string> all;
    for (const auto* list : {&p.services, &p.disabled_services})
      for (const auto& s : *list) all.insert(s.profiles.begin(), s.profiles.end());
    for (const auto& pr : all) out += pr + "\n";
  } else if (opts.images) {
    for (const auto& s : p.services) out += (s.image.empty() ? p.name + "-" + s.name : s.image) + "\n";
  } else if (!opts.hash.empty()) {
    std::vector<std::string> names = opts.hash == "*" ? std::vector<std::string>{} : split_commas(opts.hash);
    if (names.empty())
      for (const auto& s : p.services) names.push_back(s.name);
    for (const auto& n : names) {
      const auto* s = p.find_service(n);
      if (!s) {
        std::fprintf(stderr, "no such service: %s\n", n.c_str());
        return 1;
      }
      out += n + " " + compose::config_hash(*s) + "\n";
    }
  } else {
    // Interpolated output is escaped so that it loads again to the same values.
    compose::Json model = compose::project_to_json(p);
    if (!opts.no_interpolate) model = compose::escape_dollars(model);
    out = opts.format == "json" ? compose::to_json_text(model) : compose::to_yaml(model);
  }
  return emit(opts, out);
}

}  // namespace stack::cli
