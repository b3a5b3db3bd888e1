// Device access control on cgroup v2: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE
// (kernel: BPF_CGROUP_DEVICE attach type, struct bpf_cgroup_dev_ctx), the same shape as runc's
// devicefilter: load the request into registers once, then one block per rule.
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "cgroup_internal.h"
#include "stack/common/unique_fd.h"
#include "stack/runtime/cgroup.h"

namespace stack::runtime {
namespace {

// Registers: r1 = ctx on entry, then scratch; r2 = device type; r3 = requested access;
// r4 = major; r5 = minor; r0 = verdict (1 allow, 0 deny).
constexpr uint8_t kR0 = 0, kR1 = 1, kR2 = 2, kR3 = 3, kR4 = 4, kR5 = 5;
constexpr int16_t kToNext = -1;  // placeholder: jump to the next rule's block
constexpr int32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

BpfInsn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  return BpfInsn{code, static_cast<uint8_t>(dst | (src << 4)), off, imm};
}

int32_t access_mask(const std::string& access) {
  if (access.empty()) return kAllAccess;
  int32_t mask = 0;
  for (char c : access) {
    if (c == 'r') mask |= BPF_DEVCG_ACC_READ;
    if (c == 'w') mask |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') mask |= BPF_DEVCG_ACC_MKNOD;
  }
  return mask;
}

// The kernel passes major and minor as u32 in 12 and 20 bits; a rule naming a number that
// does not fit the 32-bit immediate can match no device and is left out.
bool fits_imm(const std::optional<int64_t>& v) { return !v || (*v >= 0 && *v <= INT32_MAX); }

// One rule: a chain of "if this does not match, go to the next rule" tests, then the verdict.
// A block without tests matches every request; the caller stops after it (code after it would be
// unreachable, which the verifier rejects).
std::vector<BpfInsn> rule_block(const DeviceRule& rule) {
  std::vector<BpfInsn> b;
  if (rule.type == 'c' || rule.type == 'u') {
    b.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, kR2, 0, kToNext, BPF_DEVCG_DEV_CHAR));
  } else if (rule.type == 'b') {
    b.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, kR2, 0, kToNext, BPF_DEVCG_DEV_BLOCK));
  }
  int32_t mask = access_mask(rule.access);
  if (mask != kAllAccess) {
    b.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, kR1, kR3, 0, 0));
    b.push_back(insn(BPF_ALU | BPF_AND | BPF_K, kR1, 0, 0, mask));
    // An allow rule covers a request only if it grants every bit asked for; a deny rule
    // applies as soon as it forbids any of them (opening rw on a "deny w" device is denied).
    if (rule.allow) {
      b.push_back(insn(BPF_JMP | BPF_JNE | BPF_X, kR1, kR3, kToNext, 0));
    } else {
      b.push_back(insn(BPF_JMP | BPF_JEQ | BPF_K, kR1, 0, kToNext, 0));
    }
  }
  if (rule.major)
    b.push_back(
        insn(BPF_JMP | BPF_JNE | BPF_K, kR4, 0, kToNext, static_cast<int32_t>(*rule.major)));
  if (rule.minor)
    b.push_back(
        insn(BPF_JMP | BPF_JNE | BPF_K, kR5, 0, kToNext, static_cast<int32_t>(*rule.minor)));
  b.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, kR0, 0, 0, rule.allow ? 1 : 0));
  b.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i].off == kToNext) b[i].off = static_cast<int16_t>(b.size() - (i + 1));
  }
  return b;
}

long bpf(int cmd, union bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }

