#include "convert.h"
namespace stack::compose {
const std::vector<ServiceField>& simple_service_fields() { static const std::vector<ServiceField> f; return f; }
const std::vector<std::string>& unsupported_service_keys() { static const std::vector<std::string> k; return k; }
}  // namespace stack::compose
