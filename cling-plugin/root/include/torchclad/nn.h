// torchclad/nn.h: define your own model in C++; Clad writes its backward pass.
//
// A model is a struct. Its members declare parameters (by name, shape and
// initialisation: Linear, Conv1d, Param) and activation buffers (Act), in
// member initialisers or in the constructor (a loop over layers assigns
// `fc[l] = nn::Linear(...)`); a static function `loss` computes
// the forward pass and the loss from building blocks and your own code. Clad
// differentiates `loss` where the struct is compiled (a %%clad cell, a macro
// compiled with Clad, your program), and TORCHCLAD_MODEL registers it by name:
//
//   namespace nn = torchclad::nn;
//   struct TwoLayers : nn::Model {
//     nn::Linear fc1{"fc1", 784, 128};   // declares fc1.weight [128, 784], fc1.bias [128]
//     nn::Act h{128}, r{128};            // activation buffers, values per sample
//     nn::Linear fc2{"fc2", 128, 10};
//     nn::Act out{10};
//     TwoLayers() { inputs(784); classes(10); output(out); }
//     template <class T>  // float for training, double for check_gradients
//     static T loss(const TwoLayers& m, const T* p, T* a, const T* x, const T* y, int n) {
//       nn::linear(m.fc1, p, x, a, m.h, n);      // from the input batch x
//       nn::relu(a, m.h, m.r, n);
//       nn::linear(m.fc2, p, a, m.r, m.out, n);  // from an activation
//       return nn::cross_entropy(a, m.out, y, n);
//     }
//   };
//   TORCHCLAD_MODEL(two_layers, TwoLayers)
//
// Then, in C++17 (a plain cell): auto m = torchclad::model("two_layers");
//
// Elementwise blocks here: relu, tanh, sigmoid, and the smooth activations of
// pretrained models, elu, gelu, gelu_tanh, silu, softplus, hard_sigmoid,
// hard_swish (each with its own pullback).
// Blocks for the operators of imported models (Conv2d, strided and padded
// convolutions and pooling, LeakyReLU, Softmax, BatchNorm, broadcasting
// add/sub/mul/div, concat, constants) are in torchclad/nn_onnx.h, included below.
//
// This header is for compiled code (a %%clad cell, torchclad::load_models, a
// program built with the Clad plugin); cling's plain cells use
// torchclad/model.h. TORCHCLAD_ACTIVATION, TORCHCLAD_LOSS and TORCHCLAD_MODEL
// are written at global scope.
//
// Rules that keep Clad's backward pass correct and allocation-free:
// - p is the flat parameter buffer, a the activation buffer, x the input batch
//   [n, inputs], y the targets; n the batch size. Handles (Linear, Act, ...)
//   say where things live; blocks take them.
// - Write every activation buffer once per forward pass (an Act is an SSA
//   value): a block's pullback reads its inputs after the forward pass.
// - Your own elementwise functions and losses: write them as scalar templates
//   and wrap them with TORCHCLAD_ACTIVATION / TORCHCLAD_LOSS (below), which
//   make a block whose pullback is Clad's derivative of your function.
// - The struct is copied in every step: it holds handles and numbers only
//   (TORCHCLAD_MODEL checks that it is trivially copyable).
// - output() names an activation a block writes and the loss depends on
//   (checked at registration, with the other checks of a dry run of loss).
//   Errors name an activation by nn::Act(width, "name"), else by the member
//   built with it (read from the source file), else by its place and width.
#ifndef TORCHCLAD_NN_H
#define TORCHCLAD_NN_H
// Warnings in compiled cells and macros are the user's own, not this header's.
#pragma GCC system_header

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "clad/Differentiator/Differentiator.h"
#include "define/batch_weights.hpp"
#include "define/definition.hpp"
#include "define/fused_weight_update.hpp"
#include "kernels/activations.hpp"
#include "kernels/binary_losses.hpp"
#include "kernels/layout.hpp"
#include "kernels/conv1d.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/linear.hpp"
#include "kernels/losses.hpp"
#include "kernels/pooling.hpp"

