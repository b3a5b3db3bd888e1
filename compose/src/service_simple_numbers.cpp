// Numeric service attributes: CPU and memory tuning, counts, sizes and the stop grace period.
#include <cmath>
#include <limits>

#include "service_simple.h"

namespace stack::compose::simple {
namespace {

constexpr int64_t kNoMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();

std::optional<int64_t> read_bounded(ConvertContext& c, const Node& v, const std::string& path, int64_t min,
                                    int64_t max) {
  if (max != kNoMax) return read_int_range(c, v, path, min, max);
  auto i = read_int(c, v, path);
  if (i && *i < min) {
    c.error(v, path, "must be at least " + std::to_string(min) + ", not " + std::to_string(*i));
    return std::nullopt;
  }
  return i;
}

template <FieldKey K, int64_t Service::*M, int64_t Min = kNoMin, int64_t Max = kNoMax>
ServiceField int_field() {
  return {K.text,
          [](ConvertContext& c, const Node& v, const std::string& path, Service& s) {
            if (auto i = read_bounded(c, v, path, Min, Max)) s.*M = *i;
          },
          [](const Service& s, Json& out) {
            if (s.*M != 0) out[K.text] = s.*M;
          }};
}

template <FieldKey K, std::optional<int64_t> Service::*M, int64_t Min = kNoMin, int64_t Max = kNoMax>
ServiceField optional_int_field() {
  return {K.text,
          [](ConvertContext& c, const Node& v, const std::string& path, Service& s) {
            if (auto i = read_bounded(c, v, path, Min, Max)) s.*M = *i;
          },
          [](const Service& s, Json& out) {
            if (s.*M) out[K.text] = *(s.*M);
          }};
}

// Byte sizes print as a decimal string, as compose-go's UnitBytes marshals them.
template <FieldKey K, int64_t Service::*M, bool AllowUnlimited = false>
ServiceField bytes_field() {
  return {K.text,
          [](ConvertContext& c, const Node& v, const std::string& path, Service& s) {
            // -1 is Docker's "unlimited" for memswap_limit.
            if (AllowUnlimited && loose_int(v) == -1) {
              s.*M = -1;
              return;
            }
            if (auto b = read_bytes(c, v, path)) s.*M = *b;
          },
          [](const Service& s, Json& out) {
            if (s.*M != 0) out[K.text] = std::to_string(s.*M);
          }};
}

// cpu_rt_period / cpu_rt_runtime: microseconds, written as an integer or as a duration.
template <FieldKey K, int64_t Service::*M>
ServiceField realtime_field() {
  return {K.text,
          [](ConvertContext& c, const Node& v, const std::string& path, Service& s) {
            if (auto i = loose_int(v)) {
              s.*M = *i;
              return;
            }
            if (v.is_scalar()) {
              if (auto d = parse_duration(v.value)) {
                s.*M = d->ns / 1000;
                return;
              }
            }
            c.error(v, path,
                    "must be a number of microseconds or a duration (e.g. \"400ms\"), not " +
                        (v.is_scalar() ? "\"" + v.value + "\"" : "a " + v.type_name()));
          },
          [](const Service& s, Json& out) {
            if (s.*M != 0) out[K.text] = s.*M;
          }};
}

// Go prints a whole float32 without a fraction ("cpus": 2); nlohmann would print 2.0.
Json json_number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return static_cast<int64_t>(v);
  return v;
}

void parse_cpus(ConvertContext& c, const Node& v, const std::string& path, Service& s) {
  if (auto f = read_cpus(c, v, path)) s.cpus = *f;
}
void cpus_to_json(const Service& s, Json& out) {
  if (s.cpus != 0) out["cpus"] = json_number(s.cpus);
}

void parse_cpu_percent(ConvertContext& c, const Node& v, const std::string& path, Service& s) {
  auto f = read_float(c, v, path);
  if (!f) return;
  if (*f < 0 || *f > 100) {
    c.error(v, path, "must be between 0 and 100, not " + v.value);
    return;
  }
  s.cpu_percent = *f;
}
void cpu_percent_to_json(const Service& s, Json& out) {
  if (s.cpu_percent != 0) out["cpu_percent"] = json_number(s.cpu_percent);
}

void parse_stop_grace_period(ConvertContext& c, const Node& v, const std::string& path, Service& s) {
  if (auto d = read_duration(c, v, path)) s.stop_grace_period = *d;
}
void stop_grace_period_to_json(const Service& s, Json& out) {
  if (s.stop_grace_period) out["stop_grace_period"] = format_duration(*s.stop_grace_period);
}

}  // namespace

const std::vector<ServiceField>& number_fields() {
  static const std::vector<ServiceField> fields = {
      int_field<"cpu_count", &Service::cpu_count, 0>(),
      {"cpu_percent", parse_cpu_percent, cpu_percent_to_json},
      int_field<"cpu_period", &Service::cpu_period>(),
      int_field<"cpu_quota", &Service::cpu_quota>(),
      realtime_field<"cpu_rt_period", &Service::cpu_rt_period>(),
      realtime_field<"cpu_rt_runtime", &Service::cpu_rt_runtime>(),
      int_field<"cpu_shares", &Service::cpu_shares>(),
      {"cpus", parse_cpus, cpus_to_json},
      bytes_field<"mem_limit", &Service::mem_limit>(),
      bytes_field<"mem_reservation", &Service::mem_reservation>(),
      optional_int_field<"mem_swappiness", &Service::mem_swappiness, 0, 100>(),
      bytes_field<"memswap_limit", &Service::memswap_limit, true>(),
      int_field<"oom_score_adj", &Service::oom_score_adj, -1000, 1000>(),
      optional_int_field<"pids_limit", &Service::pids_limit>(),
      optional_int_field<"scale", &Service::scale, 0>(),
      bytes_field<"shm_size", &Service::shm_size>(),
      {"stop_grace_period", parse_stop_grace_period, stop_grace_period_to_json},
  };
  return fields;
}

}  // namespace stack::compose::simple
