// The CNN's kernels and their gradients (conv1d, max_pool1d, binary
// cross-entropy with logits, and the whole model: the built-in Cnn
// definition as Clad differentiates it) against LibTorch autograd (float64,
// relative 1e-9) and central finite differences, at several shapes including
// batch 1 and odd lengths.
#include <cmath>
#include <tuple>

#include "gradients/gradients.hpp"
#include "kernels/binary_losses.hpp"
#include "kernels/conv1d.hpp"
#include "kernels/pooling.hpp"
#include "model/cnn_definition.hpp"
#include "test_util.hpp"

namespace torchclad {
namespace {

using namespace torchclad::testing;
namespace cd = clad::custom_derivatives::torchclad::kernels;
constexpr double kRtol = 1e-9, kAtol = 1e-12;     // Clad vs autograd, float64
constexpr double kFdRtol = 1e-5, kFdAtol = 1e-7;  // vs central differences, h = 1e-6

// [c, batch, l] channel-major buffer <-> [batch, c, l] tensor.
torch::Tensor from_channel_major(const std::vector<double>& v, int c, int batch, int l) {
  return to_tensor(v, {c, batch, l}).permute({1, 0, 2}).contiguous();
}
std::vector<double> to_channel_major(const torch::Tensor& t) {
  return to_vector(t.permute({1, 0, 2}).contiguous());
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

struct ConvCase {
  int batch, cin, lin, cout, k;
};

class Conv1dPullback : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv1dPullback, MatchesAutogradAndFiniteDifferences) {
  const auto c = GetParam();
  const int lout = c.lin - c.k + 1;
  auto x = random_vector(int64_t{c.cin} * c.batch * c.lin, 21),
       w = random_vector(int64_t{c.cout} * c.cin * c.k, 22), b = random_vector(c.cout, 23),
       dy = random_vector(int64_t{c.cout} * c.batch * lout, 24);
  std::vector<double> y(dy.size()), col(kernels::conv1d_col_size(c.batch, c.cin, c.k, lout));
  kernels::conv1d_forward(x.data(), w.data(), b.data(), y.data(), col.data(), c.batch, c.cin, c.lin, c.cout,
                          c.k);

  auto xt = from_channel_major(x, c.cin, c.batch, c.lin).requires_grad_(),
       wt = to_tensor(w, {c.cout, c.cin, c.k}).requires_grad_(), bt = to_tensor(b, {c.cout}).requires_grad_();
  auto yt = torch::conv1d(xt, wt, bt);
  EXPECT_TRUE(close(y, to_channel_major(yt), kRtol, kAtol));
  yt.backward(from_channel_major(dy, c.cout, c.batch, lout));

  std::vector<double> dx(x.size(), 0.0), dw(w.size(), 0.0), db(b.size(), 0.0), dcol(col.size(), 0.0),
      seed = dy;
  cd::conv1d_forward_pullback(x.data(), w.data(), b.data(), y.data(), col.data(), c.batch, c.cin, c.lin,
                              c.cout, c.k, dx.data(), dw.data(), db.data(), seed.data(), dcol.data(), nullptr,
                              nullptr, nullptr, nullptr, nullptr);
  EXPECT_TRUE(close(dx, to_channel_major(xt.grad()), kRtol, kAtol));
  EXPECT_TRUE(close(dw, to_vector(wt.grad()), kRtol, kAtol));
  EXPECT_TRUE(close(db, to_vector(bt.grad()), kRtol, kAtol));
  EXPECT_TRUE(close(seed, std::vector<double>(seed.size(), 0.0), 0, 0)) << "dy is consumed";
  EXPECT_TRUE(close(dcol, std::vector<double>(dcol.size(), 0.0), 0, 0)) << "scratch adjoint";

  std::vector<double> dw2(w.size(), 0.0), db2(b.size(), 0.0);
  seed = dy;
  cd::conv1d_forward_const_input_pullback(x.data(), w.data(), b.data(), y.data(), col.data(), c.batch, c.cin,
                                          c.lin, c.cout, c.k, dw2.data(), db2.data(), seed.data(),
                                          dcol.data(), nullptr, nullptr, nullptr, nullptr, nullptr);
  EXPECT_TRUE(close(dw2, dw, 0, 0));
  EXPECT_TRUE(close(db2, db, 0, 0));

