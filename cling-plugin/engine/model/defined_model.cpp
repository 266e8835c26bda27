#include "model/defined_model.hpp"

#include <ATen/Parallel.h>  // at::get_num_threads

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "define/batch_weights.hpp"
#include "define/fused_weight_update.hpp"
#include "dist/data_parallel.hpp"
#include "kernels/blas.hpp"
#include "kernels/parallel.hpp"

namespace torchclad {
namespace {

// Samples a thread's part needs to be worth a thread of its own.
constexpr int kMinSamplesPerPart = 8;
constexpr int kMaxParts = 64;

void init_param(torch::Tensor t, const define::ParamSpec& p, at::Generator& gen) {
  using define::Init;
  switch (p.init) {
    case Init::kTorchDefault: {
      const double bound = 1.0 / std::sqrt(static_cast<double>(p.fan_in));
      t.uniform_(-bound, bound, gen);
      break;
    }
    case Init::kKaimingUniform: {
      const double bound = std::sqrt(6.0 / static_cast<double>(p.fan_in));
      t.uniform_(-bound, bound, gen);
      break;
    }
    case Init::kXavierUniform: {
      const double bound = std::sqrt(6.0 / static_cast<double>(p.fan_in + p.fan_out));
      t.uniform_(-bound, bound, gen);
      break;
    }
    case Init::kZeros:
      t.zero_();
      break;
    case Init::kOnes:
      t.fill_(1);
      break;
    case Init::kNormal:
      t.normal_(0, 0.01, gen);
      break;
  }
}

// The update a fused step's Linear pullbacks call: each weight whose
// gradient slot lies in the model's gradient buffer is updated from dy ⊗ x
// and remembered; finish() then updates the other ranges from the buffer.
class StepUpdate final : public define::FusedWeightUpdate {
 public:
  StepUpdate(FlatOptimizer& optimizer, float* params, float* grads, int64_t count)
      : optimizer_(optimizer), params_(params), grads_(grads), count_(count) {}

  bool apply(float* d_w, const float* dy, const float* x, int out, int in) override {
    const auto at = reinterpret_cast<uintptr_t>(d_w), base = reinterpret_cast<uintptr_t>(grads_);
    const int64_t size = int64_t{out} * in;
    if (at < base || (at - base) % sizeof(float) != 0) return false;
    const int64_t begin = static_cast<int64_t>((at - base) / sizeof(float));
    if (begin + size > count_ || done_ == kMaxWeights) return false;
    // A weight read by two layers: the first would have been updated from
    // part of its gradient (weights_read_once was wrong for the definition).
    for (int i = 0; i < done_; ++i)
      TORCH_CHECK(begin >= ranges_[i].end || begin + size <= ranges_[i].begin, "fused step: parameters [",
                  begin, ", ", begin + size,
                  ") are a weight read by two layers; the definition must not set weights_read_once");
    optimizer_.update_outer(params_, begin, dy, x, out, in);
    ranges_[done_++] = {begin, begin + size};
    return true;
  }

  void finish() {
    std::sort(ranges_, ranges_ + done_, [](const Range& a, const Range& b) { return a.begin < b.begin; });
    int64_t from = 0;
    for (int i = 0; i < done_; ++i) {
      if (from < ranges_[i].begin) optimizer_.update_range_and_clear(params_, grads_, from, ranges_[i].begin);
      from = ranges_[i].end;
    }
    if (from < count_) optimizer_.update_range_and_clear(params_, grads_, from, count_);
  }

