// status.json, timestamps and json-file log lines (shim_protocol.h).
#include <time.h>

#include <climits>

#include "json_fields.h"
#include "stack/engine/shim_protocol.h"

namespace stack::engine {
namespace {

using shim_json::field_error;
using shim_json::read_bool;
using shim_json::read_int;
using shim_json::read_string;

nlohmann::ordered_json health_to_json(const HealthStatus& h) {
  nlohmann::ordered_json log = nlohmann::ordered_json::array();
  for (const auto& p : h.log)
    log.push_back(
        {{"start", p.start}, {"end", p.end}, {"exit_code", p.exit_code}, {"output", p.output}});
  return {{"status", h.status}, {"failing_streak", h.failing_streak}, {"log", std::move(log)}};
}

Status read_int32(const nlohmann::json& obj, const char* key, const std::string& where,
                  const std::string& path, int64_t min, int* out) {
  int64_t v = *out;
  STACK_TRY_VOID(read_int(obj, key, where, path, min, INT_MAX, &v));
  *out = static_cast<int>(v);
  return {};
}

Result<HealthStatus> parse_health(const nlohmann::json& obj, const std::string& where) {
  HealthStatus h;
  if (!obj.is_object()) return field_error(where, "health", "expected an object");
  STACK_TRY_VOID(read_string(obj, "status", where, "health.status", &h.status));
  STACK_TRY_VOID(
      read_int32(obj, "failing_streak", where, "health.failing_streak", 0, &h.failing_streak));
  auto log = obj.find("log");
  if (log == obj.end() || log->is_null()) return h;
  if (!log->is_array()) return field_error(where, "health.log", "expected an array");
  for (size_t i = 0; i < log->size(); ++i) {
    const auto& e = (*log)[i];
    const std::string path = "health.log[" + std::to_string(i) + "]";
    if (!e.is_object()) return field_error(where, path, "expected an object");
    HealthProbe p;
    STACK_TRY_VOID(read_string(e, "start", where, path + ".start", &p.start));
    STACK_TRY_VOID(read_string(e, "end", where, path + ".end", &p.end));
    STACK_TRY_VOID(read_int32(e, "exit_code", where, path + ".exit_code", INT_MIN, &p.exit_code));
    STACK_TRY_VOID(read_string(e, "output", where, path + ".output", &p.output));
    h.log.push_back(std::move(p));
  }
  return h;
}

// Appends c as a \u escape with lowercase hex, as Go's encoding/json writes it.
void append_u_escape(std::string& out, unsigned c) {
  static const char kHex[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(c >> shift) & 0xf];
}

// Length of the valid UTF-8 sequence at s[i], or 0 when it is invalid (overlong, surrogate,
// out of range or truncated).
size_t utf8_length(std::string_view s, size_t i, unsigned* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned c = b(0);
  size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
  if (c >= 0xf5 || n == 0 || i + n > s.size()) return 0;
  unsigned v = c & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    v = (v << 6) | (b(k) & 0x3f);
  }
  if ((n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
      (n == 4 && (v < 0x10000 || v > 0x10ffff)))
    return 0;
  *cp = v;
  return n;
}

}  // namespace

std::string shim_status_to_json(const ShimStatus& s) {
  nlohmann::ordered_json doc = {{"state", s.state},
                                {"pid", s.pid},
                                {"exit_code", s.exit_code},
                                {"oom_killed", s.oom_killed},
                                {"started_at", s.started_at},
                                {"finished_at", s.finished_at},
                                {"restart_count", s.restart_count},
                                {"stopped_by_user", s.stopped_by_user},
                                {"health", health_to_json(s.health)},
                                {"shim_pid", s.shim_pid},
                                {"error", s.error}};
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

Result<ShimStatus> parse_shim_status(std::string_view text, const std::string& where) {
  STACK_TRY(nlohmann::json doc, shim_json::parse_object(text, where));
  ShimStatus s;
  STACK_TRY_VOID(read_string(doc, "state", where, "state", &s.state));
  if (s.state != "created" && s.state != "running" && s.state != "restarting" &&
      s.state != "exited")
    return field_error(where, "state", "unknown state \"" + s.state + "\"");
  STACK_TRY_VOID(read_int32(doc, "pid", where, "pid", 0, &s.pid));
  STACK_TRY_VOID(read_int32(doc, "exit_code", where, "exit_code", INT_MIN, &s.exit_code));
  STACK_TRY_VOID(read_bool(doc, "oom_killed", where, "oom_killed", &s.oom_killed));
  STACK_TRY_VOID(read_string(doc, "started_at", where, "started_at", &s.started_at));
  STACK_TRY_VOID(read_string(doc, "finished_at", where, "finished_at", &s.finished_at));
  STACK_TRY_VOID(read_int32(doc, "restart_count", where, "restart_count", 0, &s.restart_count));
  STACK_TRY_VOID(read_bool(doc, "stopped_by_user", where, "stopped_by_user", &s.stopped_by_user));
  if (auto h = doc.find("health"); h != doc.end() && !h->is_null()) {
    STACK_TRY(s.health, parse_health(*h, where));
  }
  STACK_TRY_VOID(read_int32(doc, "shim_pid", where, "shim_pid", 0, &s.shim_pid));
  STACK_TRY_VOID(read_string(doc, "error", where, "error", &s.error));
  return s;
}

std::string rfc3339_nano(int64_t unix_sec, int64_t nsec) {
  time_t t = static_cast<time_t>(unix_sec);
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  char buf[64];
  size_t n = ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (nsec > 0 && nsec < 1000000000) {
    char frac[24];
    ::snprintf(frac, sizeof frac, ".%09d", static_cast<int>(nsec));
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

std::string rfc3339_nano_now() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return rfc3339_nano(ts.tv_sec, ts.tv_nsec);
}

std::string log_line_json(std::string_view text, std::string_view stream, std::string_view time) {
  std::string out;
  out.reserve(text.size() + stream.size() + time.size() + 40);
  out += "{\"log\":\"";
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          // <, > and & too: Docker's writer is HTML-safe like Go's encoding/json.
          if (c < 0x20 || c == '<' || c == '>' || c == '&')
            append_u_escape(out, c);
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    unsigned cp = 0;
    size_t n = utf8_length(text, i, &cp);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else if (cp == 0x2028 || cp == 0x2029) {
      append_u_escape(out, cp);
      i += n;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  out += "\",\"stream\":\"";
  out += stream;
  out += "\",\"time\":\"";
  out += time;
  out += "\"}\n";
  return out;
}

std::string rotated_log_name(const std::string& log_path, int index) {
  return index == 0 ? log_path : log_path + "." + std::to_string(index);
}

}  // namespace stack::engine