namespace torchclad::nn {

using define::Init;

// A definition's mistake found by a block (a shape mismatch between layers, a
// handle used before it is declared); names the layer through its id.
struct LayerError : std::invalid_argument {
  LayerError(int layer, const std::string& what) : std::invalid_argument(what), id(layer) {}
  int id;
};

namespace detail {

// The definition being declared on this thread (set while TORCHCLAD_MODEL
// constructs the struct).
inline define::Definition*& declaring() {
  static thread_local define::Definition* def = nullptr;
  return def;
}

inline define::Definition& current(const char* what) {
  if (!declaring())
    throw std::logic_error(std::string("torchclad::nn::Model::") + what +
                           " declares a model's part: call it in the constructor of a struct "
                           "registered with TORCHCLAD_MODEL");
  return *declaring();
}

// True while a step's loss value is computed after its gradient: the
// gradient's forward sweep has filled every activation, so the layer blocks
// return at once and only the loss blocks (and the user's own scalar code)
// run. Clad's gradient runs the forward pass once and returns no value; this
// gives the value without a second forward pass.
inline bool& replaying() {
  static thread_local bool on = false;
  return on;
}

inline int add_layer(define::Definition& d, const std::string& name) {
  for (const auto& l : d.layers)
    if (!name.empty() && l == name) throw std::invalid_argument("the name '" + name + "' is declared twice");
  d.layers.push_back(name);
  return static_cast<int>(d.layers.size()) - 1;
}

inline long add_param(define::Definition& d, const std::string& name, std::vector<int64_t> shape, Init init,
                      int64_t fan_in, int64_t fan_out) {
  int64_t numel = 1;
  for (auto s : shape) {
    if (s < 1) throw std::invalid_argument("parameter '" + name + "' has a dimension < 1");
    numel *= s;
  }
  define::ParamSpec p;
  p.name = name;
  p.shape = std::move(shape);
  p.offset = d.param_count;
  p.numel = numel;
  p.init = init;
  p.fan_in = fan_in;
  p.fan_out = fan_out;
  d.params.push_back(p);
  d.param_count += numel;
  return static_cast<long>(p.offset);
}

inline long add_act(define::Definition& d, long width) {
  const long off = static_cast<long>(d.acts_per_sample);
  d.acts_per_sample += width;
  return off;
}

// The activations the constructor declares (where each handle was built, to
// name it after the member that holds it) and the one output() names.
struct DeclaredActs {
  struct One {
    int id;
    const void* where;
    int width;
  };
  std::vector<One> acts;
  int output = -1;
};
inline DeclaredActs& declared_acts() {
  static thread_local DeclaredActs d;
  return d;
}
// The name an Act without a name has until the definition names it.
inline const char* kUnnamedAct = "activation #";
inline bool unnamed_act(const std::string& name) { return name.rfind(kUnnamedAct, 0) == 0; }

// Checks in the blocks build their message only when they fail: a step
// allocates nothing.
#define TORCHCLAD_NN_NEED(ok, id, what)                     \
  do {                                                      \
    if (!(ok)) throw ::torchclad::nn::LayerError(id, what); \
  } while (0)
inline std::string str(long v) { return std::to_string(v); }

}  // namespace detail

// Handles: where a layer's parameters and an activation live. Constructed
// with arguments (in a definition's constructor or member initialisers) they
// declare that part of the model; default-constructed they are "not declared
// yet", which the blocks report. Plain numbers, so Clad passes them through.

// An activation buffer: `width` values per sample (it lives at a + n * off
// for a batch of n).
struct Act {
  long off = -1;
  int width = 0;
  int id = -1;
  Act() = default;
  explicit Act(int width, const std::string& name = "") {
    auto& d = detail::current("Act");
    if (width < 1)
      throw std::invalid_argument((name.empty() ? std::string("an nn::Act") : "Act '" + name + "'") +
                                  ": width must be >= 1, found " + std::to_string(width));
    this->width = width;
    id = detail::add_layer(d, name.empty() ? detail::kUnnamedAct + std::to_string(d.layers.size()) : name);
    off = detail::add_act(d, width);
    detail::declared_acts().acts.push_back({id, this, width});
  }
};
// The tag of a Linear without bias: nn::Linear("fc", 8, 2, nn::no_bias).
struct NoBias {};
inline constexpr NoBias no_bias{};
// torch.nn.Linear(in, out) named `name`: parameters name.weight [out, in]
// at p + w and name.bias [out] at p + b (b = -1 with nn::no_bias,
// torch.nn.Linear(in, out, bias=False), ONNX Gemm without C or a MatMul).
struct Linear {
  long w = -1, b = -1;
  int in = 0, out = 0, id = -1;
  Linear() = default;
  Linear(const std::string& name, int in, int out, Init weight = Init::kTorchDefault,
         Init bias = Init::kTorchDefault) {
    auto& d = detail::current("Linear");
    if (in < 1 || out < 1)
      throw std::invalid_argument("Linear '" + name + "': widths must be >= 1, found " + std::to_string(in) +
                                  " -> " + std::to_string(out));
    this->in = in;
    this->out = out;
    id = detail::add_layer(d, name);
    w = detail::add_param(d, name + ".weight", {out, in}, weight, in, out);
    b = detail::add_param(d, name + ".bias", {out}, bias, in, out);
  }
  Linear(const std::string& name, int in, int out, NoBias, Init weight = Init::kTorchDefault) {
    auto& d = detail::current("Linear");
    if (in < 1 || out < 1)
      throw std::invalid_argument("Linear '" + name + "': widths must be >= 1, found " + std::to_string(in) +
                                  " -> " + std::to_string(out));
    this->in = in;
    this->out = out;
    id = detail::add_layer(d, name);
    w = detail::add_param(d, name + ".weight", {out, in}, weight, in, out);
  }
};
// Conv1d options beyond kernel size (a C++17 aggregate: nn::ConvOptions{2, 1}
// is stride 2, padding 1). padding_end -1: as padding (ONNX's pads may differ
// at the end); bias false: no name.bias parameter (ONNX Conv without B);
// groups: channels in independent groups (groups = cin: depthwise).
struct ConvOptions {
  int stride = 1, padding = 0, dilation = 1, padding_end = -1;
  bool bias = true;
  int groups = 1;
};
// torch.nn.Conv1d(cin, cout, k, stride, padding, dilation, groups) on inputs
// of `length` values per channel: name.weight [cout, cin / groups, k],
// name.bias [cout].
// Activations of convolution layers are channel-major, [channels, n,
// length], so that one GEMM covers the batch.
struct Conv1d {
  long w = -1, b = -1;
  int cin = 0, cout = 0, k = 0, lin = 0, lout = 0, id = -1;
  long col = -1;  // its im2col scratch in the activation buffer
  int stride = 1, pad = 0, pad_end = 0, dilation = 1, groups = 1;
  // Not stride 1, no padding, no dilation, one group, with a bias: the strided kernel
  // (kernels/conv2d.hpp) instead of kernels/conv1d.hpp.
  bool general = false;
  Conv1d() = default;
  Conv1d(const std::string& name, int cin, int cout, int k, int length, ConvOptions opt = {}) {
    auto& d = detail::current("Conv1d");
    const int pe = opt.padding_end < 0 ? opt.padding : opt.padding_end;
    const int lo = ::torchclad::kernels::conv_out_size(length, k, std::max(opt.stride, 1), opt.padding, pe,
                                                       std::max(opt.dilation, 1));
    if (cin < 1 || cout < 1 || k < 1 || opt.stride < 1 || opt.dilation < 1 || opt.padding < 0 || pe < 0 ||
        lo < 1 || opt.groups < 1 || cin % opt.groups != 0 || cout % opt.groups != 0)
      throw std::invalid_argument(
          "Conv1d '" + name +
          "': needs channels >= 1 that the groups divide, k >= 1, stride >= 1, "
          "dilation >= 1, padding >= 0 and a kernel that fits the padded length, found groups " +
          std::to_string(opt.groups) + ", cin " + std::to_string(cin) + ", cout " + std::to_string(cout) +
          ", k " + std::to_string(k) + ", length " + std::to_string(length) + ", stride " +
          std::to_string(opt.stride) + ", padding " + std::to_string(opt.padding) + "/" + std::to_string(pe) +
          ", dilation " + std::to_string(opt.dilation));
    this->cin = cin;
    this->cout = cout;
    this->k = k;
    lin = length;
    lout = lo;
    stride = opt.stride;
    pad = opt.padding;
    pad_end = pe;
    dilation = opt.dilation;
    groups = opt.groups;
    general = stride != 1 || pad != 0 || pad_end != 0 || dilation != 1 || groups != 1 || !opt.bias;
    id = detail::add_layer(d, name);
    const int cg = cin / groups;  // fans as PyTorch computes them from the weight's shape
    w = detail::add_param(d, name + ".weight", {cout, cg, k}, Init::kTorchDefault, cg * k, cout * k);
    if (opt.bias) b = detail::add_param(d, name + ".bias", {cout}, Init::kTorchDefault, cg * k, cout * k);
    col = detail::add_act(d, long{cin} * k * lout);  // at most one sample's columns each
  }
};
// Any other parameter tensor: `size` values at p + off.
struct Param {
  long off = -1;
  long size = 0;
  int id = -1;
  Param() = default;
  Param(const std::string& name, std::vector<int64_t> shape, Init init = Init::kTorchDefault) {
    auto& d = detail::current("Param");
    const int64_t fan_out = shape.empty() ? 1 : shape[0];
    int64_t fan_in = 1;
    for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
    id = detail::add_layer(d, name);
    off = detail::add_param(d, name, std::move(shape), init, fan_in, fan_out);
    size = static_cast<long>(d.params.back().numel);
  }
};

// The base of a definition: what its constructor declares besides layers.
struct Model {
 protected:
  // Features per sample of the input batch x.
  static void inputs(int features) { detail::current("inputs").inputs = features; }
  // Targets: class indices in [0, k) (y[n]).
  static void classes(int k) {
    auto& d = detail::current("classes");
    d.targets = define::Targets::kClassIndex;
    d.classes = k;
    d.target_width = 1;
  }
  // Targets: 0 or 1 (y[n]); the output is one logit.
  static void binary() {
    auto& d = detail::current("binary");
    d.targets = define::Targets::kBinary;
    d.classes = 2;
    d.target_width = 1;
  }
  // Targets: `width` real values per sample (y[n, width]).
  static void regression(int width = 1) {
    auto& d = detail::current("regression");
    d.targets = define::Targets::kRegression;
    d.classes = 0;
    d.target_width = width;
  }
  // A promise that makes steps at batch 1 faster: each Linear weight is read
  // by its own layer alone (no weight shared by two layers, no term of the
  // loss on a weight, such as a penalty). A step of one sample then updates
  // those weights in their layers' pullbacks, never storing their gradient.
  // The first such step checks the promise (each weight's gradient is its
  // layer's term alone) and, if it does not hold, says so and steps as
  // without it; a term that happens to be zero at that step goes unseen, so
  // leave this out when the loss reads weights.
  static void weights_read_once() { detail::current("weights_read_once").weights_read_once = true; }
  // The activation that predict() returns (logits, a logit, or the regression output).
  static void output(const Act& a) {
    auto& d = detail::current("output");
    d.output_offset = a.off;
    d.output_width = a.width;
    detail::declared_acts().output = a.id;
  }
};

namespace detail {
inline void reads(const Act& x, int id);
// A block's activation argument: declared; an input (any role but "the
// output") is also read, so it must have been written (checked in a dry run).
inline void declared(const Act& a, int id, const char* role) {
  TORCHCLAD_NN_NEED(a.id >= 0, id, std::string(role) + " is an activation used before it is declared");
  if (std::strcmp(role, "the output") != 0) reads(a, id);
}

// While TORCHCLAD_MODEL checks a definition (a dry run of loss at
// registration), the blocks also check what only the definition knows: the
// widths they read from x and y, and that each activation is written once.
// Outside a dry run these checks cost a thread-local load.
struct DryRun {
  const define::Definition* def = nullptr;
  std::vector<char> written;              // per layer id
  std::vector<std::vector<int>> read_by;  // per activation: the activations its block read
  std::vector<int> reading;               // what the current block has read so far
  std::vector<int> compared;              // the activations a loss block compared with the targets
};
inline DryRun*& dry_run() {
  static thread_local DryRun* state = nullptr;
  return state;
}
// The block of layer `id` writes activation y.
inline void writes(const Act& y, int id) {
  if (DryRun* d = dry_run()) {
    if (d->written.size() < d->def->layers.size()) d->written.resize(d->def->layers.size(), 0);
    TORCHCLAD_NN_NEED(!d->written[y.id], id,
                      "writes the activation '" + d->def->layers[y.id] +
                          "', which an earlier block wrote: write each activation once per pass "
                          "(a block's backward pass reads its input after the forward pass)");
    d->written[y.id] = 1;
    if (d->read_by.size() <= static_cast<size_t>(y.id)) d->read_by.resize(y.id + 1);
    d->read_by[y.id] = std::move(d->reading);
    d->reading.clear();
  }
}
// The block of layer `id` reads activation x: some block must have written
// it earlier in the pass (a forgotten activation line reads zeros, and the
// layers before it get no gradient).
inline void reads(const Act& x, int id) {
  if (DryRun* d = dry_run()) {
    const bool written = x.id < static_cast<int>(d->written.size()) && d->written[x.id];
    TORCHCLAD_NN_NEED(written, id,
                      "reads the activation '" + d->def->layers[x.id] +
                          "' before any block writes it: the block that writes it is missing from "
                          "loss(), or comes after this one");
    d->reading.push_back(x.id);
  }
}
// The block of layer `id` reads `width` values per sample of the input batch x.
inline void reads_input(int width, int id) {
  if (DryRun* d = dry_run())
    TORCHCLAD_NN_NEED(width == d->def->inputs, id,
                      "reads " + str(width) +
                          " values per sample of the input x, but the model "
                          "declares inputs(" +
                          str(d->def->inputs) + ")");
}
// A loss block compares `width` values per sample with the targets y.
inline void reads_targets(int width, int id, bool class_index) {
  if (DryRun* d = dry_run()) {
    d->compared.push_back(id);
    d->reading.clear();
    if (class_index)
      TORCHCLAD_NN_NEED(d->def->targets == define::Targets::kClassIndex && width == d->def->classes, id,
                        "cross_entropy over " + str(width) + " logits, but the model declares " +
                            (d->def->targets == define::Targets::kClassIndex
                                 ? "classes(" + str(d->def->classes) + ")"
                                 : std::string("no class targets (classes(k))")));
    else
      TORCHCLAD_NN_NEED(width == d->def->target_width, id,
                        "compares " + str(width) +
                            " values per sample with the targets, but the "
                            "model declares " +
                            str(d->def->target_width) + " target value(s) per sample");
  }
}
}  // namespace detail

// ---- Building blocks. Each has a custom pullback (below), so Clad calls it
// instead of differentiating the loop, and nothing is recorded per step.

namespace detail {
// y[m, n] = x[m, k] · w[n, k]ᵀ (a Linear without bias).
template <typename T>
void linear_no_bias(const T* x, const T* w, T* y, int m, int n, int k) {
  ::torchclad::blas::gemm(false, true, m, n, k, T(1), x, k, w, k, T(0), y, n);
}
}  // namespace detail

// y = x · Wᵀ + b from the input batch x [n, in].
template <typename T>
void linear(Linear l, const T* p, const T* x, T* a, Act y, int n) {
  if (detail::replaying()) return;
  TORCHCLAD_NN_NEED(l.id >= 0, l.id, "a Linear layer is used before it is declared");
  detail::declared(y, l.id, "the output");
  TORCHCLAD_NN_NEED(
      y.width == l.out, l.id,
      "output activation has width " + detail::str(y.width) + ", the layer gives " + detail::str(l.out));
  detail::reads_input(l.in, l.id);
  detail::writes(y, l.id);
  if (l.b < 0)
    detail::linear_no_bias(x, p + l.w, a + long{n} * y.off, n, l.out, l.in);
  else
    ::torchclad::kernels::linear_forward(x, p + l.w, p + l.b, a + long{n} * y.off, n, l.out, l.in);
}
// y = x · Wᵀ + b from an activation x.
template <typename T>
void linear(Linear l, const T* p, T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  TORCHCLAD_NN_NEED(l.id >= 0, l.id, "a Linear layer is used before it is declared");
  detail::declared(x, l.id, "the input");
  detail::declared(y, l.id, "the output");
  TORCHCLAD_NN_NEED(x.width == l.in, l.id,
                    "input has width " + detail::str(x.width) + ", the layer expects " + detail::str(l.in));
  TORCHCLAD_NN_NEED(
      y.width == l.out, l.id,
      "output activation has width " + detail::str(y.width) + ", the layer gives " + detail::str(l.out));
  detail::writes(y, l.id);
  if (l.b < 0)
    detail::linear_no_bias(a + long{n} * x.off, p + l.w, a + long{n} * y.off, n, l.out, l.in);
  else
    ::torchclad::kernels::linear_forward(a + long{n} * x.off, p + l.w, p + l.b, a + long{n} * y.off, n, l.out,
                                         l.in);
}

namespace detail {
template <typename T>
void same_width(const Act& x, const Act& y) {
  declared(x, y.id, "the input");
  declared(y, x.id, "the output");
  TORCHCLAD_NN_NEED(x.width == y.width, y.id,
                    "elementwise input has width " + str(x.width) + ", the output " + str(y.width));
}
}  // namespace detail

template <typename T>
void relu(T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::same_width<T>(x, y);
  detail::writes(y, y.id);
  ::torchclad::kernels::relu_forward(a + long{n} * x.off, a + long{n} * y.off, n * x.width);
}
template <typename T>
void tanh(T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::same_width<T>(x, y);
  detail::writes(y, y.id);
  ::torchclad::kernels::tanh_forward(a + long{n} * x.off, a + long{n} * y.off, n * x.width);
}
template <typename T>
void sigmoid(T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::same_width<T>(x, y);
  detail::writes(y, y.id);
  ::torchclad::kernels::sigmoid_forward(a + long{n} * x.off, a + long{n} * y.off, n * x.width);
}

// Smooth activations of pretrained models, as PyTorch's: ELU(alpha), GELU
// (exact, with erf; gelu_tanh: approximate='tanh'), SiLU / Swish, Softplus
// (beta, threshold: PyTorch's defaults are 1 and 20), HardSigmoid (alpha,
// beta: PyTorch's Hardsigmoid is 1/6, 1/2) and HardSwish. Each has a
// hand-written pullback with the derivative PyTorch's autograd uses
// (kernels/activations.hpp), so Clad records nothing for them.
namespace detail {
template <typename T, class F>
void apply_elementwise(T* a, const Act& x, const Act& y, int n, F f) {
  same_width<T>(x, y);
  writes(y, y.id);
  const T* xv = a + long{n} * x.off;
  T* yv = a + long{n} * y.off;
  for (long i = 0; i < long{n} * x.width; ++i) yv[i] = f(xv[i]);
}
}  // namespace detail
template <typename T>
void elu(T* a, Act x, Act y, double alpha, int n) {
  if (detail::replaying()) return;
  const T s = static_cast<T>(alpha);
  detail::apply_elementwise(a, x, y, n, [s](T v) { return ::torchclad::kernels::elu_scalar(v, s); });
}
template <typename T>
void gelu(T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::apply_elementwise(a, x, y, n, [](T v) { return ::torchclad::kernels::gelu_scalar(v); });
}
template <typename T>
void gelu_tanh(T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::apply_elementwise(a, x, y, n, [](T v) { return ::torchclad::kernels::gelu_tanh_scalar(v); });
}
template <typename T>
void silu(T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::apply_elementwise(a, x, y, n, [](T v) { return ::torchclad::kernels::silu_scalar(v); });
}
template <typename T>
void softplus(T* a, Act x, Act y, double beta, double threshold, int n) {
  if (detail::replaying()) return;
  TORCHCLAD_NN_NEED(beta > 0, y.id, "softplus: beta must be > 0, found " + std::to_string(beta));
  const T b = static_cast<T>(beta), t = static_cast<T>(threshold);
  detail::apply_elementwise(a, x, y, n,
                            [b, t](T v) { return ::torchclad::kernels::softplus_scalar(v, b, t); });
}
template <typename T>
void hard_sigmoid(T* a, Act x, Act y, double alpha, double beta, int n) {
  if (detail::replaying()) return;
  const T al = static_cast<T>(alpha), be = static_cast<T>(beta);
  detail::apply_elementwise(a, x, y, n,
                            [al, be](T v) { return ::torchclad::kernels::hard_sigmoid_scalar(v, al, be); });
}
template <typename T>
void hard_swish(T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::apply_elementwise(a, x, y, n, [](T v) { return ::torchclad::kernels::hard_swish_scalar(v); });
}

namespace detail {
// A Conv1d as the strided kernel's shape (h = 1); batch_major: the input batch.
inline ::torchclad::kernels::Conv2dShape conv1d_shape(const Conv1d& c, bool batch_major) {
  ::torchclad::kernels::Conv2dShape s;
  s.cin = c.cin;
  s.w = c.lin;
  s.cout = c.cout;
  s.kw = c.k;
  s.sw = c.stride;
  s.pw = c.pad;
  s.dw = c.dilation;
  s.wout = c.lout;
  s.groups = c.groups;
  s.batch_major_input = batch_major;
  return s;
}
template <typename T>
const T* bias_or_null(const T* p, long b) {
  return b >= 0 ? p + b : nullptr;
}
template <typename T>
T* bias_or_null(T* p, long b) {
  return b >= 0 ? p + b : nullptr;
}
}  // namespace detail

// Conv1d on the input batch x [n, cin, lin] (PyTorch's order; with one
// channel the same as channel-major): y [cout, n, lout].
template <typename T>
void conv1d(Conv1d c, const T* p, const T* x, T* a, Act y, int n) {
  if (detail::replaying()) return;
  TORCHCLAD_NN_NEED(c.id >= 0, c.id, "a Conv1d layer is used before it is declared");
  detail::declared(y, c.id, "the output");
  TORCHCLAD_NN_NEED(y.width == c.cout * c.lout, c.id,
                    "output activation has width " + detail::str(y.width) + ", the layer gives " +
                        detail::str(c.cout) + " x " + detail::str(c.lout));
  detail::reads_input(c.cin * c.lin, c.id);
  detail::writes(y, c.id);
  if (c.general || c.cin > 1)
    ::torchclad::kernels::conv2d_forward(x, p + c.w, detail::bias_or_null(p, c.b), a + long{n} * y.off,
                                         a + long{n} * c.col, n, detail::conv1d_shape(c, true));
  else
    ::torchclad::kernels::conv1d_forward(x, p + c.w, p + c.b, a + long{n} * y.off, a + long{n} * c.col, n,
                                         c.cin, c.lin, c.cout, c.k);
}
// Conv1d on an activation x [cin, n, lin].
template <typename T>
void conv1d(Conv1d c, const T* p, T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  TORCHCLAD_NN_NEED(c.id >= 0, c.id, "a Conv1d layer is used before it is declared");
  detail::declared(x, c.id, "the input");
  detail::declared(y, c.id, "the output");
  TORCHCLAD_NN_NEED(x.width == c.cin * c.lin, c.id,
                    "input has width " + detail::str(x.width) + ", the layer expects " + detail::str(c.cin) +
                        " x " + detail::str(c.lin));
  TORCHCLAD_NN_NEED(y.width == c.cout * c.lout, c.id,
                    "output activation has width " + detail::str(y.width) + ", the layer gives " +
                        detail::str(c.cout) + " x " + detail::str(c.lout));
  detail::writes(y, c.id);
  if (c.general)
    ::torchclad::kernels::conv2d_forward(a + long{n} * x.off, p + c.w, detail::bias_or_null(p, c.b),
                                         a + long{n} * y.off, a + long{n} * c.col, n,
                                         detail::conv1d_shape(c, false));
  else
    ::torchclad::kernels::conv1d_forward(a + long{n} * x.off, p + c.w, p + c.b, a + long{n} * y.off,
                                         a + long{n} * c.col, n, c.cin, c.lin, c.cout, c.k);
}
// MaxPool1d(pool) (stride = pool) over [channels, n, lin] -> [channels, n, lin / pool].
template <typename T>
void max_pool1d(T* a, Act x, Act y, int channels, int pool, int n) {
  if (detail::replaying()) return;
  detail::declared(x, y.id, "the input");
  detail::declared(y, x.id, "the output");
  const int lin = channels > 0 ? x.width / channels : 0;
  TORCHCLAD_NN_NEED(
      channels > 0 && pool > 0 && lin * channels == x.width && y.width == channels * (lin / pool), y.id,
      "max_pool1d of " + detail::str(x.width) + " values as " + detail::str(channels) +
          " channels with pool " + detail::str(pool) + " gives " +
          detail::str(channels * (pool > 0 ? lin / pool : 0)) + " values, the output has " +
          detail::str(y.width));
  detail::writes(y, y.id);
  ::torchclad::kernels::max_pool1d_forward(a + long{n} * x.off, a + long{n} * y.off, channels * n, lin, pool);
}
// Channel-major [channels, n, len] to PyTorch's flatten order [n, channels * len].
template <typename T>
void flatten(T* a, Act x, Act y, int channels, int n) {
  if (detail::replaying()) return;
  detail::same_width<T>(x, y);
  TORCHCLAD_NN_NEED(
      channels > 0 && x.width % channels == 0, y.id,
      "flatten: " + detail::str(x.width) + " values are not " + detail::str(channels) + " channels");
  detail::writes(y, y.id);
  ::torchclad::kernels::channels_to_batch_major(a + long{n} * x.off, a + long{n} * y.off, channels, n,
                                                x.width / channels);
}

// ---- Per-event weights. When the batch has weights (a Dataset with a
// weight column, in Model::fit and Model::evaluate), the engine sets one
// factor w_i per sample of the batch (define/batch_weights.hpp): the event's
// weight divided by the mean weight of its dataset, so that the mean of
// w_i * l_i over a batch estimates sum(weight * l) / sum(weight) over the
// dataset, and a negative weight subtracts its event's loss. Without weights
// w_i = 1. The loss blocks below take (1/n) sum_i w_i l_i.
namespace detail {
template <typename T>
inline const T* batch_weights();
template <>
inline const float* batch_weights<float>() {
  return define::batch_weights().f;
}
template <>
inline const double* batch_weights<double>() {
  return define::batch_weights().d;
}
}  // namespace detail
// The weight factor w_i of sample i of the batch (1 without weights), for a
// loss of your own: total += nn::weight(y, i) * my_term(...), then divide by
// T(n). (y, the targets, only gives the type.) It is data: nothing flows
// back through it.
template <typename T>
T weight(const T* y, int i) {
  (void)y;
  const T* w = detail::batch_weights<T>();
  return w ? w[i] : T(1);
}

// Losses (mean over the batch, as PyTorch's default reduction; weighted
// means with per-event weights, as above).
// Softmax cross-entropy of logits [n, classes] against class indices y[n].
template <typename T>
T cross_entropy(const T* a, Act logits, const T* y, int n) {
  detail::declared(logits, logits.id, "the logits");
  detail::reads_targets(logits.width, logits.id, true);
  const T* z = a + long{n} * logits.off;
  const T* w = detail::batch_weights<T>();
  const int c = logits.width;
  T total = T(0);
  for (int i = 0; i < n; ++i) {
    const int label = static_cast<int>(y[i]);
    TORCHCLAD_NN_NEED(label >= 0 && label < c, logits.id,
                      "cross_entropy: target " + detail::str(label) + " is not a class index in [0, " +
                          detail::str(c) + ")");
    const T l = ::torchclad::kernels::softmax_cross_entropy_row(z + long{i} * c, label, c);
    total += w ? w[i] * l : l;
  }
  return total / T(n);
}
// Binary cross-entropy on one logit per sample against y[n] in [0, 1].
template <typename T>
T bce_with_logits(const T* a, Act logit, const T* y, int n) {
  detail::declared(logit, logit.id, "the logit");
  TORCHCLAD_NN_NEED(logit.width == 1, logit.id,
                    "bce_with_logits: one logit per sample, found " + detail::str(logit.width));
  detail::reads_targets(logit.width, logit.id, false);
  const T* w = detail::batch_weights<T>();
  if (!w) return ::torchclad::kernels::binary_cross_entropy_with_logits(a + long{n} * logit.off, y, n);
  const T* z = a + long{n} * logit.off;
  T total = T(0);
  for (int i = 0; i < n; ++i) total += w[i] * ::torchclad::kernels::bce_with_logits_scalar(z[i], y[i]);
  return total / T(n);
}
// Mean squared error of pred [n, width] against y [n, width] (weighted: each
// sample's squared errors times its w_i, over n * width).
template <typename T>
T mse(const T* a, Act pred, const T* y, int n) {
  detail::declared(pred, pred.id, "the prediction");
  detail::reads_targets(pred.width, pred.id, false);
  const T* w = detail::batch_weights<T>();
  if (!w) return ::torchclad::kernels::mse(a + long{n} * pred.off, y, n * pred.width);
  const T* v = a + long{n} * pred.off;
  const int width = pred.width;
  T total = T(0);
  for (int i = 0; i < n; ++i) {
    T row = T(0);
    for (int j = 0; j < width; ++j) {
      const T d = v[long{i} * width + j] - y[long{i} * width + j];
      row += d * d;
    }
    total += w[i] * row;
  }
  return total / T(long{n} * width);
}
// Sums of squares for penalty terms (lambda * sum_of_squares(p, m.fc1)):
// of a Linear layer's weights, or of a Param.
template <typename T>
T sum_of_squares(const T* p, Linear l) {
  T s = T(0);
  for (long i = 0; i < long{l.in} * l.out; ++i) s += p[l.w + i] * p[l.w + i];
  return s;
}
template <typename T>
T sum_of_squares(const T* p, Param q) {
  T s = T(0);
  for (long i = 0; i < q.size; ++i) s += p[q.off + i] * p[q.off + i];
  return s;
}

}  // namespace torchclad::nn

