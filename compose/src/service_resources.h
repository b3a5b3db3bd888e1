// The "resources" service attributes (ports, volumes, networks, depends_on, healthcheck,
// logging, ulimits, devices, secrets, configs, build): parsers into the model and writers of
// the canonical JSON, shared between the service_resources*.cpp files. Private to compose/src.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "convert.h"

namespace stack::compose {

// Shared readers. Each reports its own problems and returns std::nullopt on error.
bool is_ip_address(const std::string& text);
bool is_ipv4_address(const std::string& text);
bool is_ipv6_address(const std::string& text);
// A file mode: an unquoted number as YAML reads it (0440 is octal), a string always octal.
std::optional<uint32_t> parse_file_mode(const Node& n);
// One secret/config reference: "name" or {source, target, uid, gid, mode}.
std::optional<FileReference> read_file_reference(ConvertContext& c, const Node& n, const std::string& path);
std::optional<std::vector<FileReference>> read_file_references(ConvertContext& c, const Node& n,
                                                               const std::string& path);
Json file_reference_to_json(const FileReference& r);
// name: number | {soft, hard}.
std::optional<std::map<std::string, Ulimit>> read_ulimits(ConvertContext& c, const Node& n, const std::string& path);
Json ulimits_to_json(const std::map<std::string, Ulimit>& u);
void put_extensions(const Extensions& ext, Json& out);

// Per attribute (service_resources_<topic>.cpp).
void parse_ports(ConvertContext& c, const Node& n, const std::string& path, Service& svc);
void ports_to_json(const Service& svc, Json& out);
void parse_volumes(ConvertContext& c, const Node& n, const std::string& path, Service& svc);
void volumes_to_json(const Service& svc, Json& out);
void parse_service_networks(ConvertContext& c, const Node& n, const std::string& path, Service& svc);
void service_networks_to_json(const Service& svc, Json& out);
void parse_depends_on(ConvertContext& c, const Node& n, const std::string& path, Service& svc);
void depends_on_to_json(const Service& svc, Json& out);
void parse_healthcheck(ConvertContext& c, const Node& n, const std::string& path, Service& svc);
void healthcheck_to_json(const Service& svc, Json& out);
void parse_logging(ConvertContext& c, const Node& n, const std::string& path, Service& svc);
void logging_to_json(const Service& svc, Json& out);
void parse_devices(ConvertContext& c, const Node& n, const std::string& path, Service& svc);
void devices_to_json(const Service& svc, Json& out);
void parse_build(ConvertContext& c, const Node& n, const std::string& path, Service& svc);
void build_to_json(const Service& svc, Json& out);

}  // namespace stack::compose
