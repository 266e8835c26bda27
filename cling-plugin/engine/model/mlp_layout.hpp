#pragma once
// Where each layer's parameters and activations live in the model-level
// engine's flat buffers (kernels/mlp.hpp reads these tables). Computed once
// per model (parameters) and once per batch size (activations).
#include <cstdint>
#include <vector>

namespace torchclad::model {

struct MlpLayout {
  std::vector<int> widths;  // layers + 1 entries: in, hidden..., out
  std::vector<int> weight;  // offset of W_l [widths[l+1], widths[l]] in params
  std::vector<int> bias;    // offset of b_l [widths[l+1]] in params
  std::vector<int> pre;     // offset of z_l [batch, widths[l+1]] in acts
  std::vector<int> post;    // offset of act(z_l) in acts
  int batch = 0;
  int64_t param_count = 0;
  int64_t act_count = 0;

  int layers() const { return static_cast<int>(widths.size()) - 1; }
  // Throws c10::Error for fewer than 2 or more than kMaxMlpLayers + 1 widths,
  // a non-positive width or batch, or buffers past the int range Clad's
  // kernels index with.
  static MlpLayout make(const std::vector<int64_t>& widths, int64_t batch);
};

}  // namespace torchclad::model
