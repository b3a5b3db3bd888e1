// `extends`: each service's base is resolved first (recursively, across files), then the
// extending service is merged over a copy of it with the service merge rules.
#include "extends.h"

#include <map>
#include <vector>

#include "convert_util.h"
#include "merge_internal.h"

namespace stack::compose {
namespace {

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

struct ExtendsRef {
  std::string service;
  std::string file;  // absolute; empty: the same file
};

struct ChainLink {
  std::string file;     // absolute
  std::string display;  // as shown in messages
  std::string service;
};

class Resolver;

// Resolvers of the documents being loaded on this thread (innermost last) and the services
// whose extends are being followed. A base service in a file that is itself still being
// resolved (a -> other.yaml:b -> a) must come from that file's resolver: loading the file again
// would be an include cycle for the loader, and the chain is what names a circular reference.
thread_local std::vector<Resolver*> t_active;
thread_local std::vector<ChainLink> t_chain;

enum class Status { kOk, kFailed, kDeferred };

class Resolver {
 public:
  Resolver(Node& doc, std::string file, const DocumentLoader& load, Diagnostics& diags)
      : file_(std::move(file)), display_(doc.mark.file ? *doc.mark.file : file_), load_(load), diags_(diags) {
    Node* s = doc.find("services");
    services_ = s && s->is_mapping() ? s : nullptr;
    t_active.push_back(this);
  }
  ~Resolver() { t_active.pop_back(); }
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  const std::string& file() const { return file_; }

  // Each service of the document starts a chain of its own: a service of another document
  // still being resolved, but not on this chain, is not a cycle; the service depending on it
  // is deferred (left with its extends) until someone asks for it.
  void resolve_all() {
    if (!services_) return;
    std::vector<ChainLink> outer;
    outer.swap(t_chain);
    for (size_t i = 0; i < services_->entries.size(); ++i) resolve(services_->entries[i].key);
    t_chain.swap(outer);
  }

  bool has(const std::string& name) const { return services_ && services_->find(name); }
  // Requires has(name) and resolve(name) == kOk.
  const Node& service(const std::string& name) const { return *services_->find(name); }

  // Applies the extends chain of `name` to its definition in place.
  Status resolve(const std::string& name) {
    Node* svc = services_ ? services_->find(name) : nullptr;
    if (!svc) return Status::kFailed;
    State& state = state_[name];
    if (state == State::kDone) return Status::kOk;
    if (state == State::kFailed) return Status::kFailed;
    const MapEntry* ext = svc->is_mapping() ? svc->find_entry("extends") : nullptr;
    if (state == State::kActive) {
      if (!on_chain(name)) return Status::kDeferred;
      report_cycle(name, *ext);
      state = State::kFailed;
      return Status::kFailed;
    }
    if (!ext) {
      state = State::kDone;
      return Status::kOk;
    }
    state = State::kActive;
    t_chain.push_back(ChainLink{file_, display_, name});
    Status status = Status::kOk;
    std::optional<Node> base = find_base(name, *ext, status);
    t_chain.pop_back();
    if (status == Status::kDeferred) {
      state_[name] = State::kUnvisited;
      return status;
    }
    // The recursion may have marked this service failed (a cycle through it).
    if (!base || state_[name] == State::kFailed) {
      state_[name] = State::kFailed;
      svc->erase("extends");
      return Status::kFailed;
    }
    Node over = *svc;
    over.erase("extends");
    if (!base->is_mapping()) *base = Node::mapping(svc->mark);
    merge_detail::merge_service_at(*base, over, path_join("services", name), diags_);
    base->erase("extends");
    base->mark = svc->mark;
    *svc = std::move(*base);
    state_[name] = State::kDone;
    return Status::kOk;
  }

 private:
  enum class State { kUnvisited, kActive, kDone, kFailed };

  bool on_chain(const std::string& name) const {
    for (const auto& link : t_chain)
      if (link.file == file_ && link.service == name) return true;
    return false;
  }