 private:
  static constexpr int kMaxWeights = 128;  // more Linear layers than any built-in has
  struct Range {
    int64_t begin, end;
  };
  FlatOptimizer& optimizer_;
  float* params_;
  float* grads_;
  int64_t count_;
  Range ranges_[kMaxWeights];
  int done_ = 0;
};

// The weights a plain step's Linear pullbacks offer (taking none), with the
// gradient each would have from its layer alone, dy ⊗ x: checked against the
// whole gradient before a definition's first fused step.
class OfferedWeights final : public define::FusedWeightUpdate {
 public:
  explicit OfferedWeights(const float* grads) : grads_(grads) {}
  bool apply(float* d_w, const float* dy, const float* x, int out, int in) override {
    std::vector<float> outer(size_t(out) * in);
    for (int j = 0; j < out; ++j)
      for (int i = 0; i < in; ++i) outer[size_t(j) * in + i] = dy[j] * x[i];
    offered_.push_back({d_w - grads_, std::move(outer)});
    return false;
  }
  // The first weight whose gradient is not its layer's term alone (another
  // layer reads it, or the user's code adds to it), or null.
  const define::ParamSpec* first_read_elsewhere(const define::Definition& def, const float* grads) const {
    for (const auto& [offset, outer] : offered_) {
      const int64_t size = static_cast<int64_t>(outer.size());
      // Compared as numbers: the GEMM's 0 + dy·x is +0 where dy·x is -0.
      if (offset >= 0 && offset + size <= def.param_count &&
          std::equal(outer.begin(), outer.end(), grads + offset))
        continue;
      for (const auto& p : def.params)
        if (offset >= p.offset && offset < p.offset + p.numel) return &p;
      return &def.params.front();
    }
    return nullptr;
  }