  auto f = [&] {
    std::vector<double> out(dy.size());
    kernels::conv1d_forward(x.data(), w.data(), b.data(), out.data(), col.data(), c.batch, c.cin, c.lin,
                            c.cout, c.k);
    return dot(dy, out);
  };
  auto iw = all_indices(w.size()), ix = all_indices(x.size()), ib = all_indices(b.size());
  EXPECT_TRUE(close(pick(dw, iw), finite_differences(f, w.data(), iw), kFdRtol, kFdAtol));
  EXPECT_TRUE(close(pick(dx, ix), finite_differences(f, x.data(), ix), kFdRtol, kFdAtol));
  EXPECT_TRUE(close(pick(db, ib), finite_differences(f, b.data(), ib), kFdRtol, kFdAtol));
}

// Layers with cin * k <= 32 run forward directly, <= 128 their weight gradient
// when batch * lout >= 256 (conv1d_direct.hpp), the others im2col + GEMM. (9, 4, 1000, 3, 7): the
// input gradient in several chunks of `col` (kConv1dColBudget); (5, 9, 600,
// 3, 8): im2col in several.
INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv1dPullback,
    ::testing::Values(ConvCase{1, 1, 1, 1, 1}, ConvCase{1, 1, 17, 3, 4}, ConvCase{3, 2, 11, 4, 3},
                      ConvCase{5, 3, 23, 2, 5}, ConvCase{2, 8, 40, 16, 8}, ConvCase{1, 1, 16, 8, 16},
                      ConvCase{9, 4, 1000, 3, 7}, ConvCase{5, 9, 600, 3, 8},
                      // the direct paths' edges: cin * k at the forward bound
                      // of 32 and just over, at the weight gradient's 128 and
                      // over, its 256 positions and one fewer, k = 32, cout
                      // not a multiple of the block of 4, the GW CNN's layers
                      ConvCase{2, 8, 100, 16, 4}, ConvCase{1, 32, 20, 3, 1}, ConvCase{2, 1, 100, 2, 32},
                      ConvCase{3, 11, 40, 6, 3}, ConvCase{2, 16, 135, 2, 8}, ConvCase{2, 43, 30, 5, 3},
                      ConvCase{2, 4, 135, 5, 8}, ConvCase{1, 4, 262, 5, 8}, ConvCase{3, 2, 70, 5, 9},
                      ConvCase{2, 1, 2048, 8, 16}, ConvCase{2, 16, 125, 32, 8}));

// The direct loops give im2col + GEMM's results, forward and weight gradient,
// whichever path a layer of that shape takes in training (both are general):
// float64 to 1e-12, float32 (the engine's type: 8-lane vectors, blocks of 16
// positions) to 1e-5 of the largest value; one block of 8 positions and the
// last few one at a time (lout 31, 10, 9, 5, 3); with an inf and a NaN in x,
// non-finite where the GEMM is.
template <typename T>
void direct_matches_im2col(double rtol, bool non_finite) {
  for (const auto& c : {ConvCase{1, 1, 2048, 8, 16}, ConvCase{3, 4, 508, 16, 8}, ConvCase{2, 3, 37, 5, 7},
                        ConvCase{4, 2, 19, 9, 10}, ConvCase{1, 1, 40, 2, 32}, ConvCase{2, 16, 125, 32, 8},
                        ConvCase{2, 20, 50, 3, 9}, ConvCase{2, 2, 9, 3, 5}, ConvCase{100, 3, 4, 5, 2}}) {
    const int lout = c.lin - c.k + 1;
    auto as_t = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
    auto as_double = [](const std::vector<T>& v) { return std::vector<double>(v.begin(), v.end()); };
    auto x = as_t(random_vector(int64_t{c.cin} * c.batch * c.lin, 31)),
         w = as_t(random_vector(int64_t{c.cout} * c.cin * c.k, 32)), b = as_t(random_vector(c.cout, 33)),
         dy = as_t(random_vector(int64_t{c.cout} * c.batch * lout, 34));
    if (non_finite) x[x.size() / 3] = INFINITY, x[x.size() - 1] = NAN;
    std::vector<T> col(kernels::conv1d_col_size(c.batch, c.cin, c.k, lout)), y(dy.size()), y_gemm(dy.size());
    kernels::conv1d_direct_forward(x.data(), w.data(), b.data(), y.data(), c.batch, c.cin, c.lin, c.cout,
                                   c.k);
    kernels::conv1d_forward_im2col(x.data(), w.data(), b.data(), y_gemm.data(), col.data(), c.batch, c.cin,
                                   c.lin, c.cout, c.k);
    std::vector<T> dw(w.size(), T(0.5)), dw_gemm(w.size(), T(0.5));  // both accumulate
    kernels::conv1d_direct_weight_grad(x.data(), dy.data(), dw.data(), c.batch, c.cin, c.lin, c.cout, c.k);
    kernels::conv1d_weight_grad_im2col(x.data(), dy.data(), col.data(), c.batch, c.cin, c.lin, c.cout, c.k,
                                       dw_gemm.data());
    for (const auto& [got, want, what] : {std::tuple{&y, &y_gemm, "y"}, std::tuple{&dw, &dw_gemm, "dw"}}) {
      double scale = 0;
      for (T v : *want)
        if (std::isfinite(v)) scale = std::max(scale, std::abs(double(v)));
      EXPECT_TRUE(close(as_double(*got), as_double(*want), rtol, rtol * scale))
          << what << ", batch " << c.batch << " cin " << c.cin << " lin " << c.lin << " cout " << c.cout
          << " k " << c.k;
    }
  }
}

TEST(Conv1dDirect, MatchesIm2colGemmFloat64) { direct_matches_im2col<double>(1e-12, false); }
TEST(Conv1dDirect, MatchesIm2colGemmFloat32) { direct_matches_im2col<float>(1e-5, false); }
TEST(Conv1dDirect, NonFiniteWhereTheGemmIs) {
  direct_matches_im2col<double>(1e-12, true);
  direct_matches_im2col<float>(1e-5, true);
}

class MaxPool1dPullback : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(MaxPool1dPullback, MatchesAutogradAndFiniteDifferences) {
  const auto [rows, lin, pool] = GetParam();
  const int lout = lin / pool;
  auto x = random_vector(int64_t{rows} * lin, 31), dy = random_vector(int64_t{rows} * lout, 32);
  std::vector<double> y(dy.size());
  kernels::max_pool1d_forward(x.data(), y.data(), rows, lin, pool);
  auto xt = to_tensor(x, {rows, 1, lin}).requires_grad_();
  auto yt = torch::max_pool1d(xt, pool);
  EXPECT_TRUE(close(y, to_vector(yt), 0, 0));
  yt.backward(to_tensor(dy, {rows, 1, lout}));
  std::vector<double> dx(x.size(), 0.0), seed = dy;
  cd::max_pool1d_forward_pullback(x.data(), y.data(), rows, lin, pool, dx.data(), seed.data(), nullptr,
                                  nullptr, nullptr);
  EXPECT_TRUE(close(dx, to_vector(xt.grad()), kRtol, kAtol));
  EXPECT_TRUE(close(seed, std::vector<double>(seed.size(), 0.0), 0, 0));
  auto f = [&] {
    std::vector<double> out(dy.size());
    kernels::max_pool1d_forward(x.data(), out.data(), rows, lin, pool);
    return dot(dy, out);
  };
  auto ix = all_indices(x.size());
  EXPECT_TRUE(close(pick(dx, ix), finite_differences(f, x.data(), ix), kFdRtol, kFdAtol));
}

// Odd lengths drop a trailing partial window, as PyTorch does.
INSTANTIATE_TEST_SUITE_P(Shapes, MaxPool1dPullback,
                         ::testing::Values(std::make_tuple(1, 4, 4), std::make_tuple(3, 9, 4),
                                           std::make_tuple(5, 17, 3), std::make_tuple(2, 7, 1),
                                           std::make_tuple(4, 30, 5), std::make_tuple(1, 5, 5)));

// Ties and NaN: the gradient goes where PyTorch sends it (first maximum, the NaN).
TEST(MaxPool1dPullbackEdges, TiesAndNaNFollowPyTorch) {
  std::vector<double> x{1, 3, 3, 0, 2, 2, 2, 2, 5, NAN, 1, 7};
  const int rows = 1, lin = 12, pool = 4, lout = 3;
  std::vector<double> y(lout), dx(lin, 0.0), dy{1.5, -2.0, 0.5};
  kernels::max_pool1d_forward(x.data(), y.data(), rows, lin, pool);
  cd::max_pool1d_forward_pullback(x.data(), y.data(), rows, lin, pool, dx.data(), dy.data(), nullptr, nullptr,
                                  nullptr);
  auto xt = to_tensor(x, {1, 1, lin}).requires_grad_();
  auto yt = torch::max_pool1d(xt, pool);
  EXPECT_TRUE(close(y, to_vector(yt), 0, 0));
  yt.backward(torch::tensor({1.5, -2.0, 0.5}, torch::kFloat64).view({1, 1, lout}));
  EXPECT_TRUE(close(dx, to_vector(xt.grad()), 0, 0));
}

class BceGradient : public ::testing::TestWithParam<int> {};

TEST_P(BceGradient, MatchesAutogradAndFiniteDifferences) {
  const int n = GetParam();
  auto z = random_vector(n, 41);
  for (int i = 0; i < n; i += 5) z[i] *= 12;  // large |z|, where the stable form matters
  std::vector<double> y(n);
  for (int i = 0; i < n; ++i) y[i] = (i % 3 == 0) ? 1.0 : (i % 3 == 1 ? 0.0 : 0.25);
  std::vector<double> dz(n, 0.0), dyt(n, 0.0);
  grad::binary_cross_entropy_with_logits(z.data(), y.data(), n, dz.data(), dyt.data());

  auto zt = to_tensor(z, {n}).requires_grad_(), yt = to_tensor(y, {n}).requires_grad_();
  auto loss = torch::binary_cross_entropy_with_logits(zt, yt);
  loss.backward();
  EXPECT_NEAR(kernels::binary_cross_entropy_with_logits(z.data(), y.data(), n), loss.item<double>(),
              1e-12 * std::max(1.0, std::abs(loss.item<double>())));
  EXPECT_TRUE(close(dz, to_vector(zt.grad()), kRtol, kAtol));
  EXPECT_TRUE(close(dyt, to_vector(yt.grad()), kRtol, kAtol));

  auto f = [&] { return kernels::binary_cross_entropy_with_logits(z.data(), y.data(), n); };
  auto idx = all_indices(n);
  EXPECT_TRUE(close(pick(dz, idx), finite_differences(f, z.data(), idx), kFdRtol, kFdAtol));
  EXPECT_TRUE(close(pick(dyt, idx), finite_differences(f, y.data(), idx), kFdRtol, kFdAtol));
}

INSTANTIATE_TEST_SUITE_P(Sizes, BceGradient, ::testing::Values(1, 7, 130));

// Far out on both sides the loss and its gradient stay finite and exact.
TEST(BceGradientEdges, ExtremeLogits) {
  std::vector<double> z{800, -800, 40, -40, INFINITY, -INFINITY}, y{0, 1, 1, 0, 1, 0};
  const int n = 6;
  std::vector<double> dz(n, 0.0), dy(n, 0.0);
  grad::binary_cross_entropy_with_logits(z.data(), y.data(), n, dz.data(), dy.data());
  EXPECT_NEAR(kernels::binary_cross_entropy_with_logits(z.data(), y.data(), 4),
              (800.0 + 800.0 + 2 * std::log1p(std::exp(-40.0))) / 4, 1e-12);
  const double expected[] = {1.0 / n, -1.0 / n, 0, 0, 0, 0};
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE(std::isfinite(dz[i])) << i;
    EXPECT_NEAR(dz[i], expected[i], 1e-15) << i;
  }
}

