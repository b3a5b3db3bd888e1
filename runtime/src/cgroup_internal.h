// Private helpers of the cgroup code: file access below a cgroup directory and the per-version
// resource writers that Cgroup::apply routes to.
//
// Fake trees: on a cgroup filesystem the kernel provides every control file when a directory is
// made, and rmdir removes a directory that still "contains" them. In a fake tree (a temporary
// directory in unit tests) nothing does that, so these helpers, and only when the directory is
// not on cgroupfs/cgroup2 (statfs), read a missing file as empty, create it on write and unlink
// plain files before rmdir. On a real cgroup filesystem a missing file stays an error (ENOENT
// means the controller is not enabled there).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stack/common/result.h"
#include "stack/runtime/spec.h"

namespace stack::runtime::cgroup_detail {

// Joins path pieces with single slashes; "/" + "/a" → "/a".
std::string join_path(const std::string& a, const std::string& b);

// The directory that contains `path` ("/a/b" → "/a", "/a" → "/").
std::string parent_path(const std::string& path);

bool on_cgroup_fs(const std::string& dir);

// Reads dir/file. Errors: "reading <file>: <strerror>".
Result<std::string> read_file_in(const std::string& dir, const std::string& file);

// Opens dir/file once and writes each line with its own write() (the kernel parses one command
// per write; echo's trailing newline is accepted by every cgroup file). Errors:
// "writing <file>: <strerror>".
Status write_lines(const std::string& dir, const std::string& file,
                   const std::vector<std::string>& lines);
// One line per write with the spec field it comes from, which names the error of that line
// (empty field: no context).
struct FieldLine {
  std::string line, field;
};
Status write_entries(const std::string& dir, const std::string& file,
                     const std::vector<FieldLine>& entries);
inline Status write_value(const std::string& dir, const std::string& file,
                          const std::string& value) {
  return write_lines(dir, file, {value});
}

bool file_exists(const std::string& dir, const std::string& file);

// write_value/write_lines with the spec field as the error's outer context:
// "linux.resources.pids.limit: writing pids.max: Invalid argument".
Status write_field(const std::string& dir, const std::string& file, const std::string& value,
                   const std::string& field);
Status write_field_lines(const std::string& dir, const std::string& file,
                         const std::vector<std::string>& lines, const std::string& field);

// Writes two files whose values the kernel checks against each other (cfs period and quota,
// rt period and runtime): first then second; if the first is refused with EINVAL, second then
// first, as runc does when a new quota does not fit the old period.
struct FieldWrite {
  std::string file, value, field;
};
Status write_pair(const std::string& dir, const FieldWrite& first, const FieldWrite& second);

// Strips trailing whitespace and newlines.
std::string trim(std::string s);

// "key value" lines (memory.events, cgroup.events, memory.oom_control): the value of key.
std::optional<uint64_t> keyed_value(const std::string& text, const std::string& key);

// rmdir with retries while EBUSY (processes still exiting), for up to about a second.
// ENOENT is success. In a fake tree plain files are unlinked first.
Status remove_dir(const std::string& dir);

// Removes dir and every sub-cgroup below it, deepest first.
Status remove_tree(const std::string& dir);

// Full paths of the directories directly below dir (sub-cgroups).
std::vector<std::string> subdirectories(const std::string& dir);

// One rmdir attempt of a directory without sub-cgroups; anything in the way (children,
// processes, already gone) leaves it alone silently.
void remove_if_empty(const std::string& dir);

// Conversions between the v1 values OCI specifies and cgroup v2 files.
// runc's long-standing linear map of cpu.shares [2, 262144] onto cpu.weight [1, 10000]
// (libcontainer/cgroups ConvertCPUSharesToCgroupV2Value before 1.3): 1024 → 39. 0 → 0 (unset).
uint64_t shares_to_weight(uint64_t shares);
// runc's ConvertBlkIOToIOWeightValue: blkio.weight [10, 1000] → io.weight [1, 10000].
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// runc's ConvertMemorySwapToCgroupV2Value: OCI swap is memory+swap; memory.swap.max is swap
// alone. Absent values are 0. Returns -1 for "max", 0 for "leave alone".
Result<int64_t> swap_to_v2(int64_t swap, int64_t limit);

// "max" for negative values (and, with zero_is_max, for 0), the number otherwise.
std::string limit_string(int64_t value, bool zero_is_max = false);

// memory.checkBeforeUpdate (runc): refuses a new limit at or below the current usage.
Status check_memory_usage(const std::string& dir, const std::string& usage_file,
                          const MemoryResources& m);

// The v1 writers: dir is the container's directory in that controller's hierarchy.
Status apply_memory_v1(const std::string& dir, const MemoryResources& m);
Status apply_cpu_v1(const std::string& dir, const CpuResources& c);
Status apply_cpuset(const std::string& dir, const CpuResources& c);  // same files on v1 and v2
Status apply_pids(const std::string& dir, int64_t limit);            // same files on v1 and v2
Status apply_blkio_v1(const std::string& dir, const BlockIoResources& b);
Status apply_hugetlb(const std::string& dir, const std::vector<HugepageLimit>& limits, bool v1);
Status apply_devices_v1(const std::string& dir, const std::vector<DeviceRule>& rules);
Status apply_net_cls_v1(const std::string& dir, uint32_t class_id);
Status apply_net_prio_v1(const std::string& dir,
                         const std::vector<std::pair<std::string, uint32_t>>& priorities);

// The v2 writers: dir is the container's directory in the unified hierarchy.
Status apply_memory_v2(const std::string& dir, const MemoryResources& m);
Status apply_cpu_v2(const std::string& dir, const CpuResources& c);
Status apply_io_v2(const std::string& dir, const BlockIoResources& b);
Status apply_unified(const std::string& dir, const std::map<std::string, std::string>& files);

// The device rule as the v1 devices.allow/deny files take it: "c 1:3 rwm", "a".
std::string device_rule_line(const DeviceRule& rule);

// Field helpers: which parts of a resource block are set.
bool memory_is_set(const MemoryResources& m);
bool cpu_controller_is_set(const CpuResources& c);
bool cpuset_is_set(const CpuResources& c);
bool blkio_is_set(const BlockIoResources& b);

}  // namespace stack::runtime::cgroup_detail
