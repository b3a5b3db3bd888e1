// Temporary directories and small file helpers for the volume tests.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "stack/volumes/tree.h"

namespace volume_test {

// A fresh directory under /tmp, deleted (without following symlinks) at scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/stack-vol-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    if (!p) std::abort();
    path = p;
  }
  ~TempDir() {
    auto slash = path.rfind('/');
    int parent = ::open(path.substr(0, slash).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    (void)stack::volumes::remove_tree_at(parent, path.substr(slash + 1));
    ::close(parent);
  }
  std::string operator/(const std::string& rel) const { return path + "/" + rel; }
};

inline void write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

inline std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// The names in a directory, sorted, without . and ..
inline std::vector<std::string> list(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace volume_test

// REQUIRE that a Result is ok, showing its error; evaluates `expr` once (support/require_ok.h's
// REQUIRE_OK evaluates it twice, which repeats calls with effects).
#define VOL_REQUIRE_OK(expr)                                        \
  do {                                                              \
    auto&& vol_r_ = (expr);                                         \
    INFO((vol_r_.ok() ? std::string() : vol_r_.error().to_string())); \
    REQUIRE(vol_r_.ok());                                           \
  } while (0)