// The model level: Clad's gradient of the whole CNN's loss.
struct CnnCase {
  CnnConfig config;
  int batch;
  std::string name;
};

// The built-in Cnn as a definition configured at run time
// (models/cnn_of_blocks.h): Clad's float64 gradient of the whole definition
// against LibTorch autograd of the same network and central differences.
class CnnDefinitionGradient : public ::testing::TestWithParam<CnnCase> {};

TEST_P(CnnDefinitionGradient, MatchesAutogradAndFiniteDifferences) {
  const auto& c = GetParam();
  const auto def = cnn_definition(c.config);
  const int n = c.batch, length = c.config.input_length;
  auto params = random_vector(def->param_count, 21);
  for (auto& v : params) v *= 0.3;
  auto x = random_vector(int64_t{n} * length, 22);
  std::vector<double> y(n);
  for (int i = 0; i < n; ++i) y[i] = (3 * i + 1) % 2;
  std::vector<double> acts(def->acts_per_sample * n, 0.0), d_acts(acts.size(), 0.0),
      d_params(def->param_count, 0.0);
  const double loss = def->grad_d(def->instance.get(), params.data(), acts.data(), x.data(), y.data(), n,
                                  d_params.data(), d_acts.data());
  // Every pullback consumed its adjoint: the engine relies on this to skip
  // resetting d_acts between steps.
  EXPECT_TRUE(close(d_acts, std::vector<double>(d_acts.size(), 0.0), 0, 0));

  auto p = to_tensor(params, {def->param_count}).requires_grad_();
  auto view = [&](size_t i) {
    const auto& s = def->params[i];
    return p.narrow(0, s.offset, s.numel).view(s.shape);
  };
  auto h = to_tensor(x, {n, length}).unsqueeze(1);
  const size_t blocks = c.config.blocks.size();
  for (size_t b = 0; b < blocks; ++b)
    h = torch::max_pool1d(torch::relu(torch::conv1d(h, view(2 * b), view(2 * b + 1))),
                          c.config.blocks[b].pool);
  h = torch::relu(torch::nn::functional::linear(h.flatten(1), view(2 * blocks), view(2 * blocks + 1)));
  auto logits = torch::nn::functional::linear(h, view(2 * blocks + 2), view(2 * blocks + 3)).squeeze(1);
  auto ref = torch::binary_cross_entropy_with_logits(logits, torch::tensor(y, torch::kFloat64));
  ref.backward();
  EXPECT_NEAR(loss, ref.item<double>(), 1e-12 * std::max(1.0, std::abs(loss)));
  EXPECT_TRUE(close(d_params, to_vector(p.grad()), kRtol, kAtol));

  auto f = [&] {
    std::vector<double> a(def->acts_per_sample * n, 0.0);
    return def->loss_d(def->instance.get(), params.data(), a.data(), x.data(), y.data(), n);
  };
  auto idx = all_indices(def->param_count, 120);
  EXPECT_TRUE(close(pick(d_params, idx), finite_differences(f, params.data(), idx), kFdRtol, kFdAtol));
}

