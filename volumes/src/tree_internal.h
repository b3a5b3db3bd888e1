// Private helpers shared by tree.cpp and local_driver.cpp.
#pragma once

#include <string>
#include <vector>

#include "stack/common/result.h"

namespace stack::volumes {

// The names in an open directory (without . and ..), unsorted, read through a duplicate of
// dirfd so that the caller's fd keeps its offset and stays open. Errors name `shown`.
Result<std::vector<std::string>> dir_entries(int dirfd, const std::string& shown);

}  // namespace stack::volumes
