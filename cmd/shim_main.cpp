// `stack-shim`: the per-container supervisor (engine/shim/shim.h).
#include "shim.h"

int main(int argc, char** argv) { return stack::engine::shim::shim_main(argc, argv); }