// ---- The blocks' pullbacks (Clad's custom derivatives). The adjoints of the
// handles (Linear*, Act*, ...) are Clad's bookkeeping for the int fields and
// stay untouched.
namespace clad::custom_derivatives::torchclad::nn {
namespace tn = ::torchclad::nn;
namespace tk = ::torchclad::kernels;
namespace ck = ::clad::custom_derivatives::torchclad::kernels;

namespace detail {
// At batch 1 the engine may apply the optimizer to the weight here, where its
// gradient is dy ⊗ x (define/fused_weight_update.hpp): true if it did.
template <typename T>
bool weight_updated_here(tn::Linear l, T* d_p, const T* dy, const T* x, int n) {
  if constexpr (::std::is_same_v<T, float>) {
    if (n == 1)
      if (auto* update = ::torchclad::define::fused_weight_update())
        return update->apply(d_p + l.w, dy, x, l.out, l.in);
  }
  return false;
}
// dw += dyᵀ · x (unless the weight was updated here), db += Σ_rows dy, dy = 0.
template <typename T>
void linear_param_adjoints(tn::Linear l, const T* x, T* d_p, T* dy, int n) {
  if (!weight_updated_here(l, d_p, dy, x, n))
    ::torchclad::blas::gemm(true, false, l.out, l.in, n, T(1), dy, l.out, x, l.in, T(1), d_p + l.w, l.in);
  if (l.b >= 0)
    for (long i = 0; i < n; ++i)
      for (int j = 0; j < l.out; ++j) d_p[l.b + j] += dy[i * l.out + j];
  for (long i = 0; i < long{n} * l.out; ++i) dy[i] = T(0);
}
}  // namespace detail

template <typename T>
void linear_pullback(tn::Linear l, const T* p, const T* x, T* a, tn::Act y, int n, tn::Linear*, T* d_p,
                     T* d_a, tn::Act*, int*) {
  detail::linear_param_adjoints(l, x, d_p, d_a + long{n} * y.off, n);
}
// dx += dy · w first: a weight updated in linear_param_adjoints is read no more.
template <typename T>
void linear_pullback(tn::Linear l, const T* p, T* a, tn::Act x, tn::Act y, int n, tn::Linear*, T* d_p, T* d_a,
                     tn::Act*, tn::Act*, int*) {
  T* dy = d_a + long{n} * y.off;
  ::torchclad::blas::gemm(false, false, n, l.in, l.out, T(1), dy, l.out, p + l.w, l.in, T(1),
                          d_a + long{n} * x.off, l.in);
  detail::linear_param_adjoints(l, a + long{n} * x.off, d_p, dy, n);
}

namespace detail {
// dx += f'(x) * dy; dy = 0, for an elementwise f whose derivative is fprime.
template <typename T, typename D>
void elementwise_pullback(const T* a, T* d_a, tn::Act x, tn::Act y, int n, D fprime) {
  const T* xv = a + long{n} * x.off;
  T* dx = d_a + long{n} * x.off;
  T* dy = d_a + long{n} * y.off;
  for (long i = 0; i < long{n} * x.width; ++i) {
    dx[i] += fprime(xv[i], a[long{n} * y.off + i]) * dy[i];
    dy[i] = T(0);
  }
}
}  // namespace detail

template <typename T>
void relu_pullback(T* a, tn::Act x, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, int*) {
  detail::elementwise_pullback(a, d_a, x, y, n, [](T v, T) { return v > T(0) ? T(1) : T(0); });
}
template <typename T>
void tanh_pullback(T* a, tn::Act x, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, int*) {
  detail::elementwise_pullback(a, d_a, x, y, n, [](T, T t) { return T(1) - t * t; });
}
template <typename T>
void sigmoid_pullback(T* a, tn::Act x, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, int*) {
  detail::elementwise_pullback(a, d_a, x, y, n, [](T, T s) { return s * (T(1) - s); });
}

template <typename T>
void elu_pullback(T* a, tn::Act x, tn::Act y, double alpha, int n, T* d_a, tn::Act*, tn::Act*, double*,
                  int*) {
  const T s = static_cast<T>(alpha);
  detail::elementwise_pullback(a, d_a, x, y, n, [s](T v, T) { return tk::elu_derivative(v, s); });
}
template <typename T>
void gelu_pullback(T* a, tn::Act x, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, int*) {
  detail::elementwise_pullback(a, d_a, x, y, n, [](T v, T) { return tk::gelu_derivative(v); });
}
template <typename T>
void gelu_tanh_pullback(T* a, tn::Act x, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, int*) {
  detail::elementwise_pullback(a, d_a, x, y, n, [](T v, T) { return tk::gelu_tanh_derivative(v); });
}
template <typename T>
void silu_pullback(T* a, tn::Act x, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, int*) {
  detail::elementwise_pullback(a, d_a, x, y, n, [](T v, T) { return tk::silu_derivative(v); });
}
template <typename T>
void softplus_pullback(T* a, tn::Act x, tn::Act y, double beta, double threshold, int n, T* d_a, tn::Act*,
                       tn::Act*, double*, double*, int*) {
  const T b = static_cast<T>(beta), t = static_cast<T>(threshold);
  detail::elementwise_pullback(a, d_a, x, y, n, [b, t](T v, T) { return tk::softplus_derivative(v, b, t); });
}
template <typename T>
void hard_sigmoid_pullback(T* a, tn::Act x, tn::Act y, double alpha, double beta, int n, T* d_a, tn::Act*,
                           tn::Act*, double*, double*, int*) {
  const T al = static_cast<T>(alpha), be = static_cast<T>(beta);
  detail::elementwise_pullback(a, d_a, x, y, n,
                               [al, be](T v, T) { return tk::hard_sigmoid_derivative(v, al, be); });
}
template <typename T>
void hard_swish_pullback(T* a, tn::Act x, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, int*) {
  detail::elementwise_pullback(a, d_a, x, y, n, [](T v, T) { return tk::hard_swish_derivative(v); });
}

template <typename T>
void conv1d_pullback(tn::Conv1d c, const T* p, const T* x, T* a, tn::Act y, int n, tn::Conv1d*, T* d_p,
                     T* d_a, tn::Act*, int*) {
  T* dy = d_a + long{n} * y.off;
  if (c.general || c.cin > 1)
    tk::conv2d_backward<T>(x, p + c.w, dy, a + long{n} * c.col, n, tn::detail::conv1d_shape(c, true), nullptr,
                           d_p + c.w, tn::detail::bias_or_null(d_p, c.b));
  else
    tk::conv1d_backward<T>(x, p + c.w, dy, a + long{n} * c.col, n, c.cin, c.lin, c.cout, c.k, nullptr,
                           d_p + c.w, d_p + c.b);
  for (long i = 0; i < long{n} * y.width; ++i) dy[i] = T(0);
}
template <typename T>
void conv1d_pullback(tn::Conv1d c, const T* p, T* a, tn::Act x, tn::Act y, int n, tn::Conv1d*, T* d_p, T* d_a,
                     tn::Act*, tn::Act*, int*) {
  T* dy = d_a + long{n} * y.off;
  if (c.general)
    tk::conv2d_backward<T>(a + long{n} * x.off, p + c.w, dy, a + long{n} * c.col, n,
                           tn::detail::conv1d_shape(c, false), d_a + long{n} * x.off, d_p + c.w,
                           tn::detail::bias_or_null(d_p, c.b));
  else
    tk::conv1d_backward<T>(a + long{n} * x.off, p + c.w, dy, a + long{n} * c.col, n, c.cin, c.lin, c.cout,
                           c.k, d_a + long{n} * x.off, d_p + c.w, d_p + c.b);
  for (long i = 0; i < long{n} * y.width; ++i) dy[i] = T(0);
}
template <typename T>
void max_pool1d_pullback(T* a, tn::Act x, tn::Act y, int channels, int pool, int n, T* d_a, tn::Act*,
                         tn::Act*, int*, int*, int*) {
  const int lin = x.width / channels;
  ck::max_pool1d_forward_pullback<T>(a + long{n} * x.off, a + long{n} * y.off, channels * n, lin, pool,
                                     d_a + long{n} * x.off, d_a + long{n} * y.off, nullptr, nullptr, nullptr);
}
template <typename T>
void flatten_pullback(T* a, tn::Act x, tn::Act y, int channels, int n, T* d_a, tn::Act*, tn::Act*, int*,
                      int*) {
  ck::channels_to_batch_major_pullback<T>(a + long{n} * x.off, a + long{n} * y.off, channels, n,
                                          x.width / channels, d_a + long{n} * x.off, d_a + long{n} * y.off,
                                          nullptr, nullptr, nullptr);
}

// The weights are data: nothing flows back through nn::weight (the targets
// y are not differentiated; the overload with d_y is for a call where Clad
// takes them as active).
template <typename T>
void weight_pullback(const T*, int, T, int*) {}
template <typename T>
void weight_pullback(const T*, int, T, T*, int*) {}

template <typename T>
void cross_entropy_pullback(const T* a, tn::Act logits, const T* y, int n, T d_loss, T* d_a, tn::Act*, int*) {
  // d/dz of mean(w_i * -log softmax(z)[label]) = w_i * (softmax(z) - onehot) / n
  const int c = logits.width;
  const T* z = a + long{n} * logits.off;
  T* dz = d_a + long{n} * logits.off;
  const T* w = tn::detail::batch_weights<T>();
  for (int i = 0; i < n; ++i) {
    const T scale = w ? d_loss * w[i] / T(n) : d_loss / T(n);
    const T* row = z + long{i} * c;
    T* drow = dz + long{i} * c;
    const T shift = tk::row_max(row, c);
    T sum = T(0);
    for (int j = 0; j < c; ++j) sum += ::std::exp(row[j] - shift);
    for (int j = 0; j < c; ++j) drow[j] += scale * ::std::exp(row[j] - shift) / sum;
    drow[static_cast<int>(y[i])] -= scale;
  }
}
template <typename T>
void bce_with_logits_pullback(const T* a, tn::Act logit, const T* y, int n, T d_loss, T* d_a, tn::Act*,
                              int*) {
  const T* z = a + long{n} * logit.off;
  T* dz = d_a + long{n} * logit.off;
  const T* w = tn::detail::batch_weights<T>();
  const T scale = d_loss / T(n);
  for (int i = 0; i < n; ++i) dz[i] += (w ? scale * w[i] : scale) * (tk::sigmoid_scalar(z[i]) - y[i]);
}
template <typename T>
void mse_pullback(const T* a, tn::Act pred, const T* y, int n, T d_loss, T* d_a, tn::Act*, int*) {
  const long m = long{n} * pred.width;
  const T* v = a + long{n} * pred.off;
  T* dv = d_a + long{n} * pred.off;
  const T* w = tn::detail::batch_weights<T>();
  const T scale = T(2) * d_loss / T(m);
  for (long i = 0; i < m; ++i) dv[i] += (w ? scale * w[i / pred.width] : scale) * (v[i] - y[i]);
}
template <typename T>
void sum_of_squares_pullback(const T* p, tn::Linear l, T d_s, T* d_p, tn::Linear*) {
  for (long i = 0; i < long{l.in} * l.out; ++i) d_p[l.w + i] += T(2) * d_s * p[l.w + i];
}
template <typename T>
void sum_of_squares_pullback(const T* p, tn::Param q, T d_s, T* d_p, tn::Param*) {
  for (long i = 0; i < q.size; ++i) d_p[q.off + i] += T(2) * d_s * p[q.off + i];
}

}  // namespace clad::custom_derivatives::torchclad::nn

