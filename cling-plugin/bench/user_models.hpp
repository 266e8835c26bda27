#pragma once
// Engine clad-user: which workloads have a model definition (user_models.cpp).
#include <string>

namespace torchclad::bench {

// The definition's registered name for a workload, or "" if it has none.
std::string user_model_of(const std::string& workload);

}  // namespace torchclad::bench
