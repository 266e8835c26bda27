// The built-in models as definitions (torchclad/nn.h), compiled with Clad
// into the engine library (libtorchclad.so): Mlp(widths, activation) of any
// depth and Cnn(length, blocks, hidden), made on demand by name
// (model/mlp_definition.hpp, model/cnn_definition.hpp). Clad writes
// their gradients here, at build time, as it does for a user's %%clad cell.
#include <cstdlib>

#include "model/cnn_definition.hpp"
#include "model/mlp_definition.hpp"
#include "models/cnn_of_blocks.h"
#include "models/mlp_of_widths.h"

namespace torchclad {
namespace {

// Clad's gradient of M::loss for float and double, and the loss alone, as
// the definition's function pointers (what TORCHCLAD_MODEL writes for a
// user's model).
#define TORCHCLAD_BUILTIN_GRADIENTS(M)                                                                    \
  float M##_grad_f(const void* m, const float* p, float* a, const float* x, const float* y, int n,        \
                   float* d_p, float* d_a) {                                                              \
    static auto g = clad::gradient(M::loss<float>, "p, a");                                               \
    g.execute(*static_cast<const M*>(m), p, a, x, y, n, d_p, d_a);                                        \
    return nn::detail::replay_loss(*static_cast<const M*>(m), p, a, x, y, n);                             \
  }                                                                                                       \
  double M##_grad_d(const void* m, const double* p, double* a, const double* x, const double* y, int n,   \
                    double* d_p, double* d_a) {                                                           \
    static auto g = clad::gradient(M::loss<double>, "p, a");                                              \
    g.execute(*static_cast<const M*>(m), p, a, x, y, n, d_p, d_a);                                        \
    return nn::detail::replay_loss(*static_cast<const M*>(m), p, a, x, y, n);                             \
  }                                                                                                       \
  template <typename T>                                                                                   \
  T M##_loss(const void* m, const T* p, T* a, const T* x, const T* y, int n) {                            \
    return M::loss(*static_cast<const M*>(m), p, a, x, y, n);                                             \
  }                                                                                                       \
  template <class... Args>                                                                                \
  std::shared_ptr<define::Definition> make_##M(const std::string& name, Args&&... args) {                 \
    auto def = nn::detail::make_definition<M>(                                                            \
        name.c_str(), __FILE__, reinterpret_cast<const void*>(&M##_grad_f), std::forward<Args>(args)...); \
    def->grad_f = &M##_grad_f;                                                                            \
    def->grad_d = &M##_grad_d;                                                                            \
    def->loss_f = &M##_loss<float>;                                                                       \
    def->loss_d = &M##_loss<double>;                                                                      \
    return def;                                                                                           \
  }

TORCHCLAD_BUILTIN_GRADIENTS(MlpOfWidths)
TORCHCLAD_BUILTIN_GRADIENTS(CnnOfBlocks)

// A positive int from the whole of `item`, or -1.
int positive(const std::string& item) {
  char* stop = nullptr;
  const long v = std::strtol(item.c_str(), &stop, 10);
  return !item.empty() && *stop == '\0' && v > 0 && v < (1L << 30) ? static_cast<int>(v) : -1;
}

std::vector<std::string> split_dashes(const std::string& s) {
  std::vector<std::string> items;
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t end = std::min(s.find('-', pos), s.size());
    items.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return items;
}

const char* const kActivationNames[] = {"identity", "relu", "tanh", "sigmoid"};

// "mlp-784-256-10[-tanh]" -> widths and activation; null for another family.
std::shared_ptr<define::Definition> make_mlp(const std::string& name) {
  if (name.rfind("mlp-", 0) != 0) return nullptr;
  const auto items = split_dashes(name.substr(4));
  std::vector<int> widths;
  int activation = kernels::kRelu;
  for (size_t i = 0; i < items.size(); ++i) {
    const int w = positive(items[i]);
    if (w > 0) {
      widths.push_back(w);
    } else if (i + 1 == items.size() && !widths.empty()) {  // the activation, last
      int kind = -1;
      for (int k = 0; k < 4; ++k)
        if (items[i] == kActivationNames[k]) kind = k;
      if (kind < 0)
        throw std::invalid_argument(
            "the built-in Mlp's name ends in widths or an activation "
            "(identity, relu, tanh, sigmoid), found '" +
            items[i] + "'");
      activation = kind;
    } else {
      throw std::invalid_argument("the built-in Mlp's name is mlp-<width>-...-<width>[-activation]; '" +
                                  items[i] + "' is not a width >= 1");
    }
  }
  auto def = make_MlpOfWidths(name, widths, activation);
  def->weights_read_once = true;  // MlpOfWidths::loss: each fc[l] once
  return def;
}

// "cnn-2048-c8k16p4-c16k8p4-h64" -> input length, blocks, hidden width.
std::shared_ptr<define::Definition> make_cnn(const std::string& name) {
  if (name.rfind("cnn-", 0) != 0) return nullptr;
  const auto items = split_dashes(name.substr(4));
  const auto bad = [&](const std::string& item) {
    return std::invalid_argument(
        "the built-in Cnn's name is cnn-<length>-c<channels>k<kernel>p<pool>-...-h<hidden>; '" + item +
        "' does not fit");
  };
  if (items.size() < 3 || positive(items.front()) < 0) throw bad(items.front());
  if (items.back().size() < 2 || items.back()[0] != 'h' || positive(items.back().substr(1)) < 0)
    throw bad(items.back());
  std::vector<CnnBlockSpec> blocks;
  for (size_t i = 1; i + 1 < items.size(); ++i) {
    const auto& it = items[i];
    const size_t k = it.find('k'), p = it.find('p');
    if (it.empty() || it[0] != 'c' || k == std::string::npos || p == std::string::npos || p < k)
      throw bad(it);
    CnnBlockSpec b{positive(it.substr(1, k - 1)), positive(it.substr(k + 1, p - k - 1)),
                   positive(it.substr(p + 1))};
    if (b.channels < 0 || b.kernel < 0 || b.pool < 0) throw bad(it);
    blocks.push_back(b);
  }
  auto def = make_CnnOfBlocks(name, positive(items.front()), blocks, positive(items.back().substr(1)));
  def->weights_read_once = true;  // CnnOfBlocks::loss: each layer once
  return def;
}

const bool registered =
    (define::register_definition_maker(&make_mlp), define::register_definition_maker(&make_cnn), true);

}  // namespace

