#include "extends.h"
namespace stack::compose {
void resolve_extends(Node&, const std::string&, const DocumentLoader&, Diagnostics&) {}
void rebase_service_paths(Node&, const std::string&) {}
void rebase_document_paths(Node&, const std::string&) {}
}  // namespace stack::compose
