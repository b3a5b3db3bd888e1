// Located problems found while loading. Passes add to one Diagnostics so that a file with
// several problems reports all of them in one run.
#pragma once

#include <string>
#include <vector>

#include "node.h"

namespace stack::compose {

struct Diagnostic {
  Mark mark;
  std::string path;  // "services.web.ports[1]"; may be empty
  std::string message;
  // "compose.yml:12:7: services.web.ports[1]: invalid port \"80:80:80\""
  std::string to_string() const;
};

class Diagnostics {
 public:
  void error(const Mark& mark, std::string path, std::string message);
  void error(const Node& at, std::string path, std::string message) { error(at.mark, std::move(path), std::move(message)); }
  bool empty() const { return list_.empty(); }
  size_t size() const { return list_.size(); }
  const std::vector<Diagnostic>& list() const { return list_; }
  // One line per problem, in the order found, duplicates removed.
  std::string to_string() const;

 private:
  std::vector<Diagnostic> list_;
};

}  // namespace stack::compose