// One to four blocks at batch 1, 3 and 67, odd lengths and pools that leave
// a partial window, and the gravitational-wave default.
std::vector<CnnCase> cnn_cases() {
  std::vector<CnnCase> cases{{{40, {{3, 5, 2}}, 6}, 1, "one_block_b1"},
                             {{64, {{3, 5, 2}, {4, 3, 3}}, 7}, 1, "two_blocks_b1"},
                             {{64, {{3, 5, 2}, {4, 3, 3}}, 7}, 9, "two_blocks_b9"},
                             {{90, {{2, 4, 2}, {3, 3, 2}, {4, 3, 2}, {2, 2, 2}}, 5}, 3, "four_blocks_b3"}};
  const CnnConfig two{41, {{3, 5, 2}, {4, 3, 3}}, 6};
  const CnnConfig one{23, {{2, 4, 4}}, 3};
  const CnnConfig four{97, {{3, 4, 2}, {5, 3, 2}, {2, 3, 2}, {3, 2, 2}}, 5};
  for (int batch : {1, 3, 67}) {
    cases.push_back({two, batch, "two_blocks_41_b" + std::to_string(batch)});
    cases.push_back({one, batch, "one_block_23_b" + std::to_string(batch)});
    cases.push_back({four, batch, "four_blocks_97_b" + std::to_string(batch)});
  }
  cases.push_back({CnnConfig{}, 2, "gw_default_b2"});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Cases, CnnDefinitionGradient, ::testing::ValuesIn(cnn_cases()),
                         [](const auto& info) { return info.param.name; });

