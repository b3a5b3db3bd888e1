// Runs a program as a child process for e2e tests of the command line: explicit arguments and
// environment, optional stdin, stdout and stderr captured separately, exit status. fork/execve
// with pipes and poll; no shell, so arguments need no quoting.
//
// The child gets exactly the environment given (nothing inherited), stdin from the given bytes
// (or /dev/null), default signal dispositions and mask, and no file descriptors of the test
// beyond 0-2. It is killed (SIGKILL) when the timeout passes or when the calling thread dies
// (PR_SET_PDEATHSIG). Failures of the harness itself (pipe, fork, exec) throw
// std::runtime_error: test code only.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace stack::test {

struct ProgramOptions {
  std::vector<std::string> env;              // the whole environment, "NAME=value" each
  std::optional<std::string> stdin_data;     // nullopt: stdin is /dev/null
  std::string cwd;                           // "" = the caller's working directory
  std::chrono::milliseconds timeout{120'000};
};

struct ProgramResult {
  int exit_code = -1;      // -1 when killed by a signal
  int term_signal = 0;     // the signal that ended it, 0 if it exited
  bool timed_out = false;  // killed because the timeout passed
  std::string out, err;
  std::chrono::milliseconds elapsed{0};

  // For failure messages: "exit 1\n--- stdout\n…\n--- stderr\n…".
  std::string describe() const;
};

// Runs `binary` (a path; PATH is not searched) with argv[0] = binary and then `args`.
// (Not named run_command: tests/runtime/runtime_fixture.h has a different one in this namespace.)
ProgramResult run_program(const std::string& binary, const std::vector<std::string>& args,
                          const ProgramOptions& options = {});

}  // namespace stack::test
