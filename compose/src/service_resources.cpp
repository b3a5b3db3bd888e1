#include "convert.h"
namespace stack::compose {
const std::vector<ServiceField>& resource_service_fields() { static const std::vector<ServiceField> f; return f; }
}  // namespace stack::compose