// Float32, the engine's working precision, against the float64 gradient of
// the same values (the gravitational-wave default at batch 9).
TEST(CnnDefinitionGradientFloat32, WithinTolerance) {
  const auto def = cnn_definition(CnnConfig{});
  const int batch = 9, length = CnnConfig{}.input_length;
  auto params64 = random_vector(def->param_count, 53);
  for (auto& p : params64) p *= 0.1;
  auto x64 = random_vector(int64_t{batch} * length, 54);
  std::vector<float> params(params64.begin(), params64.end()), x(x64.begin(), x64.end()), y(batch);
  for (int i = 0; i < batch; ++i) y[i] = i % 2;
  std::vector<float> acts(def->acts_per_sample * batch, 0.f), d_acts(acts.size(), 0.f),
      d_params(def->param_count, 0.f);
  const float loss = def->grad_f(def->instance.get(), params.data(), acts.data(), x.data(), y.data(), batch,
                                 d_params.data(), d_acts.data());
  std::vector<double> p64(params.begin(), params.end()), xd(x.begin(), x.end()), y64(y.begin(), y.end());
  std::vector<double> acts64(acts.size(), 0.0), d_acts64(acts.size(), 0.0), d_params64(def->param_count, 0.0);
  const double loss64 = def->grad_d(def->instance.get(), p64.data(), acts64.data(), xd.data(), y64.data(),
                                    batch, d_params64.data(), d_acts64.data());
  EXPECT_NEAR(loss, loss64, 1e-5 * std::max(1.0, std::abs(loss64)));
  EXPECT_TRUE(close(std::vector<double>(d_params.begin(), d_params.end()), d_params64, 1e-4, 1e-6));
}

