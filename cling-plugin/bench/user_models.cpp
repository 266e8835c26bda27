// The benchmark's workloads written as model definitions (torchclad/nn.h),
// compiled here with the Clad plugin as a user's %%clad cell or program is:
// engine clad-user. bench_step.cpp reaches them by name.
#include "models/gw_cnn.h"
#include "models/mlp.h"
#include "user_models.hpp"

TORCHCLAD_MODEL(mlp_784_128_10, Mlp784x128x10)
TORCHCLAD_MODEL(gw_cnn, GwCnn)

namespace torchclad::bench {

std::string user_model_of(const std::string& workload) {
  if (workload == "mlp-784-128-10") return "mlp_784_128_10";
  if (workload == "cnn-gw") return "gw_cnn";
  return "";
}

}  // namespace torchclad::bench
