// torchclad-bench-conv1d: the two ways kernels/conv1d.hpp computes a Conv1d
// layer, timed against each other in one process on the GW CNN's three layer
// shapes: the direct loops (conv1d_direct.hpp) and im2col + GEMM, forward and
// weight gradient, float32, one thread. A layer takes the direct path where
// conv1d_direct_forward_fits / conv1d_direct_weight_grad_fits(cin, k) say so;
// this measures what those bounds are worth.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <ATen/Parallel.h>

#include "kernels/conv1d.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace k = torchclad::kernels;

struct Layer {
  const char* name;
  int cin, lin, cout, kernel;
};
// models/cnn_of_blocks.h's default: 2048 samples, c8k16p4, c16k8p4, c32k8p4.
constexpr Layer kLayers[] = {{"conv1", 1, 2048, 8, 16}, {"conv2", 8, 508, 16, 8}, {"conv3", 16, 125, 32, 8}};

template <class F>
double median_us(F&& f, int steps) {
  std::vector<double> t(steps);
  for (auto& s : t) {
    const auto start = Clock::now();
    f();
    s = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  }
  std::nth_element(t.begin(), t.begin() + steps / 2, t.end());
  return t[steps / 2];
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

int usage(const char* error) {
  if (error) std::fprintf(stderr, "torchclad-bench-conv1d: %s\n", error);
  std::fprintf(error ? stderr : stdout,
               "usage: torchclad-bench-conv1d [--batches 1,32] [--rounds 5] [--steps 30] [--out FILE.json]\n"
               "Times the GW CNN's Conv1d layers computed directly and by im2col + GEMM (forward and\n"
               "weight gradient, float32, 1 thread), the two interleaved round by round; prints the\n"
               "median over rounds of each round's median µs, and writes JSON records with --out.\n");
  return error ? 2 : 0;
}

bool parse_positive(const std::string& s, int& out) {
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < 1 || v > 1 << 20) return false;
  out = static_cast<int>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> batches = {1, 32};
  int rounds = 5, steps = 30;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") return usage(nullptr);
    if (i + 1 >= argc) return usage(("option " + a + " needs a value").c_str());
    const std::string v = argv[++i];
    if (a == "--batches") {
      batches.clear();
      size_t start = 0;
      while (start <= v.size()) {
        const size_t comma = std::min(v.find(',', start), v.size());
        int b = 0;
        if (!parse_positive(v.substr(start, comma - start), b))
          return usage(("--batches expects positive integers separated by commas, found '" + v + "'").c_str());
        batches.push_back(b);
        start = comma + 1;
      }
    } else if (a == "--rounds" || a == "--steps") {
      if (!parse_positive(v, a == "--rounds" ? rounds : steps))
        return usage((a + " expects a positive integer, found '" + v + "'").c_str());
    } else if (a == "--out") {
      out = v;
    } else {
      return usage(("unknown option " + a).c_str());
    }
  }
  at::set_num_threads(1);
  torchclad::blas::SequentialScope sequential;

  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::string json = "[";
  std::printf("| layer | batch | pass | direct, µs | im2col + GEMM, µs | im2col ÷ direct |\n|---|---:|---|---:|---:|---:|\n");
  for (int batch : batches)
    for (const Layer& l : kLayers) {
      const int lout = l.lin - l.kernel + 1;
      std::vector<float> x(size_t(l.cin) * batch * l.lin), w(size_t(l.cout) * l.cin * l.kernel), b(l.cout),
          y(size_t(l.cout) * batch * lout), dy(y.size()), dw(w.size());
      std::vector<float> col(k::conv1d_col_size(batch, l.cin, l.kernel, lout));
      for (auto* v : {&x, &w, &b, &dy})
        for (auto& e : *v) e = normal(rng);
      auto direct_fwd = [&] { k::conv1d_direct_forward(x.data(), w.data(), b.data(), y.data(), batch, l.cin, l.lin, l.cout, l.kernel); };
      auto gemm_fwd = [&] {
        k::conv1d_forward_im2col(x.data(), w.data(), b.data(), y.data(), col.data(), batch, l.cin, l.lin, l.cout,
                                 l.kernel);
      };
      auto direct_dw = [&] { k::conv1d_direct_weight_grad(x.data(), dy.data(), dw.data(), batch, l.cin, l.lin, l.cout, l.kernel); };
      auto gemm_dw = [&] {
        k::conv1d_weight_grad_im2col(x.data(), dy.data(), col.data(), batch, l.cin, l.lin, l.cout, l.kernel,
                                     dw.data());
      };
      struct Pass {
        const char* name;
        std::vector<double> direct, gemm;
      } passes[2] = {{"forward", {}, {}}, {"weight gradient", {}, {}}};
      for (int r = 0; r < rounds; ++r) {
        for (int warm = 0; warm < 3; ++warm) direct_fwd(), gemm_fwd(), direct_dw(), gemm_dw();
        passes[0].direct.push_back(median_us(direct_fwd, steps));
        passes[0].gemm.push_back(median_us(gemm_fwd, steps));
        passes[1].direct.push_back(median_us(direct_dw, steps));
        passes[1].gemm.push_back(median_us(gemm_dw, steps));
      }
      for (const Pass& p : passes) {
        const double d = median(p.direct), g = median(p.gemm);
        const bool chosen = p.name == passes[0].name ? k::conv1d_direct_forward_fits(l.cin, l.kernel)
                                                     : k::conv1d_direct_weight_grad_fits(l.cin, l.kernel);
        std::printf("| %s (%d→%d, k%d, %d samples) | %d | %s | %.1f%s | %.1f%s | %.2f× |\n", l.name, l.cin,
                    l.cout, l.kernel, l.lin, batch, p.name, d, chosen ? " (used)" : "", g, chosen ? "" : " (used)",
                    g / d);
        char rec[512];
        std::snprintf(rec, sizeof rec,
                      "%s\n {\"kind\": \"conv1d-kernel\", \"layer\": \"%s\", \"cin\": %d, \"lin\": %d, \"cout\": %d, "
                      "\"k\": %d, \"batch\": %d, \"pass\": \"%s\", \"direct_us\": %.3f, \"im2col_gemm_us\": %.3f, "
                      "\"direct_chosen\": %s, \"rounds\": %d, \"steps\": %d}",
                      json.size() > 1 ? "," : "", l.name, l.cin, l.lin, l.cout, l.kernel, batch, p.name, d, g,
                      chosen ? "true" : "false", rounds, steps);
        json += rec;
      }
    }
  json += "\n]\n";
  if (!out.empty()) {
    std::ofstream f(out);
    f << json;
    if (!f) return std::fprintf(stderr, "torchclad-bench-conv1d: cannot write %s\n", out.c_str()), 1;
  }
  return 0;
}
