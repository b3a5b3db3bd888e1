// Lexical path cleaning, as Go's path.Clean (which runc, Docker and containerd use): "." and
// empty components go, ".." removes the component before it, a rooted path never climbs above
// "/", and a relative path keeps the leading ".." that cannot be resolved. No file system access.
#pragma once

#include <string>
#include <string_view>

namespace stack {

// "" → ".", "/a/./b/../c/" → "/a/c", "/../x" → "/x", "a/../../x" → "../x".
std::string clean_path(std::string_view path);

}  // namespace stack
