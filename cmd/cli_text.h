// Small text helpers the `stack` verbs share (cli_text.cpp).
#pragma once

#include <string>
#include <utility>

namespace stack::cli {

// fvbommel/sortorder.NaturalLess, the order of `docker volume ls` and `docker network ls`: digit
// runs compare as numbers (fewer leading zeros first on a tie), digits sort before other bytes.
bool natural_less(const std::string& a, const std::string& b);

// "k=v" → {k, v}; "k" → {k, ""} (Docker's map options and labels).
std::pair<std::string, std::string> split_kv(const std::string& s);

}  // namespace stack::cli
