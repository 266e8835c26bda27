#include "train/torch_optim_state.hpp"

namespace torchclad::train {
namespace {

int64_t total(const std::vector<torch::Tensor>& leaves) {
  int64_t n = 0;
  for (const auto& p : leaves) n += p.numel();
  return n;
}

// Copies t (or zeros when undefined) into out at offset.
void put(std::vector<float>& out, int64_t at, const torch::Tensor& t, int64_t n) {
  if (!t.defined()) return std::fill(out.begin() + at, out.begin() + at + n, 0.0f);
  const auto c = t.to(torch::kFloat32).contiguous();
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + n, out.begin() + at);
}

torch::Tensor slice(const std::vector<float>& v, int64_t at, const torch::Tensor& like) {
  return torch::from_blob(const_cast<float*>(v.data() + at), like.sizes(), torch::kFloat32).clone();
}

}  // namespace

FlatOptimizerState torch_optimizer_state(torch::optim::Optimizer& opt,
                                         const std::vector<torch::Tensor>& leaves, const std::string& kind,
                                         int64_t steps) {
  const int64_t n = total(leaves);
  FlatOptimizerState s;
  s.steps = steps;
  s.buffers.assign(kind == "adam" ? 2 : 1, std::vector<float>(n, 0.0f));
  int64_t at = 0;
  for (const auto& p : leaves) {
    const auto it = opt.state().find(p.unsafeGetTensorImpl());
    if (it != opt.state().end()) {
      if (kind == "adam") {
        auto& a = static_cast<torch::optim::AdamParamState&>(*it->second);
        put(s.buffers[0], at, a.exp_avg(), p.numel());
        put(s.buffers[1], at, a.exp_avg_sq(), p.numel());
        s.steps = a.step();
      } else {
        put(s.buffers[0], at, static_cast<torch::optim::SGDParamState&>(*it->second).momentum_buffer(),
            p.numel());
      }
    }
    at += p.numel();
  }
  return s;
}

void load_torch_optimizer_state(torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& leaves,
                                const std::string& kind, const FlatOptimizerState& s) {
  const int64_t n = total(leaves);
  const size_t buffers = kind == "adam" ? 2 : 1;
  TORCH_CHECK(s.buffers.size() == buffers, "optimizer state: ", kind, " keeps ", buffers,
              " buffer(s), the state has ", s.buffers.size(), " (saved by another optimizer?)");
  for (const auto& b : s.buffers)
    TORCH_CHECK(static_cast<int64_t>(b.size()) == n, "optimizer state: ", kind, " buffers hold ", n,
                " values (one per parameter), the state's hold ", b.size());
  if (s.steps == 0) return;  // no step taken: torch::optim starts from zeros itself
  int64_t at = 0;
  for (const auto& p : leaves) {
    if (kind == "adam") {
      auto a = std::make_unique<torch::optim::AdamParamState>();
      a->step(s.steps);
      a->exp_avg(slice(s.buffers[0], at, p));
      a->exp_avg_sq(slice(s.buffers[1], at, p));
      opt.state()[p.unsafeGetTensorImpl()] = std::move(a);
    } else {
      auto g = std::make_unique<torch::optim::SGDParamState>();
      g->momentum_buffer(slice(s.buffers[0], at, p));
      opt.state()[p.unsafeGetTensorImpl()] = std::move(g);
    }
    at += p.numel();
  }
}

}  // namespace torchclad::train
