// The cgroup v2 device filter: golden instruction listings, and the rules' meaning checked by a
// small interpreter of exactly the opcodes the compiler emits (anything else fails the test).
#include <linux/bpf.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "stack/runtime/cgroup.h"

using namespace stack::runtime;

namespace {

std::string disassemble(const std::vector<BpfInsn>& prog) {
  std::ostringstream out;
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const BpfInsn& i = prog[pc];
    int dst = i.regs & 0x0f, src = i.regs >> 4;
    out << pc << ": ";
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        out << "r" << dst << " = *(u32*)(r" << src << "+" << i.off << ")";
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        out << "w" << dst << " &= " << i.imm;
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        out << "w" << dst << " >>= " << i.imm;
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        out << "w" << dst << " = w" << src;
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        out << "r" << dst << " = " << i.imm;
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        out << "if r" << dst << " != " << i.imm << " goto +" << i.off;
        break;
      case BPF_JMP | BPF_JNE | BPF_X:
        out << "if r" << dst << " != r" << src << " goto +" << i.off;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        out << "if r" << dst << " == " << i.imm << " goto +" << i.off;
        break;
      case BPF_JMP | BPF_EXIT:
        out << "exit";
        break;
      default:
        out << "unknown opcode " << int(i.code);
    }
    out << "\n";
  }
  return out.str();
}

// Runs the program on one request; returns the verdict, or -1 for a malformed program.
int run(const std::vector<BpfInsn>& prog, uint32_t type, uint32_t access, uint32_t major,
        uint32_t minor) {
  const uint32_t ctx[3] = {type | (access << 16), major, minor};
  uint64_t r[11] = {};
  for (size_t pc = 0, steps = 0; pc < prog.size() && steps < 10000; ++pc, ++steps) {
    const BpfInsn& i = prog[pc];
    int dst = i.regs & 0x0f, src = i.regs >> 4;
    auto jump = [&](bool taken) {
      if (taken) pc += i.off;
    };
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        if (src != 1 || i.off % 4 != 0 || i.off < 0 || i.off > 8) return -1;
        r[dst] = ctx[i.off / 4];
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        r[dst] = uint32_t(r[dst]) & uint32_t(i.imm);
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        r[dst] = uint32_t(r[dst]) >> i.imm;
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        r[dst] = uint32_t(r[src]);
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        r[dst] = uint64_t(int64_t(i.imm));
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        jump(r[dst] != uint64_t(int64_t(i.imm)));
        break;
      case BPF_JMP | BPF_JNE | BPF_X:
        jump(r[dst] != r[src]);
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        jump(r[dst] == uint64_t(int64_t(i.imm)));
        break;
      case BPF_JMP | BPF_EXIT:
        return int(r[0]);
      default:
        return -1;
    }
  }
  return -1;  // fell off the end or looped
}

constexpr uint32_t kChar = BPF_DEVCG_DEV_CHAR, kBlock = BPF_DEVCG_DEV_BLOCK;
constexpr uint32_t kR = BPF_DEVCG_ACC_READ, kW = BPF_DEVCG_ACC_WRITE, kM = BPF_DEVCG_ACC_MKNOD;

DeviceRule rule(bool allow, char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                std::string access) {
  return DeviceRule{allow, type, major, minor, std::move(access)};
}

const char* kPrologue =
    "0: r2 = *(u32*)(r1+0)\n"
    "1: w2 &= 65535\n"
    "2: r3 = *(u32*)(r1+0)\n"
    "3: w3 >>= 16\n"
    "4: r4 = *(u32*)(r1+4)\n"
    "5: r5 = *(u32*)(r1+8)\n";

}  // namespace

TEST_CASE("cgroup bpf: no rules deny everything", "[runtime][cgroup][bpf]") {
  auto prog = device_rules_to_bpf({});
  CHECK(disassemble(prog) == std::string(kPrologue) + "6: r0 = 0\n7: exit\n");
  CHECK(run(prog, kChar, kR, 1, 3) == 0);
}