// Blocks for the operators of imported models (Conv2d, pooling, BatchNorm, ...).
#include "nn_onnx.h"

// ---- Your own scalar code as blocks.
//
// TORCHCLAD_ACTIVATION(f), for `template <class T> T f(T v)`, makes the block
// apply_f(a, x, y, n): y = f(x) elementwise; its pullback uses Clad's
// derivative of f. (The derivative is requested in plain functions so that
// Clad sees the request when the file compiles.)
// Cling (a cell's dictionary) only needs the blocks' declarations; the
// derivatives belong to the compiled library.
#if defined(__CLING__)
#define TORCHCLAD_ACTIVATION(f) \
  template <typename T>         \
  void apply_##f(T* a, ::torchclad::nn::Act x, ::torchclad::nn::Act y, int n);
#define TORCHCLAD_LOSS(f) \
  template <typename T>   \
  T mean_##f(const T* a, ::torchclad::nn::Act pred, const T* y, int n);
#else
#define TORCHCLAD_ACTIVATION(f)                                                                      \
  inline float f##_derivative(float v) {                                                             \
    static const auto d = clad::differentiate(f<float>, 0);                                          \
    return d.execute(v);                                                                             \
  }                                                                                                  \
  inline double f##_derivative(double v) {                                                           \
    static const auto d = clad::differentiate(f<double>, 0);                                         \
    return d.execute(v);                                                                             \
  }                                                                                                  \
  template <typename T>                                                                              \
  void apply_##f(T* a, ::torchclad::nn::Act x, ::torchclad::nn::Act y, int n) {                      \
    if (::torchclad::nn::detail::replaying()) return;                                                \
    ::torchclad::nn::detail::same_width<T>(x, y);                                                    \
    ::torchclad::nn::detail::writes(y, y.id);                                                        \
    for (long i = 0; i < long{n} * x.width; ++i) a[long{n} * y.off + i] = f(a[long{n} * x.off + i]); \
  }                                                                                                  \
  namespace clad::custom_derivatives {                                                               \
  template <typename T>                                                                              \
  void apply_##f##_pullback(T* a, ::torchclad::nn::Act x, ::torchclad::nn::Act y, int n, T* d_a,     \
                            ::torchclad::nn::Act*, ::torchclad::nn::Act*, int*) {                    \
    ::clad::custom_derivatives::torchclad::nn::detail::elementwise_pullback(                         \
        a, d_a, x, y, n, [](T v, T) { return ::f##_derivative(v); });                                \
  }                                                                                                  \
  }

// TORCHCLAD_LOSS(f), for `template <class T> T f(T prediction, T target)`,
// makes the block mean_f(a, pred, y, n): the mean of f over every value of
// pred [n, width] and y [n, width] (with per-event weights, each sample's
// terms times its w_i, as the built-in losses); its pullback uses Clad's
// derivative of f in its first argument.
#define TORCHCLAD_LOSS(f)                                                                              \
  inline float f##_derivative(float v, float t) {                                                      \
    static const auto d = clad::differentiate(f<float>, 0);                                            \
    return d.execute(v, t);                                                                            \
  }                                                                                                    \
  inline double f##_derivative(double v, double t) {                                                   \
    static const auto d = clad::differentiate(f<double>, 0);                                           \
    return d.execute(v, t);                                                                            \
  }                                                                                                    \
  template <typename T>                                                                                \
  T mean_##f(const T* a, ::torchclad::nn::Act pred, const T* y, int n) {                               \
    ::torchclad::nn::detail::declared(pred, pred.id, "the prediction");                                \
    ::torchclad::nn::detail::reads_targets(pred.width, pred.id, false);                                \
    const long m = long{n} * pred.width;                                                               \
    const T* w = ::torchclad::nn::detail::batch_weights<T>();                                          \
    T total = T(0);                                                                                    \
    for (long i = 0; i < m; ++i)                                                                       \
      total += (w ? w[i / pred.width] : T(1)) * f(a[long{n} * pred.off + i], y[i]);                    \
    return total / T(m);                                                                               \
  }                                                                                                    \
  namespace clad::custom_derivatives {                                                                 \
  template <typename T>                                                                                \
  void mean_##f##_pullback(const T* a, ::torchclad::nn::Act pred, const T* y, int n, T d_loss, T* d_a, \
                           ::torchclad::nn::Act*, int*) {                                              \
    const long m = long{n} * pred.width;                                                               \
    const T* w = ::torchclad::nn::detail::batch_weights<T>();                                          \
    const T scale = d_loss / T(m);                                                                     \
    for (long i = 0; i < m; ++i)                                                                       \
      d_a[long{n} * pred.off + i] +=                                                                   \
          (w ? scale * w[i / pred.width] : scale) * ::f##_derivative(a[long{n} * pred.off + i], y[i]); \
  }                                                                                                    \
  }

