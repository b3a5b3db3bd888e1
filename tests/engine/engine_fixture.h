// A project for the engine's e2e tests: a fresh state root, a busybox image imported into it
// with the real `stack image import`, a project directory to write compose files into, and
// helpers that run the real `stack` binary and read its JSON output. The destructor takes the
// project down (-v) and removes the root, so a failing test leaves no container running.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/run_command.h"

namespace stack::test {

class EngineProject {
 public:
  // `image` is tagged in the fresh store; its rootfs has busybox with the applets tests use.
  explicit EngineProject(std::string name, std::string image = "busybox:e2e")
      : name_(std::move(name)), image_(std::move(image)) {
    char tmpl[] = "/tmp/stack-engine-e2e-XXXXXX";
    base_ = ::mkdtemp(tmpl);
    root_ = base_ + "/root";
    dir_ = base_ + "/project";
    std::filesystem::create_directories(dir_);
    make_rootfs(base_ + "/rootfs");
    auto r = stack({"image", "import", "-c", "CMD [\"sh\"]", base_ + "/rootfs", image_});
    if (r.exit_code != 0) throw std::runtime_error("image import failed: " + r.describe());
  }
  ~EngineProject() {
    (void)stack({"down", "-v", "-t", "0", "--remove-orphans"});
    // Networks of any other project a test made in this root (or created by hand): bridges
    // and firewall tables outlive the root's directory, so none may be left behind.
    (void)stack({"network", "prune", "-f"});
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }

  // Where the root's embedded DNS forwards unknown names (a test's fake resolver); by default a
  // port where nothing answers.
  std::string dns_upstreams = "127.0.0.1:9";

  const std::string& root() const { return root_; }
  const std::string& dir() const { return dir_; }
  const std::string& image() const { return image_; }

  void write_compose(const std::string& yaml) const {
    std::ofstream(dir_ + "/compose.yaml") << "name: " << name_ << "\n" << yaml;
  }

  // `stack --root R -p NAME args…` in the project directory.
  ProgramResult stack(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(120000)) const {
    std::vector<std::string> all = {"--root", root_};
    all.insert(all.end(), args.begin(), args.end());
    ProgramOptions o;
    // The embedded DNS forwards unknown names to a port where nothing answers: this machine's
    // real resolver is off limits to tests.
    o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
             "STACK_DNS_UPSTREAMS=" + dns_upstreams};
    o.cwd = dir_;
    o.timeout = timeout;
    return run_program(STACK_BIN, all, o);
  }

  // `stack ps -a --format json`, one object per container, by name.
  std::map<std::string, nlohmann::json> ps() const {
    std::map<std::string, nlohmann::json> out;
    auto r = stack({"ps", "-a", "--format", "json"});
    size_t pos = 0;
    while (pos < r.out.size()) {
      size_t nl = r.out.find('\n', pos);
      auto line = r.out.substr(pos, nl - pos);
      pos = nl == std::string::npos ? r.out.size() : nl + 1;
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line);
      out[j["Name"].get<std::string>()] = j;
    }
    return out;
  }

  // The shim's status.json of a container, parsed.
  nlohmann::json status(const std::string& container) const {
    auto ps_all = ps();
    auto it = ps_all.find(container);
    if (it == ps_all.end()) return nullptr;
    std::ifstream in(root_ + "/containers/" + it->second["ID"].get<std::string>() + "/status.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.empty() ? nlohmann::json() : nlohmann::json::parse(text);
  }

  // Polls until pred() or the timeout; returns pred()'s last value.
  template <class Pred>
  static bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pred();
  }

 private:
  static void make_rootfs(const std::string& dir) {
    std::filesystem::create_directories(dir + "/bin");
    std::filesystem::create_directories(dir + "/etc");
    std::filesystem::create_directories(dir + "/www");
    std::filesystem::create_directories(dir + "/data");
    std::filesystem::create_directories(dir + "/tmp");
    std::filesystem::copy_file("/bin/busybox", dir + "/bin/busybox");
    for (const char* applet : {"sh", "sleep", "echo", "cat", "ls", "httpd", "true", "false", "head", "tr",
                               "hostname", "id", "touch", "test", "wc", "kill", "env", "wget",
                               "nc", "ps", "date", "mkdir", "rm", "grep", "ping", "nslookup",
                               "timeout", "ip", "sort", "uniq"})
      std::filesystem::create_symlink("busybox", dir + "/bin/" + applet);
    std::ofstream(dir + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                          "nobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n";
    std::ofstream(dir + "/etc/group") << "root:x:0:\nnogroup:x:65534:\n";
    std::ofstream(dir + "/www/index.html") << "hello from stack\n";
    std::ofstream(dir + "/data/seed.txt") << "from the image\n";
  }

  std::string name_, image_, base_, root_, dir_;
};

}  // namespace stack::test
