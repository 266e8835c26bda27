// Models defined with torchclad/nn.h (compiled here with the Clad plugin, as
// a %%clad cell or a user's program is): Clad's gradient against LibTorch
// autograd of the same network (float64, relative 1e-9) and against central
// finite differences, at several batch sizes including 1; training lowers the
// loss; the GW CNN in the user API matches the built-in CNN; a steady-state
// step allocates nothing; bad definitions get errors naming the mistake.
#include <cmath>

#include "defined_model_checks.hpp"
#include "metrics/weighted.hpp"
#include "model/cnn_definition.hpp"
#include "models/gw_cnn.h"
#include "models/mlp.h"
#include "ops/model_ops.hpp"
#include "torchclad/nn.h"
#include "train/binary_trainer.hpp"
#include "train/model_trainer.hpp"

namespace nn = torchclad::nn;

// ---- Definitions, as a user writes them.

// Six Linear layers in a loop, ReLU between them.
struct Deep6 : nn::Model {
  static constexpr int kDepth = 6;
  static constexpr int kWidth[kDepth + 1] = {11, 16, 13, 9, 8, 7, 5};
  nn::Linear fc[kDepth];
  nn::Act z[kDepth], h[kDepth];
  Deep6() {
    inputs(kWidth[0]);
    classes(kWidth[kDepth]);
    for (int l = 0; l < kDepth; ++l) {
      fc[l] = torchclad::nn::Linear("fc" + std::to_string(l), kWidth[l], kWidth[l + 1]);
      z[l] = torchclad::nn::Act(kWidth[l + 1]);
      h[l] = torchclad::nn::Act(kWidth[l + 1]);
    }
    output(z[kDepth - 1]);
  }
  template <class T>
  static T loss(const Deep6& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc[0], p, x, a, m.z[0], n);
    for (int l = 1; l < kDepth; ++l) {
      nn::relu(a, m.z[l - 1], m.h[l - 1], n);
      nn::linear(m.fc[l], p, a, m.h[l - 1], m.z[l], n);
    }
    return nn::cross_entropy(a, m.z[kDepth - 1], y, n);
  }
};
TORCHCLAD_MODEL(deep6, Deep6)

// A user-written GELU (tanh approximation, as torch's approximate="tanh").
template <class T>
T gelu(T v) {
  return T(0.5) * v * (T(1) + std::tanh(T(0.7978845608028654) * (v + T(0.044715) * v * v * v)));
}
TORCHCLAD_ACTIVATION(gelu)

