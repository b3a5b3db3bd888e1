#include <sys/stat.h>

#include "stack/common/atomic_file.h"
#include "stack/compose/loader.h"

namespace stack::compose {

Result<std::string> RealFileSource::read(const std::string& path) const { return read_file(path); }

bool RealFileSource::is_file(const std::string& path) const {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> MemoryFileSource::read(const std::string& path) const {
  auto it = files_.find(path);
  if (it == files_.end()) return Error(ENOENT, path + ": No such file or directory");
  return it->second;
}

bool MemoryFileSource::is_file(const std::string& path) const { return files_.count(path) != 0; }

}  // namespace stack::compose