int max_mlp_layers() { return MlpOfWidths::kMaxLayers; }

std::string mlp_definition_name(const MlpConfig& c) {
  std::string name = "mlp";
  for (auto w : c.widths) name += "-" + std::to_string(w);
  if (c.activation != kernels::kRelu) {
    const int k = static_cast<int>(c.activation);
    name += std::string("-") + (k >= 0 && k < 4 ? kActivationNames[k] : "unknown");
  }
  return name;
}

std::shared_ptr<define::Definition> mlp_definition(const MlpConfig& c) {
  (void)registered;
  const int count = static_cast<int>(c.widths.size());
  if (count < 2 || count > MlpOfWidths::kMaxLayers + 1)
    throw std::runtime_error("Mlp: widths must list 2 to " + std::to_string(MlpOfWidths::kMaxLayers + 1) +
                             " sizes (input, hidden..., classes), found " + std::to_string(count));
  for (auto w : c.widths)
    if (w < 1 || w >= (int64_t{1} << 30))
      throw std::runtime_error("Mlp: every width must be at least 1 (and below 2^30), found " +
                               std::to_string(w));
  return define::find_definition(mlp_definition_name(c));
}

}  // namespace torchclad

namespace torchclad {

std::string cnn_definition_name(const CnnConfig& m) {
  std::string name = "cnn-" + std::to_string(m.input_length);
  for (const auto& b : m.blocks)
    name += "-c" + std::to_string(b.channels) + "k" + std::to_string(b.kernel) + "p" + std::to_string(b.pool);
  return name + "-h" + std::to_string(m.hidden);
}

std::shared_ptr<define::Definition> cnn_definition(const CnnConfig& c) {
  (void)registered;
  std::vector<CnnBlockSpec> blocks;
  for (const auto& b : c.blocks) blocks.push_back({b.channels, b.kernel, b.pool});
  // The shape's checks first, with the definition's own messages (a name cannot say "0 channels").
  define::Definition scratch;
  nn::detail::declaring() = &scratch;
  try {
    CnnOfBlocks check(c.input_length, blocks, c.hidden);
  } catch (const std::exception& e) {
    nn::detail::declaring() = nullptr;
    throw std::runtime_error(e.what());
  }
  nn::detail::declaring() = nullptr;
  return define::find_definition(cnn_definition_name(c));
}

}  // namespace torchclad