#endif  // __CLING__

// ---- Registration.
namespace torchclad::nn::detail {

// The loss's value after its gradient: M::loss again with the layer blocks
// skipped (replaying()).
template <class M, typename T>
T replay_loss(const M& m, const T* p, T* a, const T* x, const T* y, int n) {
  struct Replay {
    Replay() { replaying() = true; }
    ~Replay() { replaying() = false; }
  } replay;
  return M::loss(m, p, a, x, y, n);
}

inline std::string fnv1a_hex(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  char s[17];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(h));
  return s;
}

inline std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  if (in) s << in.rdbuf();
  return s.str();
}

inline std::string quoted_names(const define::Definition& d, const std::vector<int>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i)
    if (std::find(ids.begin(), ids.begin() + static_cast<long>(i), ids[i]) ==
        ids.begin() + static_cast<long>(i))
      s += (s.empty() ? "'" : ", '") + d.layers[ids[i]] + "'";
  return s.empty() ? "none" : s;
}

// Whether activation `act` is computed from activation `from` (through the
// blocks that wrote it, in the dry run).
inline bool computed_from(const DryRun& r, int act, int from) {
  std::vector<char> seen(r.read_by.size(), 0);
  std::vector<int> todo{act};
  while (!todo.empty()) {
    const int a = todo.back();
    todo.pop_back();
    if (a < 0 || a >= static_cast<int>(r.read_by.size()) || seen[a]) continue;
    seen[a] = 1;
    for (int in : r.read_by[a]) {
      if (in == from) return true;
      todo.push_back(in);
    }
  }
  return false;
}