// Shapes the Cnn cannot take are refused with what was expected and found.
TEST(CnnDefinition, RejectsBadShapes) {
  // cnn_definition throws std::runtime_error (the operators add their name).
  auto error = [](const CnnConfig& c) -> std::string {
    try {
      cnn_definition(c);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error({2048, {}, 64}).find("1 to 16 conv blocks, found 0"), std::string::npos);
  EXPECT_NE(error({2048, std::vector<ConvBlockConfig>(17, {2, 2, 1}), 8}).find("found 17"),
            std::string::npos);
  EXPECT_NE(
      error({10, {{2, 11, 1}}, 8}).find("(kernel 11, pool 1) on 10 samples: the signal shrinks to nothing"),
      std::string::npos);
  EXPECT_NE(
      error({10, {{2, 3, 9}}, 8}).find("(kernel 3, pool 9) on 10 samples: the signal shrinks to nothing"),
      std::string::npos);
  EXPECT_NE(error({10, {{0, 3, 2}}, 8}).find("needs channels, kernel and pool of at least 1, found 0, 3, 2"),
            std::string::npos);
  EXPECT_NE(
      error({2048, {{8, 16, 4}}, 0}).find("input_length and hidden must be at least 1, found 2048 and 0"),
      std::string::npos);
  EXPECT_NE(error({0, {{8, 16, 4}}, 64}).find("input_length and hidden must be at least 1, found 0 and 64"),
            std::string::npos);
}

}  // namespace
}  // namespace torchclad
