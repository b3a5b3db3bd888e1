// Fuzz harness for the Compose loader. Input: the bytes of compose.yaml (an optional
// "\n#--env--\n" separator splits off a .env file). Properties checked on every input:
//  - load() never crashes, hangs or throws; it returns a project or located errors;
//  - a loaded project's canonical JSON loads again into the same model (round trip), and
//    YAML rendering and the config hash work on it.
// Built with libFuzzer under clang (scripts/fuzz.sh); under GCC the same entry point replays
// the corpus as a regression test (replay_main.cpp).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "stack/compose/canonical.h"
#include "stack/compose/loader.h"

using namespace stack::compose;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  std::string env_file;
  if (auto sep = input.find("\n#--env--\n"); sep != std::string::npos) {
    env_file = input.substr(sep + 10);
    input.resize(sep);
  }
  MemoryFileSource fs;
  fs.add("/p/compose.yaml", input);
  if (!env_file.empty()) fs.add("/p/.env", env_file);
  fs.add("/p/app.env", "A=1\nB=two\n");
  LoadOptions o;
  o.working_dir = "/p";
  o.environment = {{"HOME", "/root"}, {"TAG", "1.0"}, {"EMPTY", ""}};
  auto r = load(o, fs);
  if (!r.ok()) {
    if (r.error().message.empty()) std::abort();  // every failure must say why
    return 0;
  }
  Json canonical = project_to_json(*r);
  (void)to_yaml(canonical);
  for (const auto& s : r->services) (void)config_hash(s);

  MemoryFileSource again_fs;
  again_fs.add("/p/compose.json", to_json_text(escape_dollars(canonical)));
  LoadOptions again_opts = o;
  again_opts.files = {"/p/compose.json"};
  auto again = load(again_opts, again_fs);
  if (!again.ok()) {
    std::fprintf(stderr, "canonical JSON did not load again:\n%s\n%s\n", to_json_text(canonical).c_str(),
                 again.error().to_string().c_str());
    std::abort();
  }
  if (Json second = project_to_json(*again); second != canonical) {
    std::fprintf(stderr, "round trip changed the model:\n%s\npatch from first to second load:\n%s\n",
                 to_json_text(canonical).c_str(), to_json_text(Json::diff(canonical, second)).c_str());
    std::abort();
  }
  return 0;
}
