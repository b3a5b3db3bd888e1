// stack-shim's entry point (cmd/shim_main.cpp calls it): `stack-shim --dir D [--ready-fd N]`.
#pragma once

namespace stack::engine::shim {

// Parses the arguments, detaches (double fork, setsid; stdio to D/shim.log), takes D/shim.pid's
// lock, reads D/shim.json, starts the container, reports on the ready fd and supervises until the
// container is finally stopped. The calling process returns 0 as soon as the detached shim
// exists (1 if it could not fork, 2 on a usage error); the shim itself exits 0 after a clean
// stop and 1 when the container could not start.
int shim_main(int argc, char** argv);

}  // namespace stack::engine::shim
