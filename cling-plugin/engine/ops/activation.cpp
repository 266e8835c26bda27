#include "ops/activation.hpp"

#include <c10/util/Exception.h>

namespace torchclad {

Activation parse_activation(const std::string& name) {
  if (name == "relu") return kernels::kRelu;
  if (name == "tanh") return kernels::kTanh;
  if (name == "sigmoid") return kernels::kSigmoid;
  if (name == "identity") return kernels::kIdentity;
  TORCH_CHECK(false, "unknown activation '", name, "': expected relu, tanh, sigmoid or identity");
}

const char* activation_name(Activation act) {
  switch (act) {
    case kernels::kRelu:
      return "relu";
    case kernels::kTanh:
      return "tanh";
    case kernels::kSigmoid:
      return "sigmoid";
    case kernels::kIdentity:
      return "identity";
  }
  return "?";
}

Activation activation_from_int(int64_t kind, const char* op, const char* arg) {
  TORCH_CHECK(kind >= kernels::kIdentity && kind <= kernels::kSigmoid, op, ": ", arg,
              " must be 0 (identity), 1 (relu), 2 (tanh) or 3 (sigmoid), found ", kind);
  return static_cast<Activation>(kind);
}

}  // namespace torchclad