uint64_t ptr(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

Result<UniqueFd> load_program(const std::vector<BpfInsn>& program) {
  std::vector<struct bpf_insn> raw(program.size());
  for (size_t i = 0; i < program.size(); ++i) {
    raw[i].code = program[i].code;
    raw[i].dst_reg = program[i].regs & 0x0f;
    raw[i].src_reg = program[i].regs >> 4;
    raw[i].off = program[i].off;
    raw[i].imm = program[i].imm;
  }
  // The program calls no GPL-only helper, so any license string loads (runc passes "Apache").
  static const char kLicense[] = "Apache";
  std::string log(1 << 16, '\0');
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = ptr(raw.data());
  attr.insn_cnt = static_cast<uint32_t>(raw.size());
  attr.license = ptr(kLicense);
  attr.log_buf = ptr(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  long fd = bpf(BPF_PROG_LOAD, attr);
  if (fd < 0) {
    int err = errno;
    std::string verifier(log.c_str());
    Error e = errno_error("loading the device eBPF program", err);
    if (!verifier.empty()) e.message += " (verifier: " + cgroup_detail::trim(verifier) + ")";
    return e;
  }
  return UniqueFd(static_cast<int>(fd));
}

// The programs attached directly to this cgroup (not inherited ones): all of them are ours,
// since the container owns its cgroup.
Result<std::vector<uint32_t>> attached_programs(int dir_fd) {
  std::vector<uint32_t> ids(64);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(dir_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = ptr(ids.data());
  attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
  if (bpf(BPF_PROG_QUERY, attr) < 0) return errno_error("querying attached device eBPF programs");
  ids.resize(attr.query.prog_cnt);
  return ids;
}

Status detach_program(int dir_fd, uint32_t id) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_id = id;
  long fd = bpf(BPF_PROG_GET_FD_BY_ID, attr);
  if (fd < 0) {
    if (errno == ENOENT) return {};  // detached and freed meanwhile
    return errno_error("opening device eBPF program " + std::to_string(id));
  }
  UniqueFd prog(static_cast<int>(fd));
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(dir_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  if (bpf(BPF_PROG_DETACH, attr) < 0 && errno != ENOENT) {
    return errno_error("detaching device eBPF program " + std::to_string(id));
  }
  return {};
}

}  // namespace

std::vector<BpfInsn> device_rules_to_bpf(const std::vector<DeviceRule>& rules) {
  std::vector<BpfInsn> p = {
      insn(BPF_LDX | BPF_MEM | BPF_W, kR2, kR1, 0, 0),     // access_type
      insn(BPF_ALU | BPF_AND | BPF_K, kR2, 0, 0, 0xffff),  // low 16 bits: device type
      insn(BPF_LDX | BPF_MEM | BPF_W, kR3, kR1, 0, 0),
      insn(BPF_ALU | BPF_RSH | BPF_K, kR3, 0, 0, 16),   // high 16 bits: access
      insn(BPF_LDX | BPF_MEM | BPF_W, kR4, kR1, 4, 0),  // major
      insn(BPF_LDX | BPF_MEM | BPF_W, kR5, kR1, 8, 0),  // minor
  };
  // The last matching rule decides, as with the v1 devices files where a later rule overrides
  // an earlier one: evaluate the rules backwards, first match wins.
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    if (it->type == 'p' || !fits_imm(it->major) || !fits_imm(it->minor))
      continue;  // fifos are not device-controlled
    auto block = rule_block(*it);
    p.insert(p.end(), block.begin(), block.end());
    if (block.size() == 2) return p;  // matches everything: nothing after it can run
  }
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, kR0, 0, 0, 0));
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

Status attach_device_filter(int cgroup_dir_fd, const std::vector<DeviceRule>& rules) {
  STACK_TRY(UniqueFd prog, load_program(device_rules_to_bpf(rules)));
  STACK_TRY(std::vector<uint32_t> old, attached_programs(cgroup_dir_fd));
  // Attach the new program before detaching the old ones: with BPF_F_ALLOW_MULTI every attached
  // program must allow, so the overlap only narrows access and there is no unfiltered moment.
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(cgroup_dir_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, attr) < 0) return errno_error("attaching the device eBPF program");
  for (uint32_t id : old) STACK_TRY_VOID(detach_program(cgroup_dir_fd, id));
  return {};
}

}  // namespace stack::runtime
