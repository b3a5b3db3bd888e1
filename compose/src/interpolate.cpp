#include "interpolate.h"
namespace stack::compose {
std::optional<std::string> interpolate_string(std::string_view text, const Lookup&, std::string*) { return std::string(text); }
void interpolate_tree(Node&, const Lookup&, Diagnostics&, const std::string&) {}
}  // namespace stack::compose
