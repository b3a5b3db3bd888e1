// The "simple" service attributes (scalars, lists, mappings), split by topic. Each topic file
// contributes one slice of the table; service_simple.cpp joins them into
// simple_service_fields(). The field templates below build a ServiceField from a key and a
// Service member so that the tables stay one line per attribute.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "convert.h"

namespace stack::compose::simple {

// A string literal usable as a template argument: the attribute's key.
template <size_t N>
struct FieldKey {
  char text[N];
  constexpr FieldKey(const char (&s)[N]) { std::copy_n(s, N, text); }
};

// Table slices, one per topic file.
const std::vector<ServiceField>& scalar_fields();   // service_simple_scalars.cpp
const std::vector<ServiceField>& number_fields();   // service_simple_numbers.cpp
const std::vector<ServiceField>& list_fields();     // service_simple_lists.cpp
const std::vector<ServiceField>& mapping_fields();  // service_simple_mappings.cpp

// Checks (and may normalise) a string value already read; reports its own diagnostics.
using StringCheck = bool (*)(ConvertContext& c, const Node& at, const std::string& path, std::string& value);

template <FieldKey K, std::string Service::*M, StringCheck Check = nullptr>
ServiceField string_field() {
  return {K.text,
          [](ConvertContext& c, const Node& v, const std::string& path, Service& s) {
            auto x = read_string(c, v, path);
            if (!x) return;
            if constexpr (Check != nullptr) {
              if (!Check(c, v, path, *x)) return;
            }
            s.*M = std::move(*x);
          },
          [](const Service& s, Json& out) {
            if (!(s.*M).empty()) out[K.text] = s.*M;
          }};
}

// Booleans that only matter when true (omitted when false, as Compose prints them).
template <FieldKey K, bool Service::*M>
ServiceField bool_field() {
  return {K.text,
          [](ConvertContext& c, const Node& v, const std::string& path, Service& s) {
            if (auto b = read_bool(c, v, path)) s.*M = *b;
          },
          [](const Service& s, Json& out) {
            if (s.*M) out[K.text] = true;
          }};
}

// Booleans whose explicit false differs from unset (attach, init).
template <FieldKey K, std::optional<bool> Service::*M>
ServiceField optional_bool_field() {
  return {K.text,
          [](ConvertContext& c, const Node& v, const std::string& path, Service& s) {
            if (auto b = read_bool(c, v, path)) s.*M = *b;
          },
          [](const Service& s, Json& out) {
            if (s.*M) out[K.text] = *(s.*M);
          }};
}

// Sequences: reports an item equal to an earlier one ("uniqueItems" in the schema).
bool check_unique(ConvertContext& c, const Node& list, const std::string& path, const std::vector<std::string>& items);

void put_list(Json& out, const char* key, const std::vector<std::string>& items);
void put_mapping(Json& out, const char* key, const Mapping& m);

}  // namespace stack::compose::simple