// After a dry run: the output activation is written by a block, and the loss
// the blocks compute depends on it (or it on what the loss compares): an
// output() naming another activation than the trained one trains a model
// whose predictions are zeros or an untrained layer's.
inline void check_output_is_trained(const DryRun& r, int output) {
  const define::Definition& d = *r.def;
  if (output < 0 || output >= static_cast<int>(d.layers.size())) return;
  std::vector<int> written;
  for (size_t id = 0; id < r.written.size(); ++id)
    if (r.written[id]) written.push_back(static_cast<int>(id));
  const std::string name = "'" + d.layers[output] + "'";
  const std::string compared =
      r.compared.empty() ? "" : "; the loss compares " + quoted_names(d, r.compared) + " with the targets";
  if (output >= static_cast<int>(r.written.size()) || !r.written[output])
    throw std::invalid_argument("output() names the activation " + name +
                                ", which no block in loss() writes: predict() would return zeros and "
                                "nothing trains it. The blocks write " +
                                quoted_names(d, written) + compared +
                                ". Pass output() the activation your last layer writes");
  if (r.compared.empty()) return;  // the loss is the definition's own code: it may read the output itself
  for (int c : r.compared)
    if (c == output || computed_from(r, c, output) || computed_from(r, output, c)) return;
  throw std::invalid_argument("output() names the activation " + name + compared + ", and " + name +
                              " is neither computed from them nor read by them: predict() would return "
                              "what an untrained part of the model gives. Pass output() the activation "
                              "the loss compares (or one computed from it, such as its softmax)");
}

