#include "stack/compose/canonical.h"

#include <cmath>

#include "convert.h"
#include "stack/common/sha256.h"

namespace stack::compose {
namespace {

// A double-quoted scalar (JSON escapes are valid YAML escapes); invalid UTF-8 is replaced
// rather than thrown on.
std::string json_string(const std::string& s) {
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?
bool is_base60(const std::string& s) {
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
  int groups = 0;
  while (i < s.size() && s[i] == ':') {
    size_t start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    size_t len = i - start;
    if (len == 0 || len > 2 || (len == 2 && s[start] > '5')) return false;
    ++groups;
  }
  if (groups == 0) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
  }
  return i == s.size();
}

// Whether a string must be quoted to read back as the same string: it would resolve to
// another type (YAML 1.2 core schema, plus YAML 1.1 booleans that older parsers still honour),
// or it starts or contains something YAML reads as syntax.
bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  static const char* kWords[] = {"true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~",
                                 "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
                                 "y", "Y", "n", "N", "<<"};
  for (const char* w : kWords)
    if (s == w) return true;
  std::string digits;  // YAML 1.1 allows "_" in numbers
  for (char ch : s)
    if (ch != '_') digits.push_back(ch);
  Node probe = Node::scalar(digits);
  if (scalar_int(probe) || scalar_float(probe)) return true;
  if (is_base60(s)) return true;  // YAML 1.1 sexagesimal ("12:30"), quoted as go-yaml does
  // Indicators that start a non-plain scalar; "-", "?" and ":" only when followed by a space.
  const std::string kAlwaysSyntax = ",[]{}#&*!|>'\"%@`";
  if (kAlwaysSyntax.find(s[0]) != std::string::npos) return true;
  if ((s[0] == '-' || s[0] == '?' || s[0] == ':') && (s.size() == 1 || s[1] == ' ')) return true;
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return true;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return true;
  if (s == "---" || s == "...") return true;
  for (unsigned char ch : s)
    if (ch < 0x20 || ch == 0x7f) return true;
  return false;
}

std::string scalar_text(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
    return v.dump();
  }
  const std::string& s = v.get_ref<const std::string&>();
  return needs_quotes(s) ? json_string(s) : s;
}

bool is_container(const Json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void emit(const Json& v, int indent, std::string& out);

void emit_object(const Json& v, int indent, std::string& out) {
  std::string pad(static_cast<size_t>(indent), ' ');
  for (auto it = v.begin(); it != v.end(); ++it) {
    out += pad;
    const std::string& k = it.key();
    out += needs_quotes(k) ? json_string(k) : k;
    out += ':';
    if (is_container(*it)) {
      out += '\n';
      emit(*it, it->is_array() ? indent + 2 : indent + 2, out);
    } else {
      out += ' ';
      out += it->is_object() ? "{}" : it->is_array() ? "[]" : scalar_text(*it);
      out += '\n';
    }
  }
}

void emit_array(const Json& v, int indent, std::string& out) {
  std::string pad(static_cast<size_t>(indent), ' ');
  for (const auto& item : v) {
    out += pad;
    out += "- ";
    if (item.is_object() && !item.empty()) {
      // The first key goes on the dash line; the rest align under it.
      std::string nested;
      emit_object(item, indent + 2, nested);
      out += nested.substr(static_cast<size_t>(indent) + 2);
    } else if (item.is_array() && !item.empty()) {
      std::string nested;
      emit_array(item, indent + 2, nested);
      out += nested.substr(static_cast<size_t>(indent) + 2);
    } else {
      out += item.is_object() ? "{}" : item.is_array() ? "[]" : scalar_text(item);
      out += '\n';
    }
  }
}

void emit(const Json& v, int indent, std::string& out) {
  if (v.is_object()) {
    if (v.empty()) out += std::string(static_cast<size_t>(indent), ' ') + "{}\n";
    else emit_object(v, indent, out);
  } else if (v.is_array()) {
    if (v.empty()) out += std::string(static_cast<size_t>(indent), ' ') + "[]\n";
    else emit_array(v, indent, out);
  } else {
    out += std::string(static_cast<size_t>(indent), ' ') + scalar_text(v) + "\n";
  }
}

}  // namespace

Json project_to_json(const Project& p) {
  Json out = Json::object();
  out["name"] = p.name;
  Json services = Json::object();
  for (const auto& s : p.services) services[s.name] = service_to_json(s);
  out["services"] = services;
  if (Json n = networks_to_json(p); !n.empty()) out["networks"] = n;
  if (Json v = volumes_to_json(p); !v.empty()) out["volumes"] = v;
  if (Json s = secrets_to_json(p); !s.empty()) out["secrets"] = s;
  if (Json c = configs_to_json(p); !c.empty()) out["configs"] = c;
  for (const auto& [k, v] : p.extensions) out[k] = v;
  return out;
}

std::string config_hash(const Service& service) {
  Json j = service_to_json(service);
  for (const char* k : {"scale", "build", "pull_policy", "depends_on", "profiles"}) j.erase(k);
  if (auto d = j.find("deploy"); d != j.end() && d->is_object()) {
    d->erase("replicas");
    if (d->empty()) j.erase("deploy");
  }
  // Sorted keys, no x-* anywhere.
  std::function<nlohmann::json(const Json&)> strip = [&](const Json& v) -> nlohmann::json {
    if (v.is_object()) {
      nlohmann::json o = nlohmann::json::object();
      for (auto it = v.begin(); it != v.end(); ++it)
        if (it.key().rfind("x-", 0) != 0) o[it.key()] = strip(*it);
      return o;
    }
    if (v.is_array()) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& i : v) a.push_back(strip(i));
      return a;
    }
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) return v.get<double>();
    return nullptr;
  };
  return sha256_hex(strip(j).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Json escape_dollars(const Json& value) {
  if (value.is_string()) {
    const auto& in = value.get_ref<const std::string&>();
    if (in.find('$') == std::string::npos) return value;
    std::string out;
    for (char ch : in) {
      out.push_back(ch);
      if (ch == '$') out.push_back('$');
    }
    return out;
  }
  if (value.is_array()) {
    Json a = Json::array();
    for (const auto& v : value) a.push_back(escape_dollars(v));
    return a;
  }
  if (value.is_object()) {
    Json o = Json::object();
    for (auto it = value.begin(); it != value.end(); ++it) o[it.key()] = escape_dollars(*it);
    return o;
  }
  return value;
}

std::string to_json_text(const Json& value) {
  return value.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string to_yaml(const Json& value) {
  std::string out;
  emit(value, 0, out);
  return out;
}

}  // namespace stack::compose
