// apply / remove_table / list_table: nft scripts run through libnftables in the calling
// thread's network namespace (libnftables opens its netlink socket per command run), with
// output and errors buffered instead of printed.
#include <nftables/libnftables.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <string>

#include "stack/common/unique_fd.h"
#include "stack/network/firewall.h"

namespace stack::network {
namespace {

struct CtxDeleter {
  void operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }
};

struct RunResult {
  int rc = -1;
  std::string output;
  std::string error;
};

// libnftables keeps process-wide state (its parser's and symbol tables' initialisation), so
// runs are serialized.
std::mutex& nft_mutex() {
  static std::mutex m;
  return m;
}

Result<RunResult> run_script(const std::string& script) {
  std::lock_guard<std::mutex> lock(nft_mutex());
  std::unique_ptr<nft_ctx, CtxDeleter> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return Error(ENOMEM, "libnftables: cannot create a context");
  if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0) {
    return Error(ENOMEM, "libnftables: cannot buffer output");
  }
  // The script is run from a memfd rather than from a buffer: libnftables 1.0.6 quotes the
  // wrong line of a multi-line buffer in its errors, but the right one ("file:12:9-30: Error:
  // …" and the line) of a file.
  UniqueFd file(::memfd_create("stack-firewall.nft", MFD_CLOEXEC));
  if (!file.valid()) return errno_error("firewall: memfd_create");
  if (::write(file.get(), script.data(), script.size()) != static_cast<ssize_t>(script.size())) {
    return errno_error("firewall: writing the script to a memfd");
  }
  RunResult r;
  std::string path = "/proc/self/fd/" + std::to_string(file.get());
  r.rc = nft_run_cmd_from_filename(ctx.get(), path.c_str());
  const char* out = nft_ctx_get_output_buffer(ctx.get());
  const char* err = nft_ctx_get_error_buffer(ctx.get());
  r.output = out ? out : "";
  r.error = err ? err : "";
  while (!r.error.empty() && r.error.back() == '\n') r.error.pop_back();
  // "/proc/self/fd/7:22:9-30: Error" reads better as "line 22:9-30: Error".
  for (size_t at; (at = r.error.find(path + ":")) != std::string::npos;) {
    r.error.replace(at, path.size() + 1, "line ");
  }
  return r;
}

// An errno for libnftables' error text, which is all it reports.
int code_of(const std::string& text) {
  if (text.find("No such file or directory") != std::string::npos) return ENOENT;
  if (text.find("Operation not permitted") != std::string::npos) return EPERM;
  return EINVAL;
}

Status run_checked(const std::string& table, const std::string& what, const std::string& script) {
  STACK_TRY(RunResult r, run_script(script));
  if (r.rc != 0) {
    std::string text = r.error.empty() ? "libnftables failed without a message" : r.error;
    return Error(code_of(text), "firewall table inet " + table + ": " + what + ": " + text);
  }
  return {};
}

// The name goes into a script: the same check as render_ruleset's (an empty spec renders only
// when the table name is valid).
Status check_table_name(const std::string& table) {
  auto rendered = render_ruleset(FirewallSpec{table, "stk-", {}, {}});
  if (!rendered.ok()) return std::move(rendered).error();
  return {};
}

}  // namespace

Status apply(const FirewallSpec& spec) {
  STACK_TRY(std::string script, render_ruleset(spec));
  return run_checked(spec.table, "apply", script);
}

Status remove_table(const std::string& table) {
  // `destroy table` (absent is fine) needs nft 1.0.8; creating the table in the same batch
  // makes the delete valid whether or not it existed.
  STACK_TRY_VOID(check_table_name(table));
  std::string t = "table inet " + table;
  return run_checked(table, "remove", t + " {}\ndelete " + t + "\n");
}

Result<std::string> list_table(const std::string& table) {
  STACK_TRY_VOID(check_table_name(table));
  STACK_TRY(RunResult r, run_script("list table inet " + table + "\n"));
  if (r.rc != 0) {
    return Error(code_of(r.error), "firewall table inet " + table + ": list: " + r.error);
  }
  return r.output;
}

}  // namespace stack::network