// Runs loss on zeros (and targets that are valid for the model's kind) at
// batch 1 and 2 so that the blocks' checks find a definition's mistakes
// (shapes, undeclared handles, widths against inputs and targets, an
// activation written twice, an output that no block writes or the loss does
// not depend on) when it is registered. Batch 2 holds batch 1's sample
// twice: a loss that is a mean over the batch gives the same value.
template <class M>
void check_by_dry_run(const M& m, define::Definition& d, int output = -1) {
  double loss[2] = {0, 0};
  for (int n : {1, 2}) {
    std::vector<double> p(d.param_count), a(d.acts_per_sample * n), x(static_cast<size_t>(d.inputs) * n),
        y(static_cast<size_t>(d.target_width) * n, d.targets == define::Targets::kRegression ? 1.0 : 0.0);
    DryRun state{&d, {}};
    dry_run() = &state;
    try {
      loss[n - 1] = M::loss(m, p.data(), a.data(), x.data(), y.data(), n);
    } catch (...) {
      dry_run() = nullptr;
      throw;
    }
    dry_run() = nullptr;
    check_output_is_trained(state, output);
  }
  d.mean_over_batch = std::abs(loss[1] - loss[0]) <= 1e-9 * std::max(1.0, std::abs(loss[0]));
}

inline void check_outputs(const define::Definition& d) {
  const auto found = std::to_string(d.output_width);
  if (d.targets == define::Targets::kClassIndex && d.output_width != d.classes)
    throw std::invalid_argument("the output has " + found + " values per sample, but classes(" +
                                std::to_string(d.classes) + ") needs one logit per class");
  if (d.targets == define::Targets::kBinary && d.output_width != 1)
    throw std::invalid_argument("the output has " + found + " values per sample; binary() needs one logit");
  if (d.targets == define::Targets::kRegression && d.output_width != d.target_width)
    throw std::invalid_argument("the output has " + found + " values per sample, but regression(" +
                                std::to_string(d.target_width) + ") has as many targets");
}

// The file (program or shared library) that holds `address`.
inline std::string library_of(const void* address) {
  Dl_info info{};
  return dladdr(address, &info) && info.dli_fname ? info.dli_fname : "";
}