TEST_CASE("cgroup bpf: golden listing, last rule first", "[runtime][cgroup][bpf]") {
  auto prog = device_rules_to_bpf({rule(false, 'a', {}, {}, "rwm"), rule(true, 'c', 1, 3, "rwm"),
                                   rule(true, 'b', 8, {}, "r"), rule(false, 'c', 5, {}, "w")});
  CHECK(disassemble(prog) == std::string(kPrologue) +
                                 // deny c 5:* w
                                 "6: if r2 != 2 goto +6\n"
                                 "7: w1 = w3\n"
                                 "8: w1 &= 4\n"
                                 "9: if r1 == 0 goto +3\n"
                                 "10: if r4 != 5 goto +2\n"
                                 "11: r0 = 0\n"
                                 "12: exit\n"
                                 // allow b 8:* r
                                 "13: if r2 != 1 goto +6\n"
                                 "14: w1 = w3\n"
                                 "15: w1 &= 2\n"
                                 "16: if r1 != r3 goto +3\n"
                                 "17: if r4 != 8 goto +2\n"
                                 "18: r0 = 1\n"
                                 "19: exit\n"
                                 // allow c 1:3 rwm
                                 "20: if r2 != 2 goto +4\n"
                                 "21: if r4 != 1 goto +3\n"
                                 "22: if r5 != 3 goto +2\n"
                                 "23: r0 = 1\n"
                                 "24: exit\n"
                                 // deny a: matches everything, so no default follows
                                 "25: r0 = 0\n"
                                 "26: exit\n");
}

TEST_CASE("cgroup bpf: Docker-like rules mean what the v1 files meant", "[runtime][cgroup][bpf]") {
  auto prog = device_rules_to_bpf({rule(false, 'a', {}, {}, "rwm"), rule(true, 'c', 1, 3, "rwm"),
                                   rule(true, 'c', {}, {}, "m"), rule(true, 'b', {}, {}, "m"),
                                   rule(true, 'c', 136, {}, "rwm"), rule(true, 'b', 8, 0, "r")});
  CHECK(run(prog, kChar, kR | kW, 1, 3) == 1);     // /dev/null
  CHECK(run(prog, kChar, kR, 1, 5) == 0);          // /dev/zero not listed
  CHECK(run(prog, kChar, kM, 1, 5) == 1);          // mknod of any char device
  CHECK(run(prog, kBlock, kM, 253, 1) == 1);       // mknod of any block device
  CHECK(run(prog, kChar, kR | kW, 136, 42) == 1);  // any pty
  CHECK(run(prog, kBlock, kR, 8, 0) == 1);
  CHECK(run(prog, kBlock, kR | kW, 8, 0) == 0);  // write not granted
  CHECK(run(prog, kBlock, kR, 8, 1) == 0);
  CHECK(run(prog, kChar, kR, 8, 0) == 0);  // type matters
}

TEST_CASE("cgroup bpf: a later deny overrides an earlier allow for the bits it names",
          "[runtime][cgroup][bpf]") {
  auto prog = device_rules_to_bpf({rule(true, 'c', 1, 3, "rwm"), rule(false, 'c', 1, 3, "w")});
  CHECK(run(prog, kChar, kR, 1, 3) == 1);
  CHECK(run(prog, kChar, kW, 1, 3) == 0);
  CHECK(run(prog, kChar, kR | kW, 1, 3) == 0);
  CHECK(run(prog, kChar, kR, 1, 4) == 0);
}

TEST_CASE("cgroup bpf: allow-all stops the program, out-of-range and fifo rules are dropped",
          "[runtime][cgroup][bpf]") {
  auto all = device_rules_to_bpf({rule(false, 'c', 1, 3, "rwm"), rule(true, 'a', {}, {}, "")});
  CHECK(disassemble(all) == std::string(kPrologue) + "6: r0 = 1\n7: exit\n");
  CHECK(run(all, kBlock, kR | kW | kM, 8, 0) == 1);

  auto odd = device_rules_to_bpf({rule(true, 'c', int64_t{1} << 40, {}, "rwm"),
                                  rule(true, 'p', {}, {}, "rwm"), rule(true, 'c', -1, {}, "r")});
  CHECK(disassemble(odd) == std::string(kPrologue) + "6: r0 = 0\n7: exit\n");
}
