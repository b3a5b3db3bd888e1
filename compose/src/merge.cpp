#include "merge.h"
namespace stack::compose {
void merge_documents(Node&, const Node&, Diagnostics&) {}
void merge_service(Node&, const Node&, Diagnostics&) {}
void finish_merge(Node&) {}
}  // namespace stack::compose