struct GeluMlp : nn::Model {
  nn::Linear fc1, fc2, fc3;
  nn::Act z1, g1, z2, g2, out;
  GeluMlp() {
    inputs(9);
    classes(4);
    fc1 = torchclad::nn::Linear("fc1", 9, 12);
    z1 = torchclad::nn::Act(12);
    g1 = torchclad::nn::Act(12);
    fc2 = torchclad::nn::Linear("fc2", 12, 10);
    z2 = torchclad::nn::Act(10);
    g2 = torchclad::nn::Act(10);
    fc3 = torchclad::nn::Linear("fc3", 10, 4);
    out = torchclad::nn::Act(4);
    output(out);
  }
  template <class T>
  static T loss(const GeluMlp& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    apply_gelu(a, m.z1, m.g1, n);
    nn::linear(m.fc2, p, a, m.g1, m.z2, n);
    apply_gelu(a, m.z2, m.g2, n);
    nn::linear(m.fc3, p, a, m.g2, m.out, n);
    return nn::cross_entropy(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(gelu_mlp, GeluMlp)

// A user-written Huber loss (delta 1), a regression with two targets and an
// L2 penalty on the first layer's weights.
template <class T>
T huber(T prediction, T target) {
  const T r = prediction - target;
  return std::abs(r) <= T(1) ? T(0.5) * r * r : std::abs(r) - T(0.5);
}
TORCHCLAD_LOSS(huber)

struct HuberRegression : nn::Model {
  static constexpr double kPenalty = 1e-3;
  nn::Linear fc1, fc2;
  nn::Act z1, t1, out;
  HuberRegression() {
    inputs(6);
    regression(2);
    fc1 = torchclad::nn::Linear("fc1", 6, 10);
    z1 = torchclad::nn::Act(10);
    t1 = torchclad::nn::Act(10);
    fc2 = torchclad::nn::Linear("fc2", 10, 2);
    out = torchclad::nn::Act(2);
    output(out);
  }
  template <class T>
  static T loss(const HuberRegression& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.t1, n);
    nn::linear(m.fc2, p, a, m.t1, m.out, n);
    return mean_huber(a, m.out, y, n) + T(kPenalty) * nn::sum_of_squares(p, m.fc1);
  }
};
TORCHCLAD_MODEL(huber_regression, HuberRegression)

// Declares weights_read_once() although its loss has a penalty on fc1's
// weights: the first fused step must find out and keep its steps plain.
struct PenaltyReadOnce : nn::Model {
  nn::Linear fc1, fc2;
  nn::Act z1, t1, out;
  PenaltyReadOnce() {
    inputs(6);
    classes(3);
    fc1 = torchclad::nn::Linear("fc1", 6, 10);
    z1 = torchclad::nn::Act(10);
    t1 = torchclad::nn::Act(10);
    fc2 = torchclad::nn::Linear("fc2", 10, 3);
    out = torchclad::nn::Act(3);
    output(out);
    weights_read_once();  // not true: the penalty reads fc1's weights
  }
  template <class T>
  static T loss(const PenaltyReadOnce& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.t1, n);
    nn::linear(m.fc2, p, a, m.t1, m.out, n);
    return nn::cross_entropy(a, m.out, y, n) + T(1e-2) * nn::sum_of_squares(p, m.fc1);
  }
};
TORCHCLAD_MODEL(penalty_read_once, PenaltyReadOnce)

TORCHCLAD_MODEL(gw_cnn, GwCnn)
TORCHCLAD_MODEL(mlp_784_128_10, Mlp784x128x10)

// ---- Bad definitions: registered with an error, found by name.

struct ShapeMismatch : nn::Model {
  nn::Linear fc1, fc2;
  nn::Act h, out;
  ShapeMismatch() {
    inputs(4);
    classes(3);
    fc1 = torchclad::nn::Linear("fc1", 4, 8);
    h = torchclad::nn::Act(8);
    fc2 = torchclad::nn::Linear("fc2", 6, 3);  // expects 6 inputs, fc1 gives 8
    out = torchclad::nn::Act(3);
    output(out);
  }
  template <class T>
  static T loss(const ShapeMismatch& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.h, n);
    nn::linear(m.fc2, p, a, m.h, m.out, n);
    return nn::cross_entropy(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(shape_mismatch, ShapeMismatch)

struct UsedBeforeDeclared : nn::Model {
  nn::Linear fc1, fc2;
  nn::Act h, out;
  UsedBeforeDeclared() {
    inputs(4);
    classes(3);
    fc1 = torchclad::nn::Linear("fc1", 4, 3);
    out = torchclad::nn::Act(3);
    output(out);  // fc2 and h are never declared
  }
  template <class T>
  static T loss(const UsedBeforeDeclared& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.out, n);
    nn::linear(m.fc2, p, a, m.h, m.out, n);
    return nn::cross_entropy(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(used_before_declared, UsedBeforeDeclared)

// An activation written twice (tanh in place): the backward pass would read
// the overwritten input.
struct WrittenTwice : nn::Model {
  nn::Linear fc{"fc", 4, 3};
  nn::Act h{3};
  WrittenTwice() {
    inputs(4);
    classes(3);
    output(h);
  }
  template <class T>
  static T loss(const WrittenTwice& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc, p, x, a, m.h, n);
    nn::tanh(a, m.h, m.h, n);
    return nn::cross_entropy(a, m.h, y, n);
  }
};
TORCHCLAD_MODEL(written_twice, WrittenTwice)

// The activation line forgotten: fc2 reads h, which no block writes (it
// would read zeros, and fc1 would get no gradient).
struct ForgottenActivation : nn::Model {
  nn::Linear fc1{"fc1", 4, 5}, fc2{"fc2", 5, 3};
  nn::Act z{5}, h{5}, out{3};
  ForgottenActivation() {
    inputs(4);
    classes(3);
    output(out);
  }
  template <class T>
  static T loss(const ForgottenActivation& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z, n);
    nn::linear(m.fc2, p, a, m.h, m.out, n);
    return nn::cross_entropy(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(forgotten_activation, ForgottenActivation)

// output() names an activation that no block writes (trial 2, finding 4):
// it would train fc1 and fc2 and predict zeros.
struct OutputNeverWritten : nn::Model {
  nn::Linear fc1{"fc1", 4, 8}, fc2{"fc2", 8, 1};
  nn::Act z1{8}, h1{8}, logit{1}, logit2{1};
  OutputNeverWritten() {
    inputs(4);
    binary();
    output(logit2);
  }
  template <class T>
  static T loss(const OutputNeverWritten& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::relu(a, m.z1, m.h1, n);
    nn::linear(m.fc2, p, a, m.h1, m.logit, n);
    return nn::bce_with_logits(a, m.logit, y, n);
  }
};
TORCHCLAD_MODEL(output_never_written, OutputNeverWritten)

// output() names an activation that fc3 writes, but the loss compares fc2's:
// fc3 would never be trained, and predict() would give its initial outputs.
struct OutputNotTrained : nn::Model {
  nn::Linear fc1{"fc1", 4, 8}, fc2{"fc2", 8, 1}, fc3{"fc3", 8, 1};
  nn::Act z1{8}, h1{8}, logit{1}, logit2{1};
  OutputNotTrained() {
    inputs(4);
    binary();
    output(logit2);
  }
  template <class T>
  static T loss(const OutputNotTrained& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::relu(a, m.z1, m.h1, n);
    nn::linear(m.fc2, p, a, m.h1, m.logit, n);
    nn::linear(m.fc3, p, a, m.h1, m.logit2, n);
    return nn::bce_with_logits(a, m.logit, y, n);
  }
};
TORCHCLAD_MODEL(output_not_trained, OutputNotTrained)

// The output is computed from what the loss compares (probabilities from
// the logits): a model as intended.
struct SoftmaxOutput : nn::Model {
  nn::Linear fc{"fc", 4, 3};
  nn::Act logits{3}, probabilities{3};
  SoftmaxOutput() {
    inputs(4);
    classes(3);
    output(probabilities);
  }
  template <class T>
  static T loss(const SoftmaxOutput& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc, p, x, a, m.logits, n);
    nn::softmax(a, m.logits, m.probabilities, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(softmax_output, SoftmaxOutput)

// As ForgottenActivation, with the activations assigned in the constructor's
// body: no member is built with them, so they are described.
struct UnnamedForgotten : nn::Model {
  nn::Linear fc1{"fc1", 4, 5}, fc2{"fc2", 5, 3};
  nn::Act z, h, out;
  UnnamedForgotten() {
    inputs(4);
    classes(3);
    z = nn::Act(5);
    h = nn::Act(5);
    out = nn::Act(3);
    output(out);
  }
  template <class T>
  static T loss(const UnnamedForgotten& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z, n);
    nn::linear(m.fc2, p, a, m.h, m.out, n);
    return nn::cross_entropy(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(unnamed_forgotten, UnnamedForgotten)

// An Act of a base class sits in the instance too, and one member is
// assigned in the body: the counts of Acts in the instance (x, h, spare) and
// of the struct's Act members (h, z, spare) agree by chance; names from the
// source would shift by one, so the activations are described by place.
struct ActBase : nn::Model {
  nn::Act x{8};
};
struct InheritedAct : ActBase {
  nn::Linear fc1{"fc1", 4, 8}, fc2{"fc2", 8, 2};
  nn::Act h{8};
  nn::Act z;
  nn::Act spare{2};
  InheritedAct() {
    inputs(4);
    classes(2);
    z = nn::Act(2);
    output(spare);
  }
  template <class T>
  static T loss(const InheritedAct& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.x, n);
    nn::relu(a, m.x, m.h, n);
    nn::linear(m.fc2, p, a, m.h, m.z, n);
    return nn::cross_entropy(a, m.z, y, n);
  }
};
TORCHCLAD_MODEL(inherited_act, InheritedAct)

// The first layer reads 4 values per sample of x; inputs() says 3.
struct InputsMismatch : nn::Model {
  nn::Linear fc{"fc", 4, 1};
  nn::Act out{1};
  InputsMismatch() {
    inputs(3);
    regression(1);
    output(out);
  }
  template <class T>
  static T loss(const InputsMismatch& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc, p, x, a, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(inputs_mismatch, InputsMismatch)

// 2 logits for classes(3).
struct ClassesMismatch : nn::Model {
  nn::Linear fc{"fc", 4, 2};
  nn::Act logits{2};
  ClassesMismatch() {
    inputs(4);
    classes(3);
    output(logits);
  }
  template <class T>
  static T loss(const ClassesMismatch& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc, p, x, a, m.logits, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(classes_mismatch, ClassesMismatch)

// A summed (not averaged) loss: the batch must not be split over threads.
struct SummedLoss : nn::Model {
  nn::Linear fc{"fc", 4, 1};
  nn::Act out{1};
  SummedLoss() {
    inputs(4);
    regression(1);
    output(out);
  }
  template <class T>
  static T loss(const SummedLoss& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc, p, x, a, m.out, n);
    return nn::mse(a, m.out, y, n) * T(n);
  }
};
TORCHCLAD_MODEL(summed_loss, SummedLoss)

// Per-event weights reach every loss block: a binary classifier
// (bce_with_logits), a regression with mse, and a loss of the user's own that
// reads nn::weight.
struct SmallBinary : nn::Model {
  nn::Linear fc1{"fc1", 5, 8}, fc2{"fc2", 8, 1};
  nn::Act z1{8}, t1{8}, out{1};
  SmallBinary() {
    inputs(5);
    binary();
    output(out);
  }
  template <class T>
  static T loss(const SmallBinary& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.t1, n);
    nn::linear(m.fc2, p, a, m.t1, m.out, n);
    return nn::bce_with_logits(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(small_binary, SmallBinary)

struct SmallMse : nn::Model {
  nn::Linear fc1{"fc1", 4, 6}, fc2{"fc2", 6, 3};
  nn::Act z1{6}, r1{6}, out{3};
  SmallMse() {
    inputs(4);
    regression(3);
    output(out);
  }
  template <class T>
  static T loss(const SmallMse& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::relu(a, m.z1, m.r1, n);
    nn::linear(m.fc2, p, a, m.r1, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(small_mse, SmallMse)

// A quartic loss written in loss() itself, each sample's term times its weight.
struct UserWeightedLoss : nn::Model {
  nn::Linear fc{"fc", 3, 1};
  nn::Act out{1};
  UserWeightedLoss() {
    inputs(3);
    regression(1);
    output(out);
  }
  template <class T>
  static T loss(const UserWeightedLoss& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc, p, x, a, m.out, n);
    T total = T(0);
    for (int i = 0; i < n; ++i) {
      const T r = a[n * m.out.off + i] - y[i];
      total += nn::weight(y, i) * r * r * r * r;
    }
    return total / T(n);
  }
};
TORCHCLAD_MODEL(user_weighted_loss, UserWeightedLoss)

namespace torchclad {
namespace {

using namespace torchclad::testing;

TEST(UserModelErrors, AnActivationWrittenTwiceIsRefused) {
  EXPECT_NE(registration_error("written_twice")
                .find("writes the activation 'h', which an "
                      "earlier block wrote"),
            std::string::npos)
      << registration_error("written_twice");
}

TEST(UserModelErrors, AnActivationReadBeforeAnyBlockWritesItIsRefused) {
  const auto e = registration_error("forgotten_activation");
  EXPECT_NE(e.find("layer 'fc2'"), std::string::npos) << e;
  EXPECT_NE(e.find("reads the activation 'h' before any block writes it"), std::string::npos) << e;
}

TEST(UserModelErrors, AnActivationWithoutAMemberBuiltWithItIsDescribedByPlaceAndWidth) {
  const auto e = registration_error("unnamed_forgotten");
  EXPECT_NE(e.find("layer 'fc2': reads the activation 'the unnamed nn::Act #2 of width 5 (name it: "
                   "nn::Act(width, \"name\"))' before any block writes it"),
            std::string::npos)
      << e;
}

TEST(UserModelErrors, ActivationsOfABaseClassDoNotShiftTheNamesOfTheMembers) {
  const auto e = registration_error("inherited_act");
  EXPECT_NE(e.find("output() names the activation 'the unnamed nn::Act #3 of width 2"), std::string::npos)
      << e;
  EXPECT_EQ(e.find("'h'"), std::string::npos) << e;  // 'h' would be x's name, shifted
  EXPECT_EQ(e.find("'z'"), std::string::npos) << e;
}

TEST(UserModelErrors, AnOutputThatNoBlockWritesIsRefusedNamingWhatTheBlocksWrite) {
  const auto e = registration_error("output_never_written");
  EXPECT_NE(e.find("model 'output_never_written' (OutputNeverWritten): output() names the activation "
                   "'logit2', which no block in loss() writes: predict() would return zeros"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("The blocks write 'z1', 'h1', 'logit'; the loss compares 'logit' with the targets"),
            std::string::npos)
      << e;
}

TEST(UserModelErrors, AnOutputTheLossDoesNotDependOnIsRefused) {
  const auto e = registration_error("output_not_trained");
  EXPECT_NE(e.find("output() names the activation 'logit2'; the loss compares 'logit' with the targets, and "
                   "'logit2' is neither computed from them nor read by them"),
            std::string::npos)
      << e;
}

TEST(UserModels, AnOutputComputedFromWhatTheLossComparesOrReadByOwnCodeRegisters) {
  EXPECT_EQ(registration_error("softmax_output"), "");
  EXPECT_EQ(registration_error("user_weighted_loss"), "");  // its loss reads the output itself
}

TEST(DeclaredMembers, TheActMembersOfTheStructInDeclarationOrder) {
  const std::string source = R"(
    struct Other { nn::Act q{1}; };
    struct Net : nn::Model {
      nn::Linear fc1{"fc1", 4, 8};  // nn::Act commented{3};
      nn::Act z1{8}, h1{8, "hidden; named"},
          out{1};
      /* nn::Act c{2}; */
      Net() { nn::Act local{3}; output(out); }
      template <class T> static T loss(const Net& m, const T* p, T* a, const T* x, const T* y, int n) {
        nn::Act inner{3};
        return T(0);
      }
     public:
      torchclad::nn::Act pair[2];
      struct Inner { int f() { return 1; } };
      ::torchclad::nn::Act last = nn::Act(3);
    };)";
  const auto found = define::declared_members(source, "Net", "Act");
  ASSERT_TRUE(found.ok);
  std::vector<std::string> names, initialisers;
  for (const auto& m : found.members) {
    names.push_back(m.name);
    initialisers.push_back(m.initialiser);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"z1", "h1", "out", "pair[0]", "pair[1]", "last"}));
  EXPECT_EQ(initialisers[0], "{8}");
  EXPECT_EQ(initialisers[3], "");
  EXPECT_EQ(initialisers[5], "= nn::Act(3)");
  EXPECT_FALSE(define::declared_members(source, "Missing", "Act").ok);
  EXPECT_FALSE(define::declared_members("struct A { nn::Act h[kBlocks]; };", "A", "Act").ok);
  EXPECT_FALSE(define::declared_members(source + source, "Net", "Act").ok);  // which one?
}

TEST(UserModelErrors, WidthsReadFromTheInputAndTargetsAreChecked) {
  EXPECT_NE(
      registration_error("inputs_mismatch")
          .find("layer 'fc': reads 4 values per sample of the input x, but the model declares inputs(3)"),
      std::string::npos)
      << registration_error("inputs_mismatch");
  EXPECT_NE(registration_error("classes_mismatch")
                .find("the output has 2 values per sample, but classes(3) needs one logit per class"),
            std::string::npos)
      << registration_error("classes_mismatch");
}

TEST(UserModel, ALossThatIsNotAMeanIsNotSplitOverThreads) {
  EXPECT_FALSE(define::find_definition("summed_loss")->mean_over_batch);
  EXPECT_TRUE(define::find_definition("huber_regression")->mean_over_batch);
  const int saved = at::get_num_threads();
  at::set_num_threads(2);
  DefinedModel two(define::find_definition("summed_loss"), 1);
  at::set_num_threads(1);
  DefinedModel one(define::find_definition("summed_loss"), 1);
  auto x = torch::randn({40, 4}), y = torch::randn({40, 1});
  const float l1 = one.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), 40);
  at::set_num_threads(2);
  const float l2 = two.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), 40);
  at::set_num_threads(saved);
  EXPECT_FLOAT_EQ(l1, l2);
  EXPECT_TRUE(torch::allclose(one.grads(), two.grads()));
}

// A loss block that throws on a worker thread: the error reaches the caller.
TEST(UserModelErrors, AnErrorInAThreadsPartReachesTheCaller) {
  const int saved = at::get_num_threads();
  at::set_num_threads(2);
  DefinedModel model(define::find_definition("deep6"), 1);
  auto x = torch::randn({40, 11});
  auto y = torch::full({40, 1}, 9.f);  // 5 classes
  EXPECT_THROW(model.loss_and_grad(x.data_ptr<float>(), y.data_ptr<float>(), 40), nn::LayerError);
  at::set_num_threads(saved);
}

// The same networks in LibTorch, float64, for autograd's gradient.
torch::Tensor libtorch_loss(const std::string& name, const define::Definition& d, const torch::Tensor& p,
                            const torch::Tensor& x, const torch::Tensor& y) {
  namespace F = torch::nn::functional;
  auto lin = [&](const torch::Tensor& h, const std::string& layer) {
    return F::linear(h, view(p, d, layer + ".weight"), view(p, d, layer + ".bias"));
  };
  auto labels = y.view({-1}).to(torch::kInt64);
  if (name == "deep6") {
    auto h = lin(x, "fc0");
    for (int l = 1; l < Deep6::kDepth; ++l) h = lin(torch::relu(h), "fc" + std::to_string(l));
    return F::cross_entropy(h, labels);
  }
  if (name == "gelu_mlp") {
    auto g = [](const torch::Tensor& t) { return F::gelu(t, F::GELUFuncOptions().approximate("tanh")); };
    return F::cross_entropy(lin(g(lin(g(lin(x, "fc1")), "fc2")), "fc3"), labels);
  }
  if (name == "huber_regression") {
    auto out = lin(torch::tanh(lin(x, "fc1")), "fc2");
    return F::huber_loss(out, y.view_as(out), F::HuberLossFuncOptions().delta(1.0)) +
           HuberRegression::kPenalty * view(p, d, "fc1.weight").pow(2).sum();
  }
  throw std::runtime_error("no LibTorch version of " + name);
}

// The same with per-sample weight factors w [n]: PyTorch's reduction="none"
// losses times w, then the mean (over every value for the regressions).
torch::Tensor libtorch_weighted_loss(const std::string& name, const define::Definition& d,
                                     const torch::Tensor& p, const torch::Tensor& x, const torch::Tensor& y,
                                     const torch::Tensor& w) {
  namespace F = torch::nn::functional;
  auto lin = [&](const torch::Tensor& h, const std::string& layer) {
    return F::linear(h, view(p, d, layer + ".weight"), view(p, d, layer + ".bias"));
  };
  const auto none = torch::kNone;
  if (name == "deep6") {
    auto h = lin(x, "fc0");
    for (int l = 1; l < Deep6::kDepth; ++l) h = lin(torch::relu(h), "fc" + std::to_string(l));
    return (F::cross_entropy(h, y.view({-1}).to(torch::kInt64),
                             F::CrossEntropyFuncOptions().reduction(none)) *
            w)
        .mean();
  }
  if (name == "huber_regression") {
    auto out = lin(torch::tanh(lin(x, "fc1")), "fc2");
    auto l = F::huber_loss(out, y.view_as(out), F::HuberLossFuncOptions().delta(1.0).reduction(none));
    return (l * w.unsqueeze(1)).mean() + HuberRegression::kPenalty * view(p, d, "fc1.weight").pow(2).sum();
  }
  if (name == "small_binary") {
    auto z = lin(torch::tanh(lin(x, "fc1")), "fc2").view({-1});
    return (F::binary_cross_entropy_with_logits(
                z, y.view({-1}), F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(none)) *
            w)
        .mean();
  }
  if (name == "small_mse") {
    auto out = lin(torch::relu(lin(x, "fc1")), "fc2");
    return ((out - y.view_as(out)).pow(2) * w.unsqueeze(1)).mean();
  }
  if (name == "user_weighted_loss") {
    auto out = lin(x, "fc").view({-1});
    return ((out - y.view({-1})).pow(4) * w).mean();
  }
  throw std::runtime_error("no weighted LibTorch version of " + name);
}

std::string any_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Weight factors with negative ones among them (Monte Carlo weights).
std::vector<double> signed_weights(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> w(n);
  for (int i = 0; i < n; ++i) w[i] = std::uniform_real_distribution<double>(-0.6, 2.0)(rng);
  if (n > 1) w[1] = -0.8;
  return w;
}

class WeightedLossGradient : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(WeightedLossGradient, MatchesLibTorchAutogradAndFiniteDifferences) {
  const auto [name, n] = GetParam();
  const auto d = def(name);
  DefinedModel model(d, 7);
  auto s = sample(*d, n, 300 + n);
  const auto w = signed_weights(n, 77 + n);
  std::vector<double> grad(d->param_count, 0.0);
  const double loss =
      model.loss_and_grad_double(s.params.data(), s.x.data(), s.y.data(), n, grad.data(), w.data());

  auto p = to_tensor(s.params, {d->param_count}).requires_grad_();
  auto ref = libtorch_weighted_loss(name, *d, p, to_tensor(s.x, {n, d->inputs}),
                                    to_tensor(s.y, {n, d->target_width}), to_tensor(w, {n}));
  ref.backward();
  EXPECT_NEAR(loss, ref.item<double>(), 1e-12 * std::max(1.0, std::abs(loss))) << name;
  EXPECT_TRUE(close(grad, to_vector(p.grad()), 1e-9, 1e-12)) << name << " vs autograd";

  const auto idx = all_indices(d->param_count, 150);
  const auto fd = finite_differences(
      [&] { return model.loss_double(s.params.data(), s.x.data(), s.y.data(), n, w.data()); },
      s.params.data(), idx);
  EXPECT_TRUE(close(pick(grad, idx), fd, 1e-5, 1e-7)) << name << " vs finite differences";
  // Without weights the same call is the unweighted loss again (the scope ended).
  std::vector<double> g1(d->param_count, 0.0);
  model.loss_and_grad_double(s.params.data(), s.x.data(), s.y.data(), n, g1.data());
  auto q = to_tensor(s.params, {d->param_count}).requires_grad_();
  libtorch_weighted_loss(name, *d, q, to_tensor(s.x, {n, d->inputs}), to_tensor(s.y, {n, d->target_width}),
                         torch::ones({n}, torch::kFloat64))
      .backward();
  EXPECT_TRUE(close(g1, to_vector(q.grad()), 1e-9, 1e-12)) << name << " unweighted";
}

INSTANTIATE_TEST_SUITE_P(Models, WeightedLossGradient,
                         ::testing::Combine(::testing::Values("deep6", "huber_regression", "small_binary",
                                                              "small_mse", "user_weighted_loss"),
                                            ::testing::Values(1, 3, 17, 70)));

// A batch split over threads weighs each part's samples: the same loss and
// gradient as one thread (float), and the float step matches float64.
TEST(WeightedLoss, ThreadPartsGiveTheSameLossAndGradient) {
  const int saved = at::get_num_threads();
  for (const char* name : {"deep6", "small_binary", "small_mse"}) {
    const auto d = def(name);
    const int n = 48;
    auto s = sample(*d, n, 9);
    const auto wd = signed_weights(n, 5);
    std::vector<float> x(s.x.begin(), s.x.end()), y(s.y.begin(), s.y.end()), w(wd.begin(), wd.end());
    at::set_num_threads(1);
    DefinedModel one(d, 2);
    const float l1 = one.loss_and_grad(x.data(), y.data(), n, w.data());
    at::set_num_threads(2);
    DefinedModel two(d, 2);
    const float l2 = two.loss_and_grad(x.data(), y.data(), n, w.data());
    at::set_num_threads(saved);
    EXPECT_NEAR(l1, l2, 1e-5 * std::max(1.f, std::abs(l1))) << name;
    EXPECT_TRUE(torch::allclose(one.grads(), two.grads(), 1e-4, 1e-6)) << name;
    std::vector<double> gd(d->param_count, 0.0);
    const auto pd = one.params().to(torch::kFloat64).contiguous();
    const double ld =
        one.loss_and_grad_double(pd.data_ptr<double>(), s.x.data(), s.y.data(), n, gd.data(), wd.data());
    EXPECT_NEAR(l1, ld, 1e-4 * std::max(1.0, std::abs(ld))) << name;
    EXPECT_TRUE(close(to_vector(one.grads().to(torch::kFloat64)), gd, 1e-3, 1e-5)) << name;
  }
}

// A weighted evaluation is the unweighted one of the data with each event
// repeated as often as its (integer) weight says: loss, accuracy, AUC, RMSE.
TEST(WeightedMetrics, IntegerWeightsEqualRepeatedEvents) {
  for (const char* name : {"deep6", "small_binary", "small_mse"}) {
    const auto d = def(name);
    const int n = 60;
    auto s = sample(*d, n, 21);
    auto x = to_tensor(s.x, {n, d->inputs}).to(torch::kFloat32);
    auto y = to_tensor(s.y, {n, d->target_width}).to(torch::kFloat32);
    auto counts = torch::randint(1, 4, {n}, torch::TensorOptions().dtype(torch::kInt64));
    DefinedModel model(d, 4);
    const auto weighted = train::evaluate_model(model, {x, y, counts.to(torch::kFloat32)});
    const auto rows = torch::repeat_interleave(torch::arange(n), counts);
    const auto repeated = train::evaluate_model(model, {x.index_select(0, rows), y.index_select(0, rows)});
    EXPECT_NEAR(weighted.test_loss, repeated.test_loss, 1e-5) << name;
    EXPECT_NEAR(weighted.test_accuracy, repeated.test_accuracy, 1e-12) << name;
    EXPECT_NEAR(weighted.test_auc, repeated.test_auc, 1e-12) << name;
    EXPECT_NEAR(weighted.test_rmse, repeated.test_rmse, 1e-5) << name;
  }
}

// With negative weights: the weighted metrics by their definitions, event by
// event (the AUC over every signal-background pair).
TEST(WeightedMetrics, NegativeWeightsFollowTheDefinitions) {
  const int n = 80;
  torch::manual_seed(8);
  const auto scores = torch::randn({n});
  auto labels = torch::randint(2, {n}, torch::TensorOptions().dtype(torch::kInt32));
  auto w = torch::rand({n}) * 2 - 0.4;
  std::vector<float> sv(scores.data_ptr<float>(), scores.data_ptr<float>() + n),
      wv(w.data_ptr<float>(), w.data_ptr<float>() + n);
  sv[3] = sv[4];  // a tie
  std::vector<int> lv(labels.data_ptr<int>(), labels.data_ptr<int>() + n);
  lv[3] = 1, lv[4] = 0;
  double num = 0, ws = 0, wb = 0;
  for (int i = 0; i < n; ++i) (lv[i] ? ws : wb) += wv[i];
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      if (lv[i] == 1 && lv[j] == 0)
        num += double(wv[i]) * wv[j] * (sv[i] > sv[j] ? 1.0 : sv[i] == sv[j] ? 0.5 : 0.0);
  EXPECT_NEAR(metrics::weighted_roc_auc(sv, lv, wv), num / (ws * wb), 1e-12);
  std::vector<float> ones(n, 1.f);
  EXPECT_NEAR(metrics::weighted_roc_auc(sv, lv, ones), metrics::roc_auc(sv, lv), 1e-12);
  const auto roc = metrics::weighted_roc_curve(sv, lv, wv);
  EXPECT_NEAR(roc.true_positive_rate.back(), 1.0, 1e-12);
  EXPECT_NEAR(roc.false_positive_rate.back(), 1.0, 1e-12);
  // A class whose weights do not sum to a positive number is refused, by name.
  std::vector<float> negative = wv;
  for (int i = 0; i < n; ++i)
    if (lv[i] == 0) negative[i] = -1;
  EXPECT_NE(any_error_of([&] {
              metrics::weighted_roc_auc(sv, lv, negative);
            }).find("the weights of each class must sum to a positive number"),
            std::string::npos);

  // The binary model's weighted accuracy and loss, event by event.
  const auto d = def("small_binary");
  DefinedModel model(d, 3);
  auto x = torch::randn({n, 5});
  auto y = labels.to(torch::kFloat32).unsqueeze(1);
  torch::Tensor out;
  model.loss_and_outputs(x, y, &out);
  const auto e = train::evaluate_model(model, {x, y, w});
  const auto z = out.view({-1}).to(torch::kFloat64), wd = w.to(torch::kFloat64),
             yd = y.view({-1}).to(torch::kFloat64);
  const auto per = torch::nn::functional::binary_cross_entropy_with_logits(
      z, yd, torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
  EXPECT_NEAR(e.test_loss, ((per * wd).sum() / wd.sum()).item<double>(), 1e-5);
  EXPECT_NEAR(e.test_accuracy,
              ((z.gt(0).eq(yd.gt(0.5)).to(torch::kFloat64) * wd).sum() / wd.sum()).item<double>(), 1e-9);
  // Weights that sum to zero or less have no weighted mean.
  EXPECT_NE(error_of([&] { train::evaluate_model(model, {x, y, -w.abs()}); }).find("weights sum to"),
            std::string::npos);
}

// Labelled by the sign of x0 - x1, except for a "noise" half whose labels are
// the opposite. Weighted so that the noise cancels, the model learns the
// rule; the same events without weights cannot.
train::ModelData noisy_binary_set(int n, bool negative, uint64_t seed) {
  torch::manual_seed(seed);
  auto x = torch::randn({n, 5});
  auto clean = (x.select(1, 0) > x.select(1, 1)).to(torch::kFloat32);
  auto noise = 1 - clean;
  auto is_noise = torch::arange(n) % 2 == 1;
  auto y = torch::where(is_noise, noise, clean);
  torch::Tensor w;
  if (negative) {
    // Every noise event twice: once weighing +1 and once -1 (they cancel),
    // clean events weighing 1.
    auto rows = torch::nonzero(is_noise).view({-1});
    x = torch::cat({x, x.index_select(0, rows)});
    y = torch::cat({y, y.index_select(0, rows)});
    w = torch::cat({torch::ones({n}), -torch::ones({rows.size(0)})});
  } else {
    w = torch::where(is_noise, torch::full({n}, 0.02f), torch::ones({n}));
  }
  return {x, y.unsqueeze(1), w};
}

TEST(WeightedTraining, WeightsDecideWhatIsLearned) {
  torch::manual_seed(1);
  auto tx = torch::randn({400, 5});
  train::ModelData test{tx, (tx.select(1, 0) > tx.select(1, 1)).to(torch::kFloat32).unsqueeze(1)};
  for (const bool negative : {false, true})
    for (const bool sampling : {false, true}) {
      const auto data = noisy_binary_set(600, negative, 2);
      train::ModelTrainConfig c;
      c.epochs = 12;
      c.batch = 32;
      c.progress = false;
      c.optimizer.lr = 1e-2;
      c.weighted_sampling = sampling;
      std::ostringstream log;
      DefinedModel weighted(def("small_binary"), 5);
      train::train_model(weighted, data, test, c, log);
      const double acc = train::evaluate_model(weighted, test).test_accuracy;
      EXPECT_GT(acc, 0.9) << "negative " << negative << ", sampling " << sampling;
      if (!negative && !sampling) {
        // Noise weighing as much as the clean events: the model learns less.
        c.weighted_sampling = false;
        DefinedModel plain(def("small_binary"), 5);
        train::train_model(plain, {data.x, data.y}, test, c, log);
        const double plain_acc = train::evaluate_model(plain, test).test_accuracy;
        EXPECT_LT(plain_acc + 0.04, acc) << "unweighted " << plain_acc << ", weighted " << acc;
      }
    }
}

// Weighted sampling draws each epoch's events by |w|, by seed: the same run
// twice; another seed, another run; no weights: an error naming the need.
TEST(WeightedTraining, WeightedSamplingIsSeededAndNeedsWeights) {
  const auto data = noisy_binary_set(200, true, 4);
  train::ModelTrainConfig c;
  c.epochs = 2;
  c.batch = 16;
  c.progress = false;
  c.weighted_sampling = true;
  std::ostringstream log;
  DefinedModel a(def("small_binary"), 1), b(def("small_binary"), 1), other(def("small_binary"), 1);
  train::train_model(a, data, data, c, log);
  train::train_model(b, data, data, c, log);
  c.seed = 43;
  train::train_model(other, data, data, c, log);
  EXPECT_TRUE(torch::equal(a.params(), b.params()));
  EXPECT_FALSE(torch::equal(a.params(), other.params()));
  EXPECT_NE(error_of([&] {
              train::train_model(a, {data.x, data.y}, data, c, log);
            }).find("weighted sampling needs per-event weights"),
            std::string::npos);
  // One weight per sample, and a positive sum.
  EXPECT_NE(error_of([&] {
              train::train_model(a, {data.x, data.y, torch::ones({3})}, data, c, log);
            }).find("samples and 3 weights; expected one weight per sample"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              train::train_model(a, {data.x, data.y, -torch::ones({data.x.size(0)})}, data, c, log);
            }).find("the training weights sum to -"),
            std::string::npos);
  // Weights that nearly cancel (sum about 1e-6, of |w| 200): refused before a step overflows.
  auto cancelling = torch::ones({data.x.size(0)});
  cancelling.slice(0, 0, data.x.size(0) / 2).fill_(-1);
  cancelling[data.x.size(0) - 1] = 1 + 1e-6;
  EXPECT_NE(error_of([&] {
              train::train_model(a, {data.x, data.y, cancelling}, data, c, log);
            }).find("positive and negative weights nearly cancel"),
            std::string::npos);
}

class UserModelGradient : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(UserModelGradient, MatchesLibTorchAutogradAndFiniteDifferences) {
  const auto [name, n] = GetParam();
  const auto d = def(name);
  DefinedModel model(d, 7);
  expect_gradient_matches(name, model, sample(*d, n, 100 + n), n,
                          [&](const torch::Tensor& p, const torch::Tensor& x, const torch::Tensor& y) {
                            return libtorch_loss(name, *d, p, x, y);
                          });
}

INSTANTIATE_TEST_SUITE_P(Models, UserModelGradient,
                         ::testing::Combine(::testing::Values("deep6", "gelu_mlp", "huber_regression"),
                                            ::testing::Values(1, 3, 17, 70)));

TEST(UserModel, ActivationAdjointsReturnToZeroAndFloatMatchesDouble) {
  for (const char* name : {"deep6", "gelu_mlp", "huber_regression", "gw_cnn"})
    expect_float_step_clears_adjoints(name, 1e-3);
}

// The GW CNN written in the user API: the built-in's parameters for the same
// seed, and its gradient from those parameters.
TEST(UserModel, GwCnnMatchesTheBuiltInCnn) {
  const auto d = def("gw_cnn");
  const auto user_params = init_defined_params(*d, 42);
  DefinedModel builtin(cnn_definition(CnnConfig{}), 42);
  ASSERT_EQ(user_params.numel(), builtin.params().numel());
  EXPECT_TRUE(torch::equal(user_params, builtin.params()));
  for (int n : {1, 8, 33}) {
    auto x = torch::randn({n, CnnConfig{}.input_length});
    auto t = torch::randint(2, {n}).to(torch::kFloat32);
    DefinedModel user(d, 42);
    const float lu = user.loss_and_grad(x.data_ptr<float>(), t.data_ptr<float>(), n);
    const float lb = builtin.loss_and_grad(x.data_ptr<float>(), t.data_ptr<float>(), n);
    EXPECT_NEAR(lu, lb, 1e-5 * std::max(1.f, std::abs(lb))) << "batch " << n;
    const double scale = builtin.grads().abs().max().item<double>();
    const double diff = (user.grads() - builtin.grads()).abs().max().item<double>();
    EXPECT_LT(diff, 1e-4 * scale) << "batch " << n;
  }
}

// Trained from the same seed on the same windows, the user-API CNN and the
// built-in follow the same run: the same metrics per epoch, to float rounding.
TEST(UserModel, GwCnnTrainsLikeTheBuiltInCnn) {
  torch::manual_seed(3);
  const int n = 192, length = CnnConfig{}.input_length;
  auto targets = torch::randint(2, {n}).to(torch::kFloat32);
  // A chirp-like bump in the signal windows, so that there is something to learn.
  auto t = torch::linspace(0, 1, length);
  auto x = torch::randn({n, length}) + targets.unsqueeze(1) * torch::sin(200 * t * t).unsqueeze(0);
  data::BinarySplit train{x.narrow(0, 0, 128), targets.narrow(0, 0, 128), {}};
  data::BinarySplit test{x.narrow(0, 128, 64), targets.narrow(0, 128, 64), {}};

  train::BinaryTrainConfig bc;
  bc.epochs = 2;
  bc.batch = 16;
  bc.progress = false;
  std::ostringstream log;
  const auto builtin = train::train_binary(train, test, bc, log);

  DefinedModel user(def("gw_cnn"), bc.seed);
  train::ModelTrainConfig uc;
  uc.epochs = bc.epochs;
  uc.batch = bc.batch;
  uc.seed = bc.seed;
  uc.progress = false;
  const auto run = train::train_model(user, {train.x, train.targets.unsqueeze(1)},
                                      {test.x, test.targets.unsqueeze(1)}, uc, log);
  ASSERT_EQ(run.epochs.size(), builtin.epochs.size());
  for (size_t e = 0; e < run.epochs.size(); ++e) {
    const auto &u = run.epochs[e], &b = builtin.epochs[e];
    EXPECT_NEAR(u.train_loss, b.train_loss, 1e-4) << "epoch " << e + 1;
    EXPECT_NEAR(u.test_loss, b.test_loss, 1e-4) << "epoch " << e + 1;
    EXPECT_DOUBLE_EQ(u.test_accuracy, b.test_accuracy) << "epoch " << e + 1;
    EXPECT_NEAR(u.test_auc, b.test_auc, 1e-3) << "epoch " << e + 1;
  }
}

// Training with the shared trainer lowers each model's loss.
TEST(UserModel, TrainingLowersTheLoss) {
  for (const char* name : {"deep6", "gelu_mlp", "huber_regression"}) {
    const auto d = def(name);
    const int n = 256;
    auto s = sample(*d, n, 11);
    // Learnable targets: from a fixed random network of the inputs.
    auto x = to_tensor(s.x, {n, d->inputs}).to(torch::kFloat32);
    torch::manual_seed(5);
    auto w = torch::randn({d->inputs, d->target_width == 1 ? d->classes : d->target_width});
    auto score = x.matmul(w);
    torch::Tensor y =
        d->targets == define::Targets::kRegression ? score : score.argmax(1).to(torch::kFloat32).unsqueeze(1);
    DefinedModel model(d, 3);
    train::ModelData data{x, y};
    const double before = train::evaluate_model(model, data).test_loss;
    train::ModelTrainConfig c;
    c.epochs = 10;
    c.batch = 16;
    c.progress = false;
    c.optimizer.lr = 1e-2;
    std::ostringstream log;
    const auto run = train::train_model(model, data, data, c, log);
    ASSERT_EQ(run.epochs.size(), 10u) << name;
    EXPECT_LT(run.epochs.back().test_loss, 0.6 * before)
        << name << ": " << before << " -> " << run.epochs.back().test_loss;
    EXPECT_LT(run.epochs.back().train_loss, run.epochs.front().train_loss) << name;
  }
}

// The definition as a LibTorch operation: its gradient through autograd
// equals Clad's and LibTorch's own, and it composes with LibTorch code.
TEST(UserModelOperator, AutogradThroughTheDefinitionsGradient) {
  const auto d = def("huber_regression");
  for (int n : {1, 9}) {
    auto s = sample(*d, n, 40 + n);
    auto x = to_tensor(s.x, {n, d->inputs});
    auto y = to_tensor(s.y, {n, d->target_width});
    auto p = to_tensor(s.params, {d->param_count}).requires_grad_();
    // Composed: twice the model's loss plus a LibTorch penalty on all parameters.
    auto total = 2 * torchclad::model_loss("huber_regression", p, x, y) + 0.5 * p.pow(2).sum();
    total.backward();
    auto q = to_tensor(s.params, {d->param_count}).requires_grad_();
    (2 * libtorch_loss("huber_regression", *d, q, x, y) + 0.5 * q.pow(2).sum()).backward();
    EXPECT_NEAR(total.item<double>(),
                (2 * libtorch_loss("huber_regression", *d, q, x, y) + 0.5 * q.pow(2).sum()).item<double>(),
                1e-12);
    EXPECT_TRUE(close(to_vector(p.grad()), to_vector(q.grad()), 1e-9, 1e-12)) << "batch " << n;
  }
  // float32 too, and the errors name what was expected.
  auto p32 = init_defined_params(*d, 1).requires_grad_();
  auto loss = torchclad::model_loss("huber_regression", p32, torch::randn({4, 6}), torch::randn({4, 2}));
  loss.backward();
  EXPECT_EQ(p32.grad().scalar_type(), torch::kFloat32);
  EXPECT_NE(error_of([&] {
              torchclad::model_loss("huber_regression", p32, torch::randn({4, 5}), torch::randn({4, 2}));
            }).find("input"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              torchclad::model_loss("nope", p32, torch::randn({4, 6}), torch::randn({4, 2}));
            }).find("no model definition named 'nope'"),
            std::string::npos);
}

// weights_read_once(): a model that keeps the promise (the benchmark's MLP)
// takes fused steps at batch 1 with the plain steps' parameters to the bit; one
// that breaks it (a penalty on a weight) is found at its first fused step,
// said so on stderr, and steps plainly, with the penalty's gradient.
TEST(UserModel, WeightsReadOnceIsCheckedAtTheFirstFusedStep) {
  for (const std::string name : {"mlp_784_128_10", "penalty_read_once"}) {
    const auto d = def(name);
    ASSERT_TRUE(d->weights_read_once) << name;
    DefinedModel plain(d, 4), fused(d, 4);
    OptimizerConfig config;
    config.kind = "adam";
    auto opt_plain = make_flat_optimizer(config, plain.params().numel());
    auto opt_fused = make_flat_optimizer(config, fused.params().numel());
    ::testing::internal::CaptureStderr();
    for (int s = 0; s < 4; ++s) {
      auto batch = sample(*d, 1, 10 + s);
      std::vector<float> x(batch.x.begin(), batch.x.end()), y(batch.y.begin(), batch.y.end());
      const float a = plain.loss_and_grad(x.data(), y.data(), 1);
      plain.update(*opt_plain);
      ASSERT_TRUE(fused.fuses(1) || name == "penalty_read_once") << name << " step " << s;
      const float b = fused.fused_step(x.data(), y.data(), nullptr, *opt_fused);
      ASSERT_EQ(a, b) << name << " step " << s;
      ASSERT_TRUE(torch::equal(plain.params(), fused.params())) << name << " step " << s;
    }
    const std::string err = ::testing::internal::GetCapturedStderr();
    if (name == "mlp_784_128_10") {
      EXPECT_TRUE(fused.fuses(1));
      EXPECT_EQ(err, "");
    } else {
      EXPECT_FALSE(fused.fuses(1));
      EXPECT_NE(err.find("model 'penalty_read_once' declares weights_read_once(), but the gradient of "
                         "'fc1.weight' is not its layer's term alone"),
                std::string::npos)
          << err;
    }
  }
}

class UserModelSteadyState : public ::testing::TestWithParam<std::tuple<std::string, int, int>> {};

TEST_P(UserModelSteadyState, AllocatesNothing) {
  const auto [name, n, threads] = GetParam();
  const int saved = at::get_num_threads();
  at::set_num_threads(threads);
  const auto d = def(name);
  DefinedModel model(d, 1);
  auto s = sample(*d, n, 2);
  std::vector<float> x(s.x.begin(), s.x.end()), y(s.y.begin(), s.y.end());
  EXPECT_EQ(steady_state_allocations(model, x, y, n), 0);
  // With per-event weights too.
  const auto wd = signed_weights(n, 3);
  std::vector<float> w(wd.begin(), wd.end());
  EXPECT_EQ(steady_state_allocations(model, x, y, n, w.data()), 0) << "weighted";
  at::set_num_threads(saved);
}

INSTANTIATE_TEST_SUITE_P(
    Models, UserModelSteadyState,
    ::testing::Values(std::make_tuple("mlp_784_128_10", 1, 1), std::make_tuple("mlp_784_128_10", 65, 1),
                      std::make_tuple("mlp_784_128_10", 64, 2), std::make_tuple("deep6", 200, 1),
                      std::make_tuple("gelu_mlp", 70, 1), std::make_tuple("huber_regression", 70, 1),
                      std::make_tuple("gw_cnn", 1, 1), std::make_tuple("gw_cnn", 65, 2),
                      std::make_tuple("small_binary", 70, 2), std::make_tuple("small_mse", 70, 1)));

TEST(UserModelErrors, ShapeMismatchBetweenLayersNamesTheLayer) {
  try {
    define::find_definition("shape_mismatch");
    FAIL() << "a definition with mismatched layers was registered";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "model 'shape_mismatch' (ShapeMismatch): in loss(), layer 'fc2': input has width 8, "
                 "the layer expects 6");
  }
}

TEST(UserModelErrors, LayerUsedBeforeItIsDeclared) {
  try {
    define::find_definition("used_before_declared");
    FAIL() << "a definition using an undeclared layer was registered";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("a Linear layer is used before it is declared"), std::string::npos)
        << e.what();
  }
}

TEST(UserModelErrors, UnknownParameterNameListsTheKnownOnes) {
  try {
    def("gelu_mlp")->param("fc9.weight");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "model 'gelu_mlp' has no parameter 'fc9.weight'; its parameters are: fc1.weight, "
                 "fc1.bias, fc2.weight, fc2.bias, fc3.weight, fc3.bias");
  }
}

TEST(UserModelErrors, UnknownModelNameListsTheDefinedOnes) {
  try {
    define::find_definition("resnet");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no model definition named 'resnet'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("deep6"), std::string::npos) << e.what();
  }
}

TEST(UserModelErrors, BadDataNamesWhatWasExpected) {
  const auto d = def("deep6");
  DefinedModel model(d, 1);
  train::ModelData bad{torch::zeros({4, 10}), torch::zeros({4, 1})};
  try {
    train::check_model_data(*d, bad, "training");
    FAIL();
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace())
                  .find("takes 11 features per sample, but the training samples have 10"),
              std::string::npos);
  }
  train::ModelData labels{torch::zeros({2, 11}), torch::tensor({0.f, 5.f}).unsqueeze(1)};
  try {
    train::check_model_data(*d, labels, "test");
    FAIL();
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace())
                  .find("classifies into 5 classes (labels 0..4), but the test labels range from 0 to 5"),
              std::string::npos)
        << e.what_without_backtrace();
  }
}

}  // namespace
}  // namespace torchclad
