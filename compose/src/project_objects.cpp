#include "convert.h"
namespace stack::compose {
void convert_networks(ConvertContext&, const Node&, Project&) {}
void convert_volumes(ConvertContext&, const Node&, Project&) {}
void convert_secrets(ConvertContext&, const Node&, Project&) {}
void convert_configs(ConvertContext&, const Node&, Project&) {}
Json networks_to_json(const Project&) { return Json::object(); }
Json volumes_to_json(const Project&) { return Json::object(); }
Json secrets_to_json(const Project&) { return Json::object(); }
Json configs_to_json(const Project&) { return Json::object(); }
}  // namespace stack::compose
