#include "model/mlp_layout.hpp"

#include <c10/util/Exception.h>

#include <limits>

#include "kernels/mlp.hpp"

namespace torchclad::model {

MlpLayout MlpLayout::make(const std::vector<int64_t>& widths, int64_t batch) {
  const int64_t layers = static_cast<int64_t>(widths.size()) - 1;
  TORCH_CHECK(layers >= 1 && layers <= kernels::kMaxMlpLayers, "torchclad MLP: widths must list 2 to ",
              kernels::kMaxMlpLayers + 1, " sizes (input, hidden..., output), found ", widths.size());
  TORCH_CHECK(batch >= 1, "torchclad MLP: batch must be at least 1, found ", batch);
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  MlpLayout layout;
  layout.batch = static_cast<int>(batch);
  int64_t p = 0, a = 0;
  for (int64_t w : widths) {
    TORCH_CHECK(w >= 1, "torchclad MLP: every width must be at least 1, found ", w);
    layout.widths.push_back(static_cast<int>(w));
  }
  for (int64_t l = 0; l < layers; ++l) {
    const int64_t in = widths[l], out = widths[l + 1];
    layout.weight.push_back(static_cast<int>(p));
    p += out * in;
    layout.bias.push_back(static_cast<int>(p));
    p += out;
    layout.pre.push_back(static_cast<int>(a));
    a += batch * out;
    layout.post.push_back(static_cast<int>(a));
    a += batch * out;
    TORCH_CHECK(p <= kIntMax && a <= kIntMax, "torchclad MLP: widths ", c10::ArrayRef<int64_t>(widths),
                " at batch ", batch, " need buffers past 2^31 elements");
  }
  layout.param_count = p;
  layout.act_count = a;
  return layout;
}

}  // namespace torchclad::model
