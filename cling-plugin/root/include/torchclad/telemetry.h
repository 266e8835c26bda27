// The engine's telemetry events and stop flag, for cells and the kernel host
// (the same C++17 header the engine uses: engine/train/telemetry.hpp).
#ifndef TORCHCLAD_TELEMETRY_H
#define TORCHCLAD_TELEMETRY_H
#if __has_include("../../../engine/train/telemetry.hpp")
#include "../../../engine/train/telemetry.hpp"  // the source tree
#else
#include "engine/train/telemetry.hpp"  // installed: <prefix>/include/torchclad/engine/
#endif
#endif
