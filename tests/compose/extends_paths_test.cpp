// rebase_service_paths / rebase_document_paths: relative paths of a definition used from another
// directory become absolute; remote contexts, named volumes and "~" stay.
#include "extends.h"
#include "merge_test_util.h"

using namespace stack::compose;
using namespace stack::compose::testing;

TEST_CASE("extends paths: build contexts", "[compose][extends]") {
  Node svc = parse_node("{build: ../app}");
  rebase_service_paths(svc, "/p/sub");
  CHECK(node_to_json(svc).dump() == R"({"build":"/p/app"})");
  svc = parse_node("{build: 'https://github.com/x/y.git#main'}");
  rebase_service_paths(svc, "/p");
  CHECK(node_to_json(svc).dump() == R"({"build":"https://github.com/x/y.git#main"})");
  svc = parse_node("{build: {dockerfile: Dockerfile, additional_contexts: {lib: ./lib, img: 'docker-image://x'}}}");
  rebase_service_paths(svc, "/p");
  CHECK(node_to_json(svc).dump() ==
        R"({"build":{"dockerfile":"Dockerfile","additional_contexts":{"lib":"/p/lib","img":"docker-image://x"},)"
        R"("context":"/p"}})");
  svc = parse_node("{build: {context: git@github.com:x/y.git, additional_contexts: [lib=../lib, s=service:db]}}");
  rebase_service_paths(svc, "/p/q");
  CHECK(node_to_json(svc).dump() ==
        R"({"build":{"context":"git@github.com:x/y.git","additional_contexts":["lib=/p/lib","s=service:db"]}})");
}

TEST_CASE("extends paths: env files, label files, volumes, extends.file", "[compose][extends]") {
  Node svc = parse_node(R"({env_file: ./a.env, label_file: [l.txt, /abs/l.txt],
    volumes: [".:/app", "/host:/host", "~/x:/x", "vol:/vol", {type: bind, source: src, target: /src},
              {source: ./auto, target: /auto}, {type: volume, source: ./odd, target: /odd}],
    extends: {file: ../base.yml, service: b}})");
  rebase_service_paths(svc, "/p/sub");
  CHECK(node_to_json(svc).dump() ==
        R"({"env_file":"/p/sub/a.env","label_file":["/p/sub/l.txt","/abs/l.txt"],)"
        R"("volumes":["/p/sub:/app","/host:/host","~/x:/x","vol:/vol",{"type":"bind","source":"/p/sub/src","target":"/src"},)"
        R"({"source":"/p/sub/auto","target":"/auto"},{"type":"volume","source":"./odd","target":"/odd"}],)"
        R"("extends":{"file":"/p/base.yml","service":"b"}})");
}

TEST_CASE("extends paths: a document's services, secrets and configs", "[compose][extends]") {
  Node doc = parse_node(R"(
services: {web: {build: .}}
secrets: {a: {file: ./a.txt}, b: {environment: B}, c: {file: ~/c}}
configs: {d: {file: conf/d.conf}}
)");
  rebase_document_paths(doc, "/p");
  CHECK(node_to_json(doc).dump() ==
        R"({"services":{"web":{"build":"/p"}},"secrets":{"a":{"file":"/p/a.txt"},"b":{"environment":"B"},)"
        R"("c":{"file":"~/c"}},"configs":{"d":{"file":"/p/conf/d.conf"}}})");
  CHECK(doc.find("configs")->find("d")->find("file")->mark.to_string() == "compose.yaml:4:21");
}
