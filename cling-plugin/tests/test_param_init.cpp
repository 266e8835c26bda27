// The initialisations a model definition declares (define::Init), as
// init_defined_params draws them: each uniform init within its bound and
// reaching it (PyTorch's conventions: torch.nn's default, kaiming_uniform_
// with the ReLU gain, xavier_uniform_), with the spread of a uniform
// distribution; zeros and ones exact; normal with its standard deviation;
// the same seed the same values.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "define/definition.hpp"
#include "model/defined_model.hpp"

using namespace torchclad;
using define::Init;

namespace {

define::Definition definition_of_inits() {
  define::Definition d;
  d.name = "param-init-test";
  auto add = [&](const std::string& name, Init init, int64_t out, int64_t in) {
    define::ParamSpec p;
    p.name = name;
    p.shape = {out, in};
    p.offset = d.param_count;
    p.numel = out * in;
    p.init = init;
    p.fan_in = in;
    p.fan_out = out;
    d.param_count += p.numel;
    d.params.push_back(p);
  };
  add("default", Init::kTorchDefault, 96, 80);
  add("kaiming", Init::kKaimingUniform, 96, 80);
  add("xavier", Init::kXavierUniform, 96, 80);
  add("zeros", Init::kZeros, 4, 5);
  add("ones", Init::kOnes, 4, 5);
  add("normal", Init::kNormal, 96, 80);
  return d;
}

torch::Tensor part(const torch::Tensor& params, const define::ParamSpec& p) {
  return params.narrow(0, p.offset, p.numel);
}

}  // namespace

TEST(ParamInit, UniformInitsFillTheirBound) {
  const auto d = definition_of_inits();
  const auto params = init_defined_params(d, 7);
  for (const auto& p : d.params) {
    double bound = 0;
    if (p.init == Init::kTorchDefault) bound = 1 / std::sqrt(80.0);
    if (p.init == Init::kKaimingUniform) bound = std::sqrt(6 / 80.0);
    if (p.init == Init::kXavierUniform) bound = std::sqrt(6 / (80.0 + 96.0));
    if (bound == 0) continue;
    const auto t = part(params, p).to(torch::kFloat64);
    const double largest = t.abs().max().item<double>();
    // 7680 draws: the largest is within 0.2% of the bound but for odds of
    // 0.998^7680 ~ 2e-7; the spread of U(-b, b) is b / sqrt(3).
    EXPECT_LE(largest, bound * (1 + 1e-6)) << p.name;
    EXPECT_GE(largest, bound * 0.998) << p.name;
    EXPECT_NEAR(t.std().item<double>(), bound / std::sqrt(3.0), 0.03 * bound) << p.name;
    EXPECT_NEAR(t.mean().item<double>(), 0.0, 0.03 * bound) << p.name;
  }
}

TEST(ParamInit, ConstantAndNormalInits) {
  const auto d = definition_of_inits();
  const auto params = init_defined_params(d, 7);
  EXPECT_TRUE(torch::equal(part(params, d.params[3]), torch::zeros({20})));
  EXPECT_TRUE(torch::equal(part(params, d.params[4]), torch::ones({20})));
  const auto normal = part(params, d.params[5]).to(torch::kFloat64);
  EXPECT_NEAR(normal.std().item<double>(), 0.01, 0.0005);
  EXPECT_NEAR(normal.mean().item<double>(), 0.0, 0.0005);
}

TEST(ParamInit, TheSeedDecides) {
  const auto d = definition_of_inits();
  EXPECT_TRUE(torch::equal(init_defined_params(d, 7), init_defined_params(d, 7)));
  EXPECT_FALSE(torch::equal(init_defined_params(d, 7), init_defined_params(d, 8)));
}
