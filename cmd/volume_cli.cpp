#include "volume_cli.h"

#include "cli_text.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "stack/common/syscalls.h"
#include "stack/volumes/local.h"
#include "stack/volumes/volume.h"

namespace stack::cli {

namespace vol = stack::volumes;

namespace {

// go-units HumanSize: decimal units, four significant digits ("0B", "1.234kB", "5MB").
std::string human_size(std::uint64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  double size = static_cast<double>(bytes);
  size_t unit = 0;
  while (size >= 1000 && unit + 1 < std::size(kUnits)) {
    size /= 1000;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%s", size, kUnits[unit]);
  return buf;
}


// `--filter` as Docker's volume list takes it: values of one key OR, keys AND; labels AND.
struct Filters {
  std::map<std::string, std::vector<std::string>> by_key;
};

Result<Filters> parse_filters(const std::vector<std::string>& raw) {
  Filters f;
  for (auto& r : raw) {
    auto eq = r.find('=');
    if (eq == std::string::npos) return Error(EINVAL, "bad format of filter (expected name=value)");
    std::string key = r.substr(0, eq), value = r.substr(eq + 1);
    if (key != "dangling" && key != "name" && key != "driver" && key != "label")
      return Error(EINVAL, "invalid filter '" + key + "'");
    if (key == "dangling" && value != "true" && value != "1" && value != "false" && value != "0")
      return Error(EINVAL, "invalid filter 'dangling=" + value + "'");
    f.by_key[key].push_back(value);
  }
  return f;
}

bool regex_matches(const std::string& pattern, const std::string& text) {
  try {
    return std::regex_search(text, std::regex(pattern));
  } catch (const std::regex_error&) {
    return false;  // Docker skips a value that is not a valid expression
  }
}

bool matches(const Filters& f, const vol::VolumeInfo& v, size_t consumer_count) {
  for (auto& [key, values] : f.by_key) {
    if (key == "label") {
      for (auto& want : values) {
        auto [k, val] = split_kv(want);
        auto it = v.labels.find(k);
        if (it == v.labels.end()) return false;
        if (want.find('=') != std::string::npos && it->second != val) return false;
      }
      continue;
    }
    bool any = false;
    for (auto& want : values) {
      if (key == "dangling") any |= (want == "true" || want == "1") == (consumer_count == 0);
      if (key == "driver") any |= want == v.driver;
      if (key == "name") any |= want == v.name || regex_matches(want, v.name);
    }
    if (!any) return false;
  }
  return true;
}

int print_error(VolumeCli& s, const Error& e) {
  *s.err << "Error: " << e.to_string() << "\n";
  return 1;
}

std::string joined_labels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

int run_ls(vol::LocalDriver& d, VolumeCli& s) {
  auto filters = parse_filters(s.filters);
  if (!filters.ok()) return print_error(s, filters.error());
  auto all = d.list();
  if (!all.ok()) return print_error(s, all.error());
  std::vector<vol::VolumeInfo> shown;
  for (auto& v : *all) {
    size_t users = 0;
    if (filters->by_key.count("dangling")) {
      auto c = d.consumers(v.name);
      if (!c.ok()) return print_error(s, c.error());
      users = c->size();
    }
    if (matches(*filters, v, users)) shown.push_back(v);
  }
  std::sort(shown.begin(), shown.end(),
            [](auto& a, auto& b) { return natural_less(a.name, b.name); });
  if (s.quiet) {
    for (auto& v : shown) *s.out << v.name << "\n";
  } else if (s.format == "json") {
    // `--format json` is `{{json .}}` of Docker's volume row: every column, sorted keys.
    for (auto& v : shown) {
      nlohmann::json row{{"Availability", "N/A"}, {"Driver", v.driver},
                         {"Group", "N/A"},        {"Labels", joined_labels(v.labels)},
                         {"Links", "N/A"},        {"Mountpoint", v.mountpoint},
                         {"Name", v.name},        {"Scope", v.scope},
                         {"Size", "N/A"},         {"Status", "N/A"}};
      *s.out << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
  } else {
    // Docker's tabwriter: minimum width 10, padding 3.
    size_t width = std::string("DRIVER").size();
    for (auto& v : shown) width = std::max(width, v.driver.size());
    width = std::max<size_t>(width + 3, 10);
    auto row = [&](const std::string& a, const std::string& b) {
      *s.out << a << std::string(width - a.size(), ' ') << b << "\n";
    };
    row("DRIVER", "VOLUME NAME");
    for (auto& v : shown) row(v.driver, v.name);
  }
  return 0;
}

int run_inspect(vol::LocalDriver& d, VolumeCli& s) {
  std::vector<vol::VolumeInfo> found;
  std::vector<std::string> errors;
  for (auto& n : s.names) {
    auto v = d.get(n);
    if (!v.ok()) {
      errors.push_back(v.error().to_string());
    } else if (!*v) {
      errors.push_back("No such volume: " + n);
    } else {
      found.push_back(**v);
    }
  }
  *s.out << vol::volumes_inspect_json(found) << "\n";
  for (auto& e : errors) *s.err << "Error: " << e << "\n";
  return errors.empty() ? 0 : 1;
}

int run_create(vol::LocalDriver& d, VolumeCli& s) {
  if (s.names.size() > 1) return print_error(s, Error(EINVAL, "at most one volume name"));
  std::string positional = s.names.empty() ? "" : s.names[0];
  if (!positional.empty() && !s.create_name.empty() && positional != s.create_name)
    return print_error(s, Error(EINVAL, "conflicting options: either specify --name or provide "
                                        "positional arg, not both"));
  vol::VolumeSpec spec;
  spec.name = positional.empty() ? s.create_name : positional;
  spec.driver = s.driver.empty() ? vol::kLocalDriverName : s.driver;
  for (auto& o : s.opts) {
    auto [k, v] = split_kv(o);
    spec.driver_opts[k] = v;
  }
  for (auto& l : s.labels) {
    auto [k, v] = split_kv(l);
    if (k.empty()) return print_error(s, Error(EINVAL, "invalid label '" + l + "': empty name"));
    spec.labels[k] = v;
  }
  if (spec.name.empty()) {
    // As Docker's daemon: a generated name, labelled anonymous so that `prune` takes it.
    spec.name = vol::anonymous_volume_name();
    spec.labels[vol::kAnonymousLabel] = "";
  }
  auto made = d.create(spec);
  if (!made.ok()) return print_error(s, made.error());
  *s.out << made->name << "\n";
  return 0;
}

int run_rm(vol::LocalDriver& d, VolumeCli& s) {
  int status = 0;
  for (auto& n : s.names) {
    auto r = d.remove(n, /*force=*/false);
    if (r.ok()) {
      *s.out << n << "\n";
    } else if (r.error().code == ENOENT) {
      // Docker's -f: a missing volume is no error. It never removes a volume in use.
      if (!s.force) status = print_error(s, Error(ENOENT, "No such volume: " + n));
    } else {
      status = print_error(s, r.error());
    }
  }
  return status;
}

int run_prune(vol::LocalDriver& d, VolumeCli& s) {
  auto all = d.list();
  if (!all.ok()) return print_error(s, all.error());
  std::vector<std::string> deleted;
  std::uint64_t reclaimed = 0;
  int status = 0;
  for (auto& v : *all) {
    auto users = d.consumers(v.name);
    if (!users.ok()) {
      status = print_error(s, users.error());
      continue;
    }
    if (!vol::prune_selects(v, users->size(), s.all)) continue;
    auto bytes = d.size(v.name);
    auto r = d.remove(v.name, /*force=*/false);
    if (!r.ok()) {
      // A container took it since the listing: it stays, as Docker's prune leaves it.
      if (r.error().code != EBUSY) status = print_error(s, r.error());
      continue;
    }
    deleted.push_back(v.name);
    if (bytes.ok()) reclaimed += *bytes;
  }
  if (!deleted.empty()) {
    *s.out << "Deleted Volumes:\n";
    for (auto& n : deleted) *s.out << n << "\n";
    *s.out << "\n";
  }
  *s.out << "Total reclaimed space: " << human_size(reclaimed) << "\n";
  return status;
}

}  // namespace

void add_volume_commands(CLI::App& app, VolumeCli& s) {
  s.volume = app.add_subcommand("volume", "Manage volumes");
  s.volume->require_subcommand(1);

  s.ls = s.volume->add_subcommand("ls", "List volumes")->alias("list");
  s.ls->add_flag("-q,--quiet", s.quiet, "Only display volume names");
  s.ls->add_option("--format", s.format, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  s.ls->add_option("-f,--filter", s.filters,
                   "Filter: dangling=true|false, name=…, label=KEY[=VALUE], driver=…")
      ->allow_extra_args(false);

  s.inspect = s.volume->add_subcommand("inspect", "Display detailed information on volumes");
  s.inspect->add_option("volume", s.names, "Volumes")->required();

  s.create = s.volume->add_subcommand("create", "Create a volume");
  s.create->add_option("-d,--driver", s.driver, "Volume driver (only local)");
  s.create->add_option("-o,--opt", s.opts, "Driver option KEY=VALUE (type, o, device)")
      ->allow_extra_args(false);
  s.create->add_option("--label", s.labels, "Label KEY=VALUE")->allow_extra_args(false);
  s.create->add_option("--name", s.create_name, "Volume name");
  s.create->add_option("volume", s.names, "Volume name (default: a random, anonymous one)")
      ->expected(0, 1);

  s.rm = s.volume->add_subcommand("rm", "Remove volumes (not those in use)")->alias("remove");
  s.rm->add_flag("-f,--force", s.force, "Ignore volumes that do not exist");
  s.rm->add_option("volume", s.names, "Volumes")->required();

  s.prune = s.volume->add_subcommand("prune", "Remove unused anonymous volumes (-a: all unused)");
  s.prune->add_flag("-a,--all", s.all, "Remove all unused volumes, not just anonymous ones");
  s.prune->add_flag("-f,--force", s.force, "Do not prompt (there is no prompt)");
}

int run_volume_cli(const std::string& state_root, VolumeCli& s) {
  auto parsed = [](CLI::App* c) { return c && c->parsed(); };
  if (!parsed(s.volume)) return -1;
  RealSyscalls real;
  Syscalls& sys = s.syscalls ? *s.syscalls : real;
  auto driver = vol::LocalDriver::open(state_root + "/volumes", sys);
  if (!driver.ok()) return print_error(s, driver.error());
  if (parsed(s.ls)) return run_ls(*driver, s);
  if (parsed(s.inspect)) return run_inspect(*driver, s);
  if (parsed(s.create)) return run_create(*driver, s);
  if (parsed(s.rm)) return run_rm(*driver, s);
  if (parsed(s.prune)) return run_prune(*driver, s);
  return -1;
}

}  // namespace stack::cli
