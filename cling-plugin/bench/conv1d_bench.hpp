#pragma once
// The two ways kernels/conv1d.hpp computes a Conv1d layer, timed against each
// other on the GW CNN's three layer shapes: the direct loops
// (conv1d_direct.hpp) and im2col + GEMM, the forward pass and the weight
// gradient, float32, one thread, interleaved round by round. A layer takes
// the direct path where conv1d_direct_forward_fits / _weight_grad_fits say
// so; these records show what those bounds are worth on this machine.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <random>
#include <vector>

#include "kernels/conv1d.hpp"

namespace torchclad::bench {

struct Conv1dLayer {
  const char* name;
  int cin, lin, cout, k;
};
// models/cnn_of_blocks.h's default: 2048 samples, c8k16p4, c16k8p4, c32k8p4.
inline constexpr Conv1dLayer kGwConvLayers[] = {
    {"conv1", 1, 2048, 8, 16}, {"conv2", 8, 508, 16, 8}, {"conv3", 16, 125, 32, 8}};

template <class F>
double conv1d_median_us(F&& f, int steps) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> t(steps);
  for (auto& s : t) {
    const auto start = Clock::now();
    f();
    s = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  }
  std::nth_element(t.begin(), t.begin() + steps / 2, t.end());
  return t[steps / 2];
}

// max |a - b| over max |b|.
inline double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return 1.0;  // none here: random finite inputs
    diff = std::max(diff, double(std::abs(a[i] - b[i])));
    scale = std::max(scale, double(std::abs(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

// One record per layer, batch and pass: the median over rounds of each
// round's median µs, for each path. The caller sets one thread.
inline void write_conv1d_records(const std::vector<int>& batches, int rounds, int steps, std::ostream& json,
                                 bool& first) {
  namespace tk = torchclad::kernels;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (int batch : batches)
    for (const Conv1dLayer& l : kGwConvLayers) {
      const int lout = l.lin - l.k + 1;
      std::vector<float> x(size_t(l.cin) * batch * l.lin), w(size_t(l.cout) * l.cin * l.k), b(l.cout),
          y(size_t(l.cout) * batch * lout), dy(y.size()), dw(w.size()),
          col(tk::conv1d_col_size(batch, l.cin, l.k, lout));
      for (auto* v : {&x, &w, &b, &dy})
        for (auto& e : *v) e = normal(rng);
      auto direct_forward = [&] {
        tk::conv1d_direct_forward(x.data(), w.data(), b.data(), y.data(), batch, l.cin, l.lin, l.cout, l.k);
      };
      auto im2col_forward = [&] {
        tk::conv1d_forward_im2col(x.data(), w.data(), b.data(), y.data(), col.data(), batch, l.cin, l.lin,
                                  l.cout, l.k);
      };
      auto direct_weight_grad = [&] {
        tk::conv1d_direct_weight_grad(x.data(), dy.data(), dw.data(), batch, l.cin, l.lin, l.cout, l.k);
      };
      auto im2col_weight_grad = [&] {
        tk::conv1d_weight_grad_im2col(x.data(), dy.data(), col.data(), batch, l.cin, l.lin, l.cout, l.k,
                                      dw.data());
      };
      std::vector<double> times[4];  // direct forward, im2col forward, direct dw, im2col dw
      for (int r = 0; r < rounds; ++r) {
        for (int warm = 0; warm < 3; ++warm)
          direct_forward(), im2col_forward(), direct_weight_grad(), im2col_weight_grad();
        times[0].push_back(conv1d_median_us(direct_forward, steps));
        times[1].push_back(conv1d_median_us(im2col_forward, steps));
        times[2].push_back(conv1d_median_us(direct_weight_grad, steps));
        times[3].push_back(conv1d_median_us(im2col_weight_grad, steps));
      }
      for (auto& t : times) std::sort(t.begin(), t.end());
      // The two paths' results apart, relative to the largest value: a record
      // of a wrong kernel says so (tests/bench_conv1d.sh checks it).
      std::vector<float> y2(y.size()), dw2(dw.size());
      direct_forward();
      tk::conv1d_forward_im2col(x.data(), w.data(), b.data(), y2.data(), col.data(), batch, l.cin, l.lin,
                                l.cout, l.k);
      std::fill(dw.begin(), dw.end(), 0.f);
      direct_weight_grad();
      tk::conv1d_weight_grad_im2col(x.data(), dy.data(), col.data(), batch, l.cin, l.lin, l.cout, l.k,
                                    dw2.data());
      const double diff[2] = {relative_difference(y, y2), relative_difference(dw, dw2)};
      const struct {
        const char* pass;
        const std::vector<double>&direct, &im2col;
        bool used;
        double diff;
      } passes[] = {{"forward", times[0], times[1], tk::conv1d_direct_forward_fits(l.cin, l.k), diff[0]},
                    {"weight gradient", times[2], times[3],
                     tk::conv1d_direct_weight_grad_fits(l.cin, l.k, batch, lout), diff[1]}};
      for (const auto& p : passes) {
        char rec[512];
        std::snprintf(
            rec, sizeof rec,
            "%s\n  {\"kind\": \"conv1d\", \"layer\": \"%s\", \"cin\": %d, \"lin\": %d, \"cout\": %d, "
            "\"k\": %d, \"batch\": %d, \"pass\": \"%s\", \"direct_us\": %.3f, \"im2col_gemm_us\": %.3f, "
            "\"direct_used\": %s, \"max_relative_difference\": %.3g, \"threads\": 1}",
            first ? "" : ",", l.name, l.cin, l.lin, l.cout, l.k, batch, p.pass, p.direct[rounds / 2],
            p.im2col[rounds / 2], p.used ? "true" : "false", p.diff);
        json << rec;
        first = false;
      }
    }
}

}  // namespace torchclad::bench
