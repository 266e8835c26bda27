#pragma once
// A model definition, as the engine sees it: named parameters with shapes and
// initialisations, the activation buffer's size per sample, what the targets
// are, and the Clad-generated gradient of the forward pass + loss, behind
// plain function pointers. Written by torchclad/nn.h's TORCHCLAD_MODEL where a
// definition is compiled (the engine's build, a %%clad cell, a macro, a
// user's program) and looked up by name everywhere else.
//
// Plain C++17 and the standard library: ROOT's cling parses it (the %%clad
// cell's dictionary), and it carries no LibTorch type.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace torchclad::define {

// How a parameter tensor starts. PyTorch's conventions: kTorchDefault is what
// torch.nn.Linear/Conv1d do (uniform in ±1/sqrt(fan_in), weights and biases).
enum class Init : int {
  kTorchDefault = 0,
  kKaimingUniform = 1,  // uniform in ±sqrt(6/fan_in) (ReLU gain, mode fan_in)
  kXavierUniform = 2,   // uniform in ±sqrt(6/(fan_in + fan_out))
  kZeros = 3,
  kOnes = 4,
  kNormal = 5,  // N(0, 0.01^2)
};

struct ParamSpec {
  std::string name;            // "fc1.weight"
  std::vector<int64_t> shape;  // [out, in]
  int64_t offset = 0;          // into the flat parameter buffer
  int64_t numel = 0;
  Init init = Init::kTorchDefault;
  int64_t fan_in = 1, fan_out = 1;  // for the uniform bounds
};

// What the model's loss compares its outputs with.
enum class Targets : int {
  kClassIndex = 0,  // y[n]: class index in [0, classes), as a float
  kBinary = 1,      // y[n]: 0 or 1
  kRegression = 2,  // y[n, targets]
};

// The gradient's signature, for T = float and double: writes the loss's
// gradient into d_params (accumulated: the caller zeroes it) and returns the
// loss. `acts` is the activation buffer (acts_per_sample * n values) and
// `d_acts` its adjoint, all zero on entry and on return. `instance` is the
// definition's object (its layer handles).
template <typename T>
using GradFn = T (*)(const void* instance, const T* params, T* acts, const T* x, const T* y, int n,
                     T* d_params, T* d_acts);
// The forward pass + loss alone (fills acts; the outputs are read from them).
template <typename T>
using LossFn = T (*)(const void* instance, const T* params, T* acts, const T* x, const T* y, int n);

struct Definition {
  std::string name;
  std::string source_file;  // where it was compiled from (__FILE__)
  std::string library;      // the loaded file (program or library) that registered it
  std::string source_hash;  // hex FNV-1a of the source file if readable, else of the layout
  std::vector<ParamSpec> params;
  std::vector<std::string> layers;  // layer handle id -> its name, for error messages
  int64_t param_count = 0;
  int64_t acts_per_sample = 0;  // activation values per sample in the batch
  int inputs = 0;               // features per sample
  Targets targets = Targets::kClassIndex;
  int classes = 0;             // kClassIndex
  int target_width = 1;        // values of y per sample (kRegression: the targets)
  int64_t output_offset = -1;  // per-sample offset of the output activation (predict)
  int output_width = 0;
  // The loss is a mean over the batch (plus terms that do not depend on it),
  // checked at registration: only then may a step split the batch over threads.
  bool mean_over_batch = true;
  // Each Linear weight is read by its own layer alone (no shared weight, no
  // penalty on it): its layer's pullback then makes its whole gradient, and a
  // step at batch 1 may apply the optimizer there
  // (define/fused_weight_update.hpp). Set by the built-in Mlp and Cnn, whose
  // code says so; a user's definition is not checked for it and keeps false.
  bool weights_read_once = false;
  std::shared_ptr<const void> instance;  // the user's definition object
  GradFn<float> grad_f = nullptr;
  GradFn<double> grad_d = nullptr;
  LossFn<float> loss_f = nullptr;
  LossFn<double> loss_d = nullptr;
  // False once the definition is replaced (its file loaded again, a %%clad
  // cell run again with new code) or its library unloaded: models made from
  // it refuse to run.
  std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);

  // grad_f / grad_d and loss_f / loss_d for T = float or double.
  template <typename T>
  GradFn<T> grad_fn() const {
    if constexpr (std::is_same_v<T, float>)
      return grad_f;
    else
      return grad_d;
  }
  template <typename T>
  LossFn<T> loss_fn() const {
    if constexpr (std::is_same_v<T, float>)
      return loss_f;
    else
      return loss_d;
  }

  // Throws std::runtime_error listing the names for an unknown one.
  const ParamSpec& param(const std::string& name) const;
  // One line per parameter, and the totals.
  std::string describe() const;
};

// Registers a definition under its name (called when its library loads).
// A name registered twice by one library is an error (defined twice);
// registered by another library (a file loaded again, a cell run again), the
// newer replaces the older. Errors are kept (take_registration_errors) and printed on stderr,
// since they happen during a library's static initialisation.
void register_definition(std::shared_ptr<Definition> def);
// Called when the defining library unloads: marks it dead and forgets it.
void unregister_definition(const std::string& name, const Definition* def);
// Marks every definition compiled from source_file dead and forgets it (a
// cell whose gradient Clad could not build correctly).
void withdraw_definitions_from(const std::string& source_file);
// The definition registered under name. Throws std::runtime_error naming the
// known definitions, or the registration error of that name.
std::shared_ptr<Definition> find_definition(const std::string& name);
std::vector<std::string> definition_names();
// Registration errors since the last call (a host reports them for the cell).
std::vector<std::string> take_registration_errors();
void report_registration_error(const std::string& name, const std::string& message);
// The latest build of a file that declares `name` failed: a name with no
// working definition gets `message` as the reason (instead of an older run's
// error the user may have fixed since); a working definition is kept, as a
// failed re-run of a cell keeps what the previous run defined. Returns
// whether a working definition was kept.
bool record_failed_build(const std::string& name, const std::string& message);
// The model names the text of a file or cell declares (TORCHCLAD_MODEL(name,
// Struct)), read as text: for one that did not compile.
std::vector<std::string> declared_model_names(const std::string& source_text);
// The data members of type `type` (as written: "Act", nn::Act, torchclad::nn::Act)
// that struct or class `struct_name` declares in `source_text`, in
// declaration order, an array member as one name per element ("h[0]",
// "h[1]"), each with its in-class initialiser as written ("{8}", "" for
// none). Read as text, for error messages: ok is false when the text does
// not tell (no such struct or more than one, an array whose size is not a
// number).
struct DeclaredMember {
  std::string name;
  std::string initialiser;
};
struct DeclaredMembers {
  bool ok = false;
  std::vector<DeclaredMember> members;
};
DeclaredMembers declared_members(const std::string& source_text, const std::string& struct_name,
                                 const std::string& type);

// A family of built-in definitions whose name carries their configuration
// (the Mlp's "mlp-784-256-10-tanh"): find_definition asks each maker for a
// name it has no definition of, and registers what a maker returns. A maker
// returns null for a name outside its family and throws std::invalid_argument
// for a malformed one. So Model::load finds a saved built-in in any session.
using DefinitionMaker = std::shared_ptr<Definition> (*)(const std::string& name);
void register_definition_maker(DefinitionMaker maker);

}  // namespace torchclad::define
