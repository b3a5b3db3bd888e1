// `docker import --change` instructions applied to an image config document.
#include <algorithm>
#include <cctype>
#include <functional>

#include "image/archive_internal.h"

namespace stack::engine::image::archive_detail {
namespace {

using nlohmann::json;

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Splits on unquoted whitespace; quotes group and are removed, backslash escapes one character
// (outside single quotes), as the Dockerfile parser treats ENV and LABEL words.
Result<std::vector<std::string>> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < s.size()) {
        cur += s[++i];
      } else {
        cur += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) return Error(EINVAL, "unterminated quote");
  if (in_word) out.push_back(std::move(cur));
  return out;
}

// CMD/ENTRYPOINT/VOLUME: a JSON array of strings, or (CMD/ENTRYPOINT) the shell form.
Result<json> exec_or_shell(const std::string& args, bool shell_form_allowed) {
  if (!args.empty() && args.front() == '[') {
    json doc = json::parse(args, nullptr, false);
    bool ok = !doc.is_discarded() && doc.is_array() &&
              std::all_of(doc.begin(), doc.end(), [](const json& v) { return v.is_string(); });
    if (ok) return doc;
    if (!shell_form_allowed) return Error(EINVAL, "expected a JSON array of strings");
  }
  if (!shell_form_allowed) return Error(EINVAL, "expected a JSON array of strings");
  return json::array({"/bin/sh", "-c", args});
}

// "k=v" words into `set(k, v)`.
Status key_values(const std::string& args,
                  const std::function<void(std::string, std::string)>& set) {
  STACK_TRY(auto words, split_words(args));
  if (words.empty()) return Error(EINVAL, "expected key=value");
  for (const auto& w : words) {
    auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0)
      return Error(EINVAL, "\"" + w + "\": expected key=value");
    set(w.substr(0, eq), w.substr(eq + 1));
  }
  return {};
}

Status set_env(json& c, const std::string& args) {
  auto put = [&](std::string k, std::string v) {
    json& env = c["Env"];
    if (!env.is_array()) env = json::array();
    std::string prefix = k + "=";
    for (auto& e : env) {
      if (e.is_string() && e.get<std::string>().rfind(prefix, 0) == 0) {
        e = prefix + v;
        return;
      }
    }
    env.push_back(prefix + v);
  };
  auto first_space = args.find_first_of(" \t");
  if (args.substr(0, first_space).find('=') == std::string::npos) {
    // Legacy "ENV key value with spaces".
    if (first_space == std::string::npos) return Error(EINVAL, "ENV needs a value");
    put(args.substr(0, first_space), trim(args.substr(first_space)));
    return {};
  }
  return key_values(args, put);
}

Result<unsigned> port_number(const std::string& s) {
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), ::isdigit)) {
    return Error(EINVAL, "invalid port \"" + s + "\"");
  }
  unsigned v = static_cast<unsigned>(std::stoul(s));
  if (v == 0 || v > 65535) return Error(EINVAL, "invalid port \"" + s + "\"");
  return v;
}

Status expose(json& c, const std::string& args) {
  STACK_TRY(auto words, split_words(args));
  if (words.empty()) return Error(EINVAL, "EXPOSE needs a port");
  for (const auto& w : words) {
    auto slash = w.find('/');
    std::string proto = slash == std::string::npos ? "tcp" : w.substr(slash + 1);
    std::transform(proto.begin(), proto.end(), proto.begin(), ::tolower);
    if (proto != "tcp" && proto != "udp" && proto != "sctp") {
      return Error(EINVAL, "invalid protocol \"" + proto + "\"");
    }
    std::string ports = w.substr(0, slash);
    auto dash = ports.find('-');
    STACK_TRY(unsigned lo, port_number(ports.substr(0, dash)));
    unsigned hi = lo;
    if (dash != std::string::npos) {
      STACK_TRY(hi, port_number(ports.substr(dash + 1)));
      if (hi < lo) return Error(EINVAL, "invalid port range \"" + ports + "\"");
    }
    for (unsigned p = lo; p <= hi; ++p)
      c["ExposedPorts"][std::to_string(p) + "/" + proto] = json::object();
  }
  return {};
}

Status apply_one(json& c, const std::string& instr, const std::string& args) {
  if (instr == "CMD" || instr == "ENTRYPOINT") {
    STACK_TRY(json v, exec_or_shell(args, true));
    c[instr == "CMD" ? "Cmd" : "Entrypoint"] = v;
    return {};
  }
  if (instr == "ENV") return set_env(c, args);
  if (instr == "LABEL") {
    return key_values(args, [&](std::string k, std::string v) { c["Labels"][k] = v; });
  }
  if (instr == "EXPOSE") return expose(c, args);
  if (instr == "VOLUME") {
    json list;
    if (!args.empty() && args.front() == '[') {
      STACK_TRY(list, exec_or_shell(args, false));
    } else {
      STACK_TRY(auto words, split_words(args));
      list = words;
    }
    if (list.empty()) return Error(EINVAL, "VOLUME needs a path");
    for (const auto& v : list) c["Volumes"][v.get<std::string>()] = json::object();
    return {};
  }
  if (args.empty()) return Error(EINVAL, instr + " needs an argument");
  if (instr == "WORKDIR") {
    std::string cur = c.value("WorkingDir", json("")).is_string() ? c.value("WorkingDir", "") : "";
    // A relative WORKDIR is relative to the previous one, as in a Dockerfile.
    c["WorkingDir"] = args.front() == '/' ? args : (cur.empty() ? "/" : cur + "/") + args;
    return {};
  }
  if (instr == "USER") {
    c["User"] = args;
    return {};
  }
  if (instr == "STOPSIGNAL") {
    c["StopSignal"] = args;
    return {};
  }
  return Error(EINVAL, "unsupported instruction " + instr +
                           " (supported: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, "
                           "VOLUME, WORKDIR)");
}

}  // namespace

Status apply_changes(json& config, const std::vector<std::string>& changes) {
  for (const auto& change : changes) {
    std::string line = trim(change);
    auto space = line.find_first_of(" \t");
    std::string instr = line.substr(0, space);
    std::transform(instr.begin(), instr.end(), instr.begin(), ::toupper);
    std::string args = space == std::string::npos ? "" : trim(line.substr(space));
    if (!config["config"].is_object()) config["config"] = json::object();
    auto st = apply_one(config["config"], instr, args);
    if (!st.ok()) return std::move(st).error().wrap("--change \"" + change + "\"");
  }
  return {};
}

}  // namespace stack::engine::image::archive_detail
