#include "dotenv.h"
namespace stack::compose {
std::optional<DotenvEntries> parse_dotenv(std::string_view, const Lookup&, DotenvError*) { return DotenvEntries{}; }
std::optional<DotenvEntries> parse_dotenv_raw(std::string_view, DotenvError*) { return DotenvEntries{}; }
}  // namespace stack::compose
