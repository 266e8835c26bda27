// The ROOT file: trees "train" and "test" (one entry per window), the
// parameters as JSON (TNamed "gw_parameters") and the PSD (TGraph "psd").
#pragma once

#include <string>

#include "torchclad/gw_simulator.h"

namespace torchclad::gw {

// Writes the hidden dir/.name.partial and renames it to path when complete; the partial
// file is removed on error. Returns the windows written.
long long write_file(const SimulationOptions& options, const std::string& path);

}  // namespace torchclad::gw