// Names each activation declared without a name after the member of
// `struct_name` that holds it, read from the source text: the handles built
// inside the instance, in address order, are its Act members in declaration
// order (when the counts, and the widths written as numbers, agree). The rest
// (assigned in the constructor's body, or a source that does not tell) are
// described by their place among the activations and their width.
inline void name_activations(define::Definition& d, const void* instance, size_t size,
                             const char* struct_name, const std::string& source) {
  const auto& acts = declared_acts().acts;
  std::vector<DeclaredActs::One> members;
  const auto* begin = static_cast<const char*>(instance);
  for (const auto& a : acts) {
    const auto* where = static_cast<const char*>(a.where);
    if (where >= begin && where < begin + size) members.push_back(a);
  }
  std::sort(members.begin(), members.end(),
            [](const DeclaredActs::One& l, const DeclaredActs::One& r) { return l.where < r.where; });
  std::string type = struct_name ? struct_name : "";
  if (const auto colon = type.rfind(':'); colon != std::string::npos) type = type.substr(colon + 1);
  const auto found = type.empty() || source.empty() ? define::DeclaredMembers{}
                                                    : define::declared_members(source, type, "Act");
  std::vector<const define::DeclaredMember*> names;
  if (found.ok) {
    // A member without an initialiser is assigned in the body: its handle was
    // built outside the instance, so only the initialised members can match
    // (always: with an Act of a base class or a member struct in the
    // instance, the counts could agree by chance and shift every name).
    const bool all_initialised =
        std::all_of(found.members.begin(), found.members.end(),
                    [](const define::DeclaredMember& m) { return !m.initialiser.empty(); });
    for (const auto& m : found.members)
      if (all_initialised || !m.initialiser.empty()) names.push_back(&m);
  }
  if (names.size() == members.size()) {
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& init = names[i]->initialiser;  // "{8}", "{8, ...}": the width as a number
      const size_t digits = init.find_first_not_of("{ ");
      if (init.rfind('{', 0) == 0 && digits != std::string::npos && std::isdigit(init[digits]) &&
          std::atol(init.c_str() + digits) != members[i].width)
        names.clear();
    }
    for (size_t i = 0; i < names.size(); ++i)
      if (unnamed_act(d.layers[members[i].id])) d.layers[members[i].id] = names[i]->name;
  }
  for (size_t k = 0; k < acts.size(); ++k)
    if (unnamed_act(d.layers[acts[k].id]))
      d.layers[acts[k].id] = "the unnamed nn::Act #" + std::to_string(k + 1) + " of width " +
                             std::to_string(acts[k].width) + " (name it: nn::Act(width, \"name\"))";
}

// struct_name: the definition's type as TORCHCLAD_MODEL writes it (to name
// activations after its members); args: for the constructor of a definition
// configured at run time (the built-in Mlp's widths); TORCHCLAD_MODEL passes
// none.
template <class M, class... Args>
std::shared_ptr<define::Definition> make_definition_of(const char* struct_name, const char* name,
                                                       const char* file, const void* code_address,
                                                       Args&&... args) {
  auto def = std::make_shared<define::Definition>();
  def->name = name;
  def->source_file = file;
  def->library = library_of(code_address);
  std::shared_ptr<M> instance;
  declaring() = def.get();
  declared_acts() = DeclaredActs{};
  try {
    instance = std::make_shared<M>(std::forward<Args>(args)...);
  } catch (...) {
    declaring() = nullptr;
    throw;
  }
  declaring() = nullptr;
  const std::string source = read_file(file);
  name_activations(*def, instance.get(), sizeof(M), struct_name, source);
  const int output = declared_acts().output;
  declared_acts() = DeclaredActs{};
  if (def->inputs < 1)
    throw std::invalid_argument("the constructor must declare inputs(features) (found none)");
  if (def->output_offset < 0)
    throw std::invalid_argument("the constructor must declare output(activation) (found none)");
  if (def->targets == define::Targets::kClassIndex && def->classes < 1)
    throw std::invalid_argument(
        "the constructor must declare its targets: classes(k), binary() or "
        "regression(width)");
  check_outputs(*def);
  std::string layout;
  for (const auto& p : def->params) layout += p.name + ":" + std::to_string(p.numel) + ";";
  def->source_hash = fnv1a_hex(source.empty() ? layout : source);
  try {
    check_by_dry_run(*instance, *def, output);
  } catch (const LayerError& e) {
    if (e.id < 0 || e.id >= static_cast<int>(def->layers.size()))
      throw std::invalid_argument(std::string("in loss(): ") + e.what());
    throw std::invalid_argument("in loss(), layer '" + def->layers[e.id] + "': " + e.what());
  }
  def->instance = instance;
  return def;
}
template <class M, class... Args>
std::shared_ptr<define::Definition> make_definition(const char* name, const char* file,
                                                    const void* code_address, Args&&... args) {
  return make_definition_of<M>(nullptr, name, file, code_address, std::forward<Args>(args)...);
}

}  // namespace torchclad::nn::detail

// TORCHCLAD_MODEL(name, Struct): registers Struct under "name" when the
// compiled file loads (and unregisters it when the library unloads). Struct
// derives from torchclad::nn::Model, has a default constructor that declares
// it, and a `template <class T> static T loss(const Struct&, const T* p, T* a,
// const T* x, const T* y, int n)`.
// Cling (a %%clad cell's dictionary, a macro interpreted) only declares: the
// registration belongs to the compiled library.
#if defined(__CLING__)
#define TORCHCLAD_MODEL(NAME, M)
#else
#define TORCHCLAD_MODEL(NAME, M)                                                                             \
  /* A name defined twice in one file: the compiler's first error names it. */                               \
  inline constexpr int model_##NAME##_is_defined_twice_in_this_file = 0;                                     \
  static_assert(std::is_trivially_copyable_v<M>,                                                             \
                "TORCHCLAD_MODEL(" #NAME ", " #M                                                             \
                "): a model definition holds layer handles and "                                             \
                "numbers only (Clad copies it in every step); keep other state outside it");                 \
  namespace torchclad_model_##NAME {                                                                         \
    template <typename T>                                                                                    \
    T grad(const void* m, const T* p, T* a, const T* x, const T* y, int n, T* d_p, T* d_a);                  \
    template <>                                                                                              \
    float grad<float>(const void* m, const float* p, float* a, const float* x, const float* y, int n,        \
                      float* d_p, float* d_a) {                                                              \
      static auto g = clad::gradient(M::template loss<float>, "p, a");                                       \
      g.execute(*static_cast<const M*>(m), p, a, x, y, n, d_p, d_a);                                         \
      return ::torchclad::nn::detail::replay_loss(*static_cast<const M*>(m), p, a, x, y, n);                 \
    }                                                                                                        \
    template <>                                                                                              \
    double grad<double>(const void* m, const double* p, double* a, const double* x, const double* y, int n,  \
                        double* d_p, double* d_a) {                                                          \
      static auto g = clad::gradient(M::template loss<double>, "p, a");                                      \
      g.execute(*static_cast<const M*>(m), p, a, x, y, n, d_p, d_a);                                         \
      return ::torchclad::nn::detail::replay_loss(*static_cast<const M*>(m), p, a, x, y, n);                 \
    }                                                                                                        \
    template <typename T>                                                                                    \
    T loss(const void* m, const T* p, T* a, const T* x, const T* y, int n) {                                 \
      return M::loss(*static_cast<const M*>(m), p, a, x, y, n);                                              \
    }                                                                                                        \
    struct Registration {                                                                                    \
      std::shared_ptr<::torchclad::define::Definition> def;                                                  \
      Registration() {                                                                                       \
        try {                                                                                                \
          def = ::torchclad::nn::detail::make_definition_of<M>(#M, #NAME, __FILE__,                          \
                                                               reinterpret_cast<const void*>(&grad<float>)); \
          def->grad_f = &grad<float>;                                                                        \
          def->grad_d = &grad<double>;                                                                       \
          def->loss_f = &loss<float>;                                                                        \
          def->loss_d = &loss<double>;                                                                       \
          ::torchclad::define::register_definition(def);                                                     \
        } catch (const std::exception& e) {                                                                  \
          ::torchclad::define::report_registration_error(                                                    \
              #NAME, std::string("model '" #NAME "' (" #M "): ") + e.what());                                \
        }                                                                                                    \
      }                                                                                                      \
      ~Registration() {                                                                                      \
        if (def) ::torchclad::define::unregister_definition(#NAME, def.get());                               \
      }                                                                                                      \
    };                                                                                                       \
    static Registration registration;                                                                        \
  }
#endif

#endif  // TORCHCLAD_NN_H
