// Loading a Compose project: files → the typed model (model.h).
//
// Pipeline (each step a pure pass over in-memory trees; see docs/compose.md):
//   read → YAML with positions → interpolation → include → extends → merge (per file, in -f order)
//   → validation + canonical long syntax (typed model) → profiles → normalisation.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stack/common/result.h"
#include "stack/compose/model.h"

namespace stack::compose {

// Where files come from: the real filesystem, or memory (tests, fuzzing). Paths are absolute.
class FileSource {
 public:
  virtual ~FileSource() = default;
  virtual Result<std::string> read(const std::string& path) const = 0;
  virtual bool is_file(const std::string& path) const = 0;
};

class RealFileSource final : public FileSource {
 public:
  Result<std::string> read(const std::string& path) const override;
  bool is_file(const std::string& path) const override;
};

class MemoryFileSource final : public FileSource {
 public:
  MemoryFileSource() = default;
  explicit MemoryFileSource(std::map<std::string, std::string> files) : files_(std::move(files)) {}
  void add(const std::string& path, std::string content) { files_[path] = std::move(content); }
  Result<std::string> read(const std::string& path) const override;
  bool is_file(const std::string& path) const override;

 private:
  std::map<std::string, std::string> files_;
};

struct LoadOptions {
  // -f files as given (relative to working_dir); empty → COMPOSE_FILE, then discovery of
  // compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml upward from working_dir
  // with compose.override.* / docker-compose.override.* beside it.
  std::vector<std::string> files;
  std::string working_dir;        // absolute; the process's cwd
  std::string project_directory;  // --project-directory; empty → directory of the first file
  std::string project_name;       // -p
  std::vector<std::string> env_files;  // --env-file (replace the project directory's .env)
  std::map<std::string, std::string> environment;  // the process environment
  std::vector<std::string> profiles;               // --profile (plus COMPOSE_PROFILES)
  // Services named on the command line: enabled even when their profile is not active.
  std::vector<std::string> services;
  std::string stdin_content;   // the content of a "-" file (-f -)
  bool interpolate = true;     // false: --no-interpolate
  bool resolve_environment = true;  // fold env_file and look up bare `environment` keys
  // When set, receives warnings that do not stop loading, once each, e.g.
  // "The \"TAG\" variable is not set. Defaulting to a blank string."
  std::vector<std::string>* warnings = nullptr;
};

// The project, or an error whose message holds one located line per problem
// ("compose.yml:12:7: services.web.ports[1]: invalid port \"80:80:80\"").
Result<Project> load(const LoadOptions& options, const FileSource& files);

// Compose's project-name rule: lower-case letters, digits, '-', '_', starting with a letter or
// digit. normalize_project_name() lower-cases and drops other characters (as Compose does for
// directory names).
std::string normalize_project_name(const std::string& name);
bool is_valid_project_name(const std::string& name);

}  // namespace stack::compose