 private:
  const float* grads_;
  std::vector<std::pair<int64_t, std::vector<float>>> offered_;
};

}  // namespace

namespace {

// Zeros for n gradients, with dist::kStepTail floats past them that the
// data-parallel allreduce uses to carry the step's loss (train/clad_step.cpp).
torch::Tensor gradient_buffer(int64_t n) {
  return torch::zeros({n + dist::kStepTail}, torch::kFloat32).narrow(0, 0, n);
}

}  // namespace

torch::Tensor init_defined_params(const define::Definition& def, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto params = torch::empty({def.param_count}, torch::kFloat32);
  for (const auto& p : def.params) init_param(params.narrow(0, p.offset, p.numel), p, gen);
  return params;
}

DefinedModel::DefinedModel(std::shared_ptr<const define::Definition> def, uint64_t seed)
    : def_(std::move(def)),
      params_(init_defined_params(*def_, seed)),
      grads_(gradient_buffer(params_.numel())) {}

void DefinedModel::check_alive() const {
  if (!*def_->alive)
    throw std::runtime_error("the definition of model '" + def_->name +
                             "' was replaced or unloaded (its file was loaded again, or its "
                             "%%clad cell ran again with new code); "
                             "make the model again with torchclad::model(\"" +
                             def_->name + "\")");
}

DefinedModel::Workspace& DefinedModel::workspace(int n, int part) {
  auto it = workspaces_.find({n, part});
  if (it == workspaces_.end()) {
    const size_t size = static_cast<size_t>(def_->acts_per_sample) * n;
    it = workspaces_
             .emplace(std::make_pair(n, part),
                      Workspace{std::vector<float>(size, 0.f), std::vector<float>(size, 0.f)})
             .first;
  }
  return it->second;
}

float DefinedModel::loss_and_grad(const float* x, const float* y, int n, const float* w) {
  check_alive();
  TORCH_CHECK(n >= 1, "loss_and_grad: batch must be at least 1, found ", n);
  const int64_t count = params_.numel();
  float* d_params = grads_.data_ptr<float>();
  const float* p = params_.data_ptr<float>();
  // Parts only for a loss that is a mean over the batch (checked at registration).
  const int parts =
      def_->mean_over_batch ? std::min({at::get_num_threads(), n / kMinSamplesPerPart, kMaxParts}) : 1;
  if (parts <= 1) {
    // d_acts needs no reset: every block's pullback consumes the adjoint of
    // the buffer it wrote, so the gradient leaves d_acts all zero (tested).
    Workspace& ws = workspace(n, 0);
    // The gradient accumulates into d_params: zeros, which update() leaves.
    if (!grads_zero_) std::memset(d_params, 0, sizeof(float) * count);
    grads_zero_ = false;
    blas::SequentialScope sequential;  // as the built-ins: one BLAS thread per part
    define::BatchWeightsScope weights(w);
    return def_->grad_f(def_->instance.get(), p, ws.acts.data(), x, y, n, d_params, ws.d_acts.data());
  }
  // Data parallel over the batch: part q takes samples [start(q), start(q+1)).
  auto start = [&](int q) { return static_cast<int>(int64_t{n} * q / parts); };
  if (static_cast<int>(part_grads_.size()) < parts) part_grads_.resize(parts);
  for (int q = 0; q < parts; ++q) {
    workspace(start(q + 1) - start(q), q);  // created here, not on the worker threads
    if (static_cast<int64_t>(part_grads_[q].size()) != count) part_grads_[q].assign(count, 0.f);
  }
  float losses[kMaxParts] = {};
  // An exception must not leave a worker thread (it would terminate the
  // process): each part keeps its own, rethrown here after the parts are done.
  std::exception_ptr errors[kMaxParts];
  const int64_t xw = def_->inputs, yw = def_->target_width;
  kernels::parallel_parts(parts, parts, [&](int q) {
    try {
      blas::SequentialScope sequential;
      const int b0 = start(q), nb = start(q + 1) - b0;
      Workspace& ws = workspaces_.find({nb, q})->second;
      float* g = part_grads_[q].data();
      std::memset(g, 0, sizeof(float) * count);
      // Each part's loss is the mean of w_i l_i over its samples, so the
      // shares below make the batch's mean of w_i l_i.
      define::BatchWeightsScope weights(w ? w + b0 : nullptr);
      losses[q] = def_->grad_f(def_->instance.get(), p, ws.acts.data(), x + b0 * xw, y + b0 * yw, nb, g,
                               ws.d_acts.data());
    } catch (...) {
      errors[q] = std::current_exception();
    }
  });
  for (int q = 0; q < parts; ++q)
    if (errors[q]) std::rethrow_exception(errors[q]);
  // Written, not accumulated: part 0's share, then the others added.
  grads_zero_ = false;
  float loss = 0;
  for (int q = 0; q < parts; ++q) {
    const float share = float(start(q + 1) - start(q)) / float(n);
    const float* g = part_grads_[q].data();
    if (q == 0)
      for (int64_t i = 0; i < count; ++i) d_params[i] = share * g[i];
    else
      for (int64_t i = 0; i < count; ++i) d_params[i] += share * g[i];
    loss += share * losses[q];
  }
  return loss;
}

void DefinedModel::update(FlatOptimizer& optimizer) {
  optimizer.step_and_clear(params_.data_ptr<float>(), grads_.data_ptr<float>());
  grads_zero_ = true;
}

float DefinedModel::fused_step(const float* x, const float* y, const float* w, FlatOptimizer& optimizer) {
  check_alive();
  TORCH_CHECK(def_->weights_read_once, "fused_step: model '", def_->name,
              "' does not declare that only their own layers read its weights (weights_read_once)");
  if (fused_ == Fused::kRefused) {  // as a fused step gives it, when it can
    const float loss = loss_and_grad(x, y, 1, w);
    update(optimizer);
    return loss;
  }
  if (fused_ == Fused::kUnchecked) {
    // The first step is a plain one that checks what weights_read_once
    // promises: each weight's gradient is its layer's term alone.
    OfferedWeights offered(grads_.data_ptr<float>());
    float loss;
    {
      define::FusedWeightUpdateScope scope(&offered);
      loss = loss_and_grad(x, y, 1, w);
    }
    if (const auto* p = offered.first_read_elsewhere(*def_, grads_.data_ptr<float>())) {
      fused_ = Fused::kRefused;
      std::cerr << "torchclad: model '" << def_->name
                << "' declares weights_read_once(), but the gradient of '" << p->name
                << "' is not its layer's term alone (another layer reads the weight, or the loss "
                << "adds to it); its steps stay unfused\n";
    } else {
      fused_ = Fused::kChecked;
    }
    update(optimizer);
    return loss;
  }
  float* p = params_.data_ptr<float>();
  float* d_params = grads_.data_ptr<float>();
  if (!grads_zero_) std::memset(d_params, 0, sizeof(float) * params_.numel());
  grads_zero_ = false;
  Workspace& ws = workspace(1, 0);
  optimizer.begin_step();
  StepUpdate update(optimizer, p, d_params, params_.numel());
  float loss;
  {
    define::FusedWeightUpdateScope fused(&update);
    blas::SequentialScope sequential;
    define::BatchWeightsScope weights(w);
    loss = def_->grad_f(def_->instance.get(), p, ws.acts.data(), x, y, 1, d_params, ws.d_acts.data());
  }
  update.finish();  // clears what it reads: the weights' slots were never written
  grads_zero_ = true;
  return loss;
}

double DefinedModel::loss_and_grad_double(const double* params, const double* x, const double* y, int n,
                                          double* d_params, const double* w) {
  check_alive();
  define::BatchWeightsScope weights(w);
  std::vector<double> acts(static_cast<size_t>(def_->acts_per_sample) * n, 0.0), d_acts(acts.size(), 0.0);
  return def_->grad_d(def_->instance.get(), params, acts.data(), x, y, n, d_params, d_acts.data());
}

double DefinedModel::loss_double(const double* params, const double* x, const double* y, int n,
                                 const double* w) {
  check_alive();
  define::BatchWeightsScope weights(w);
  std::vector<double> acts(static_cast<size_t>(def_->acts_per_sample) * n, 0.0);
  return def_->loss_d(def_->instance.get(), params, acts.data(), x, y, n);
}

double DefinedModel::loss_and_outputs(const torch::Tensor& x, const torch::Tensor& y, torch::Tensor* outputs,
                                      const torch::Tensor& weights) {
  check_alive();
  const auto& d = *def_;
  TORCH_CHECK(x.dim() == 2 && x.size(1) == d.inputs, "model '", d.name, "': input must be [n, ", d.inputs,
              "], found ", x.sizes());
  auto input = x.to(torch::kFloat32).contiguous();
  const int64_t n = input.size(0);
  torch::Tensor target = y.defined() ? y.to(torch::kFloat32).contiguous().view({n, -1})
                                     : torch::zeros({n, d.target_width}, torch::kFloat32);
  TORCH_CHECK(target.size(0) == n && target.size(1) == d.target_width, "model '", d.name,
              "': targets must be [", n, ", ", d.target_width, "], found ", y.sizes());
  torch::Tensor factors;  // weight / mean weight: the chunks' means of w_i l_i make sum(w l) / sum(w)
  if (weights.defined()) {
    TORCH_CHECK(weights.numel() == n, "model '", d.name, "': ", n, " samples need as many weights, found ",
                weights.numel());
    const double total = weights.to(torch::kFloat64).sum().item<double>();
    TORCH_CHECK(total > 0 && std::isfinite(total), "model '", d.name, "': the per-event weights sum to ",
                total, "; a weighted mean needs a positive sum");
    factors =
        (weights.to(torch::kFloat64).reshape({n}) * (double(n) / total)).to(torch::kFloat32).contiguous();
  }
  if (outputs) *outputs = torch::empty({n, d.output_width}, torch::kFloat32);
  constexpr int64_t kChunk = 256;
  double total = 0;
  blas::SequentialScope sequential;
  for (int64_t s = 0; s < n; s += kChunk) {
    const int m = static_cast<int>(std::min(kChunk, n - s));
    Workspace& ws = workspace(m, 0);
    define::BatchWeightsScope scope(factors.defined() ? factors.data_ptr<float>() + s : nullptr);
    total += m * double(d.loss_f(d.instance.get(), params_.data_ptr<float>(), ws.acts.data(),
                                 input.data_ptr<float>() + s * d.inputs,
                                 target.data_ptr<float>() + s * d.target_width, m));
    if (outputs)
      std::memcpy(outputs->data_ptr<float>() + s * d.output_width,
                  ws.acts.data() + int64_t{m} * d.output_offset, sizeof(float) * m * d.output_width);
  }
  return n ? total / n : 0.0;
}

torch::Tensor DefinedModel::forward(const torch::Tensor& x) {
  torch::Tensor out;
  loss_and_outputs(x, torch::Tensor(), &out);
  return out;
}

}  // namespace torchclad
