// The loading pipeline: which files, which environment, and the order of the passes.
#include "stack/compose/loader.h"

#include <algorithm>
#include <set>

#include "convert.h"
#include "dotenv.h"
#include "extends.h"
#include "include.h"
#include "interpolate.h"
#include "merge.h"
#include "project.h"
#include "yaml_reader.h"

namespace stack::compose {
namespace {

constexpr const char* kComposeNames[] = {"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"};
constexpr const char* kOverrideNames[] = {"compose.override.yaml", "compose.override.yml",
                                          "docker-compose.override.yaml", "docker-compose.override.yml"};
constexpr size_t kMaxIncludeDepth = 32;

std::string dir_name(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string absolute(const std::string& base, const std::string& path) {
  if (!path.empty() && path[0] == '/') return lexically_normal(path);
  return lexically_normal(base + "/" + path);
}

class Pipeline {
 public:
  Pipeline(const LoadOptions& o, const FileSource& fs, Diagnostics& d) : opts_(o), fs_(fs), diags_(d) {}

  // The name a file is shown under in messages: relative to the working directory when inside it.
  std::string display(const std::string& abs) const {
    const std::string& wd = opts_.working_dir;
    if (abs.size() > wd.size() && abs.compare(0, wd.size(), wd) == 0 && abs[wd.size()] == '/')
      return abs.substr(wd.size() + 1);
    if (wd == "/" && abs.size() > 1) return abs.substr(1);
    return abs;
  }

  Mark file_mark(const std::string& abs) const {
    Mark m;
    m.file = std::make_shared<const std::string>(display(abs));
    return m;
  }

  // Reads an env file into `env` (later files override earlier ones; the process environment
  // overrides all of them, applied by the caller). Missing optional files are skipped.
  bool read_env_file(const std::string& path, bool required, Environment& env, const Mark& at) {
    if (!fs_.is_file(path)) {
      if (required) diags_.error(at, "", "env file " + display(path) + " not found");
      return !required;
    }
    auto text = fs_.read(path);
    if (!text) {
      diags_.error(at, "", "cannot read env file " + display(path) + ": " + text.error().to_string());
      return false;
    }
    Lookup lookup = [&](const std::string& k) -> std::optional<std::string> {
      if (auto it = opts_.environment.find(k); it != opts_.environment.end()) return it->second;
      if (auto it = env.find(k); it != env.end()) return it->second;
      return std::nullopt;
    };
    DotenvError err;
    auto entries = parse_dotenv(*text, lookup, &err);
    if (!entries) {
      Mark m = file_mark(path);
      m.line = err.line;
      m.column = 1;
      diags_.error(m, "", err.message);
      return false;
    }
    for (auto& [k, v] : *entries) env[k] = v;
    return true;
  }

  // .env (or --env-file) under the process environment.
  Environment project_environment(const std::string& project_dir, const std::vector<std::string>& env_files,
                                  bool explicit_files) {
    Environment env;
    if (explicit_files) {
      for (const auto& f : env_files) read_env_file(absolute(opts_.working_dir, f), true, env, Mark{});
    } else {
      read_env_file(project_dir + "/.env", false, env, Mark{});
    }
    for (const auto& [k, v] : opts_.environment) env[k] = v;
    return env;
  }

  std::vector<std::string> discover_files() {
    std::vector<std::string> out;
    std::string dir = opts_.project_directory.empty() ? opts_.working_dir : absolute(opts_.working_dir, opts_.project_directory);
    for (;;) {
      for (const char* n : kComposeNames) {
        std::string p = dir + (dir == "/" ? "" : "/") + n;
        if (fs_.is_file(p)) {
          out.push_back(p);
          break;
        }
      }
      if (!out.empty()) {
        for (const char* n : kOverrideNames) {
          std::string p = dir + (dir == "/" ? "" : "/") + n;
          if (fs_.is_file(p)) {
            out.push_back(p);
            break;
          }
        }
        return out;
      }
      if (dir == "/" || !opts_.project_directory.empty()) break;
      dir = dir_name(dir);
    }
    return out;
  }

  // Read → YAML → interpolation → include → extends, for one file; several documents in one
  // file merge in order.
  std::optional<Node> load_document(const std::string& path, const Environment& env, const Mark& requested_at) {
    if (std::find(stack_.begin(), stack_.end(), path) != stack_.end() || stack_.size() > kMaxIncludeDepth) {
      std::string chain;
      for (const auto& s : stack_) chain += display(s) + " -> ";
      diags_.error(requested_at, "", "include cycle: " + chain + display(path));
      return std::nullopt;
    }
    std::string text;
    if (path == stdin_path()) {
      text = opts_.stdin_content;
    } else {
      auto r = fs_.read(path);
      if (!r) {
        diags_.error(requested_at.file ? requested_at : file_mark(path), "",
                     "cannot read " + display(path) + ": " + r.error().to_string());
        return std::nullopt;
      }
      text = std::move(*r);
    }
    size_t before = diags_.size();
    std::vector<Node> docs = read_yaml(text, path == stdin_path() ? "-" : display(path), diags_);
    if (diags_.size() != before) return std::nullopt;
    stack_.push_back(path);
    std::optional<Node> result;
    for (auto& doc : docs) {
      if (doc.is_null()) doc = Node::mapping(doc.mark);
      if (!doc.is_mapping()) {
        diags_.error(doc, "", "a Compose file must be a mapping at the top level, not a " + doc.type_name());
        continue;
      }
      process_document(doc, path, env);
      if (!result) result = std::move(doc);
      else merge_documents(*result, doc, diags_);
    }
    stack_.pop_back();
    return result;
  }

  void process_document(Node& doc, const std::string& path, const Environment& env) {
    if (opts_.interpolate) {
      Lookup lookup = [&env](const std::string& k) -> std::optional<std::string> {
        auto it = env.find(k);
        if (it == env.end()) return std::nullopt;
        return it->second;
      };
      std::vector<std::string> unset;
      interpolate_tree(doc, lookup, diags_, "", &unset);
      for (const auto& name : unset) warn("The \"" + name + "\" variable is not set. Defaulting to a blank string.");
    }
    IncludeLoader include_loader = [this](const IncludeRequest& r) { return load_include(r); };
    resolve_includes(doc, path, include_loader, diags_);
    DocumentLoader doc_loader = [this, &env](const std::string& p, const Mark& at) {
      return load_document(p, env, at);
    };
    resolve_extends(doc, path, doc_loader, diags_);
  }

  std::optional<Node> load_include(const IncludeRequest& r) {
    if (r.paths.empty()) return Node::mapping(r.at);
    std::string project_dir = r.project_directory.empty() ? dir_name(r.paths.front()) : r.project_directory;
    Environment env = project_environment(project_dir, r.env_files, !r.env_files.empty());
    std::optional<Node> merged;
    for (const auto& p : r.paths) {
      auto doc = load_document(p, env, r.at);
      if (!doc) return std::nullopt;
      if (!merged) merged = std::move(doc);
      else merge_documents(*merged, *doc, diags_);
    }
    if (merged) {
      finish_merge(*merged);
      rebase_document_paths(*merged, project_dir);
    }
    return merged;
  }

  std::string stdin_path() const { return opts_.working_dir + "/-"; }

  void warn(const std::string& message) {
    if (opts_.warnings && std::find(opts_.warnings->begin(), opts_.warnings->end(), message) == opts_.warnings->end())
      opts_.warnings->push_back(message);
  }

 private:
  const LoadOptions& opts_;
  const FileSource& fs_;
  Diagnostics& diags_;
  std::vector<std::string> stack_;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    auto pos = s.find(sep, start);
    std::string part = s.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
    if (!part.empty()) out.push_back(part);
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

}  // namespace

Result<Project> load(const LoadOptions& opts_in, const FileSource& fs) {
  LoadOptions opts = opts_in;
  if (opts.working_dir.empty()) opts.working_dir = "/";
  Diagnostics diags;
  Pipeline pipeline(opts, fs, diags);

  // Files: -f, else COMPOSE_FILE (from the environment or the working directory's .env), else
  // discovery.
  std::vector<std::string> files;
  for (const auto& f : opts.files) files.push_back(f == "-" ? pipeline.stdin_path() : absolute(opts.working_dir, f));
  if (files.empty()) {
    std::string pre_dir = opts.project_directory.empty() ? opts.working_dir : absolute(opts.working_dir, opts.project_directory);
    Environment pre = pipeline.project_environment(pre_dir, opts.env_files, !opts.env_files.empty());
    if (auto it = pre.find("COMPOSE_FILE"); it != pre.end() && !it->second.empty()) {
      char sep = ':';
      if (auto s = pre.find("COMPOSE_PATH_SEPARATOR"); s != pre.end() && !s->second.empty()) sep = s->second[0];
      for (const auto& f : split(it->second, sep)) files.push_back(absolute(pre_dir, f));
    } else {
      files = pipeline.discover_files();
    }
  }
  if (files.empty()) {
    return Error(ENOENT, "no configuration file provided: not found (looked for compose.yaml, compose.yml, "
                         "docker-compose.yaml, docker-compose.yml in " + opts.working_dir + " and its parents)");
  }

  std::string project_dir = opts.project_directory.empty()
                                ? (files.front() == pipeline.stdin_path() ? opts.working_dir : dir_name(files.front()))
                                : absolute(opts.working_dir, opts.project_directory);
  Environment env = pipeline.project_environment(project_dir, opts.env_files, !opts.env_files.empty());
  if (!diags.empty()) return Error(EINVAL, diags.to_string());

  std::optional<Node> merged;
  for (const auto& f : files) {
    auto doc = pipeline.load_document(f, env, pipeline.file_mark(f));
    if (!doc) continue;
    if (!merged) merged = std::move(doc);
    else merge_documents(*merged, *doc, diags);
  }
  if (!diags.empty() || !merged) return Error(EINVAL, diags.to_string());
  finish_merge(*merged);

  ProjectInputs in{opts, env, project_dir, files, pipeline.stdin_path()};
  Project project = build_project(*merged, in, fs, diags);
  if (!diags.empty()) return Error(EINVAL, diags.to_string());
  return project;
}

std::string normalize_project_name(const std::string& name) {
  std::string out;
  for (char ch : name) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '-' || l == '_') out.push_back(l);
  }
  while (!out.empty() && (out[0] == '-' || out[0] == '_')) out.erase(out.begin());
  return out;
}

bool is_valid_project_name(const std::string& name) {
  if (name.empty()) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) return false;
  for (char ch : name)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')) return false;
  return true;
}

}  // namespace stack::compose