  std::optional<ExtendsRef> parse_ref(const std::string& name, const MapEntry& ext) {
    std::string path = path_join(path_join("services", name), "extends");
    const Node& v = ext.value;
    if (v.is_scalar() && !v.value.empty()) return ExtendsRef{v.value, ""};
    if (!v.is_mapping()) {
      diags_.error(v, path, "must be a service name or a mapping with service and file, not a " + v.type_name());
      return std::nullopt;
    }
    bool ok = true;
    ExtendsRef ref;
    for (const auto& e : v.entries) {
      if (e.key != "service" && e.key != "file") {
        diags_.error(e.key_mark, path, "unknown key \"" + e.key + "\"");
        ok = false;
      } else if (!e.value.is_scalar() || e.value.value.empty()) {
        diags_.error(e.value, path_join(path, e.key), "must be a non-empty string, not a " + e.value.type_name());
        ok = false;
      } else if (e.key == "service") {
        ref.service = e.value.value;
      } else if (e.value.value[0] == '/') {
        ref.file = lexically_normal(e.value.value);
      } else {
        ref.file = lexically_normal(dir_of(file_) + "/" + e.value.value);
      }
    }
    if (ok && ref.service.empty()) {
      diags_.error(ext.key_mark, path, "missing required key \"service\"");
      ok = false;
    }
    if (ref.file == file_) ref.file.clear();
    return ok ? std::optional<ExtendsRef>(ref) : std::nullopt;
  }

  std::optional<Node> find_base(const std::string& name, const MapEntry& ext, Status& status) {
    auto ref = parse_ref(name, ext);
    status = Status::kFailed;
    if (!ref) return std::nullopt;
    if (ref->file.empty()) return take(*this, ref->service, name, ext, status);
    for (auto it = t_active.rbegin(); it != t_active.rend(); ++it) {
      if ((*it)->file() != ref->file) continue;
      auto base = take(**it, ref->service, name, ext, status);
      if (base) rebase_service_paths(*base, dir_of(ref->file));
      return base;
    }
    auto [it, inserted] = loaded_.try_emplace(ref->file);
    if (inserted) it->second = load_(ref->file, ext.key_mark);
    if (!it->second) return std::nullopt;
    // Services deferred while the file loaded are resolved now, on this chain.
    Resolver other(*it->second, ref->file, load_, diags_);
    auto base = take(other, ref->service, name, ext, status);
    if (base) rebase_service_paths(*base, dir_of(ref->file));
    return base;
  }

  // A copy of `service` as resolved by `owner` (this document or another one).
  std::optional<Node> take(Resolver& owner, const std::string& service, const std::string& name, const MapEntry& ext,
                           Status& status) {
    if (!owner.has(service)) {
      not_found(name, service, ext, owner.display_name());
      status = Status::kFailed;
      return std::nullopt;
    }
    status = owner.resolve(service);
    if (status != Status::kOk) return std::nullopt;
    return owner.service(service);
  }

  const std::string& display_name() const { return display_; }

  void not_found(const std::string& name, const std::string& service, const MapEntry& ext, const std::string& file) {
    diags_.error(ext.key_mark, path_join(path_join("services", name), "extends"),
                 "cannot extend service \"" + name + "\": service \"" + service + "\" not found in " + file);
  }

  void report_cycle(const std::string& name, const MapEntry& ext) {
    size_t start = 0;
    for (size_t i = 0; i < t_chain.size(); ++i) {
      if (t_chain[i].file == file_ && t_chain[i].service == name) {
        start = i;
        break;
      }
    }
    std::string chain;
    for (size_t i = start; i < t_chain.size(); ++i) {
      const ChainLink& link = t_chain[i];
      chain += link.service;
      if (link.file != file_) chain += " (" + link.display + ")";
      chain += " -> ";
    }
    chain += name;
    diags_.error(ext.key_mark, path_join(path_join("services", name), "extends"), "circular reference: " + chain);
  }

  std::string file_;
  std::string display_;
  const DocumentLoader& load_;
  Diagnostics& diags_;
  Node* services_ = nullptr;
  std::map<std::string, State> state_;
  std::map<std::string, std::optional<Node>> loaded_;  // other files, by absolute path
};

}  // namespace

void resolve_extends(Node& doc, const std::string& file_path, const DocumentLoader& load, Diagnostics& diags) {
  if (!doc.is_mapping()) return;
  Resolver resolver(doc, lexically_normal(file_path), load, diags);
  resolver.resolve_all();
}

}  // namespace stack::compose
