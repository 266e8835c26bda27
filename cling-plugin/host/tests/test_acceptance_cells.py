"""Issue 12's acceptance models as a user writes them in a notebook: each
defined in a %%clad cell (copied from cling-plugin/tests/test_user_models.cpp:
a 6-layer MLP written as a loop, an MLP with a user-written GELU through
TORCHCLAD_ACTIVATION, a regression with a user-written Huber loss through
TORCHCLAD_LOSS), then used from a plain cell: check_gradients (Clad's float64
gradient against finite differences) passes, a few epochs of training lower
the loss, and the float64 gradient of one batch (torchclad::loss_gradient) is
written out with the parameters and the batch; here the same network in
PyTorch (float64 autograd) from those parameters gives the same gradient, to
relative 1e-9.

Also which %%clad cells get LibTorch's headers: model cells do (they are
compiled by model_compiler with C++20 and LibTorch's include dirs); helper
cells without TORCHCLAD_MODEL go through ACLiC, whose rootcling and whose
dictionary are parsed by cling (C++17), and LibTorch's headers need C++20
(ATen.h: "C++20 or later compatible compiler is required"), so they are not
on its include path (%lsmagic says so)."""

import math

import numpy as np
import pytest

from host_client import stderr_of, stdout_of

torch = pytest.importorskip("torch")
F = torch.nn.functional

# ---- The definitions, as in cling-plugin/tests/test_user_models.cpp.

DEEP6_CELL = """%%clad deep6
namespace nn = torchclad::nn;
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
"""

GELU_CELL = """%%clad gelu_mlp
namespace nn = torchclad::nn;
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
"""

HUBER_CELL = """%%clad huber_regression
namespace nn = torchclad::nn;
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
"""

# ---- The same networks in PyTorch (float64), as libtorch_loss in test_user_models.cpp.


def linear(p, layer, h):
    return F.linear(h, p[layer + ".weight"], p[layer + ".bias"])


def deep6_loss(p, x, y, relu=torch.relu):
    h = linear(p, "fc0", x)
    for layer in range(1, 6):
        h = linear(p, f"fc{layer}", relu(h))
    return F.cross_entropy(h, y.view(-1).long())


def gelu_loss(p, x, y, approximate="tanh"):
    g = lambda t: F.gelu(t, approximate=approximate)  # noqa: E731
    return F.cross_entropy(linear(p, "fc3", g(linear(p, "fc2", g(linear(p, "fc1", x))))), y.view(-1).long())


def huber_loss(p, x, y, delta=1.0, penalty=1e-3):
    out = linear(p, "fc2", torch.tanh(linear(p, "fc1", x)))
    return F.huber_loss(out, y.view_as(out), delta=delta) + penalty * p["fc1.weight"].pow(2).sum()


def linear_shapes(widths, first=0):
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        shapes[f"fc{first + i}.weight"] = (fan_out, fan_in)
        shapes[f"fc{first + i}.bias"] = (fan_out,)
    return shapes


# name, cell, inputs, classes (0: regression), targets per sample, parameter
# shapes, the PyTorch loss, and a network that differs slightly (the
# comparison must tell it apart: it can fail).
MODELS = {
    "deep6": dict(cell=DEEP6_CELL, inputs=11, classes=5, targets=1,
                  shapes=linear_shapes([11, 16, 13, 9, 8, 7, 5]), loss=deep6_loss,
                  other=lambda p, x, y: deep6_loss(p, x, y, relu=lambda t: F.leaky_relu(t, 1e-3))),
    "gelu_mlp": dict(cell=GELU_CELL, inputs=9, classes=4, targets=1,
                     shapes=linear_shapes([9, 12, 10, 4], first=1), loss=gelu_loss,
                     other=lambda p, x, y: gelu_loss(p, x, y, approximate="none")),
    "huber_regression": dict(cell=HUBER_CELL, inputs=6, classes=0, targets=2,
                             shapes=linear_shapes([6, 10, 2], first=1), loss=huber_loss,
                             other=lambda p, x, y: huber_loss(p, x, y, penalty=1.1e-3)),
}

BATCH = 17  # the batch whose gradient is compared


def plain_cell(name, spec, path):
    """The plain cell: make the model, check it, train it, write what pytest compares."""
    regression = "true" if spec["classes"] == 0 else "false"
    width = spec["targets"] if spec["classes"] == 0 else spec["classes"]
    return f"""#include "torchclad/model.h"
#include "torchclad/import.h"
#include <algorithm>
#include <cstdio>
#include <random>
void acceptance_{name}(const char* path) {{
  auto net = torchclad::model("{name}", 7);
  const int n = 256, inputs = {spec["inputs"]}, width = {width};
  const bool regression = {regression};
  // Learnable targets: a fixed random linear map of normal inputs (its
  // argmax for the classifiers).
  std::mt19937 gen(11);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(n * inputs), w(inputs * width), y;
  for (auto& v : x) v = normal(gen);
  for (auto& v : w) v = normal(gen);
  std::vector<long long> labels;
  for (int i = 0; i < n; ++i) {{
    std::vector<float> score(width, 0.f);
    for (int j = 0; j < width; ++j)
      for (int k = 0; k < inputs; ++k) score[j] += x[i * inputs + k] * w[k * width + j];
    if (regression) y.insert(y.end(), score.begin(), score.end());
    else labels.push_back(std::max_element(score.begin(), score.end()) - score.begin());
  }}
  auto data = regression ? torchclad::regression_dataset(x, inputs, y, width)
                         : torchclad::classification_dataset(x, inputs, labels);
  auto check = net.check_gradients(data);
  const double before = net.evaluate(data).loss;
  torchclad::TrainOptions options;
  options.epochs = 5; options.batch = 16; options.lr = 1e-2; options.progress = false;
  auto result = net.fit(data, data, options);
  const double after = net.evaluate(data).loss;
  const auto grad = torchclad::loss_gradient(net, data, {BATCH});
  FILE* f = std::fopen(path, "w");
  std::fprintf(f, "check %d %zu %.17g %.17g\\n", int(check.passed), check.rows.size(), check.worst_rel_error,
               check.tolerance);
  std::fprintf(f, "fit %s %.17g %.17g\\n", result.status.c_str(), before, after);
  for (const auto& e : result.epochs) std::fprintf(f, "epoch %.17g\\n", e.train_loss);
  for (const auto& p : net.parameter_names()) {{
    std::fprintf(f, "param %s", p.c_str());
    for (float v : net.parameter(p)) std::fprintf(f, " %.17g", double(v));
    std::fprintf(f, "\\n");
  }}
  std::fprintf(f, "x");
  for (int i = 0; i < {BATCH} * inputs; ++i) std::fprintf(f, " %.17g", double(x[i]));
  std::fprintf(f, "\\ny");
  for (int i = 0; i < {BATCH}; ++i)
    for (int j = 0; j < (regression ? width : 1); ++j)
      std::fprintf(f, " %.17g", regression ? double(y[i * width + j]) : double(labels[i]));
  std::fprintf(f, "\\ngrad");
  for (double g : grad) std::fprintf(f, " %.17g", g);
  std::fprintf(f, "\\n");
  std::fclose(f);
  std::printf("acceptance %s: written\\n", "{name}");
}}
acceptance_{name}("{path}");
"""


def read_output(path):
    out = {"epochs": [], "params": {}}
    for line in path.read_text().splitlines():
        kind, *rest = line.split()
        if kind == "check":
            out["check"] = (int(rest[0]), int(rest[1]), float(rest[2]), float(rest[3]))
        elif kind == "fit":
            out["fit"] = (rest[0], float(rest[1]), float(rest[2]))
        elif kind == "epoch":
            out["epochs"].append(float(rest[0]))
        elif kind == "param":
            out["params"][rest[0]] = [float(v) for v in rest[1:]]
        else:
            out[kind] = np.array([float(v) for v in rest], dtype=np.float64)
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_an_acceptance_model_in_a_cell_matches_autograd_finite_differences_and_trains(host, tmp_path, name):
    spec = MODELS[name]
    reply, events = host.execute(spec["cell"], timeout=300, cell_id=f"acceptance-{name}")
    assert reply["status"] == "ok", (reply, stderr_of(events))
    out_path = tmp_path / f"{name}.txt"
    reply, events = host.execute(plain_cell(name, spec, out_path), timeout=300)
    assert reply["status"] == "ok", (reply, stderr_of(events))
    out = stdout_of(events)
    assert f"check_gradients: model '{name}'" in out and f"acceptance {name}: written" in out, out
    result = read_output(out_path)

    # Clad's float64 gradient against central finite differences.
    passed, rows, worst, tolerance = result["check"]
    assert passed == 1 and rows == len(spec["shapes"]) and worst < tolerance, (result["check"], out)

    # A few epochs lower the loss.
    status, before, after = result["fit"]
    assert status == "finished" and len(result["epochs"]) == 5
    assert math.isfinite(after) and after < 0.9 * before, (before, after)
    assert result["epochs"][-1] < result["epochs"][0], result["epochs"]

    # The same network in PyTorch, float64, from the model's parameters.
    assert list(result["params"]) == list(spec["shapes"])  # the gradient's order
    params = {}
    for p, shape in spec["shapes"].items():
        values = torch.tensor(result["params"][p], dtype=torch.float64)
        assert values.numel() == math.prod(shape), (p, values.numel(), shape)
        params[p] = values.view(shape).requires_grad_()
    x = torch.tensor(result["x"], dtype=torch.float64).view(BATCH, spec["inputs"])
    y = torch.tensor(result["y"], dtype=torch.float64).view(BATCH, spec["targets"])
    if spec["classes"]:
        assert set(result["y"].astype(int)) <= set(range(spec["classes"])) and len(set(result["y"])) > 1
    spec["loss"](params, x, y).backward()
    autograd = torch.cat([params[p].grad.reshape(-1) for p in spec["shapes"]]).numpy()
    clad = result["grad"]
    assert clad.shape == autograd.shape
    # Not a vacuous comparison: every parameter tensor has a gradient.
    for p in spec["shapes"]:
        assert params[p].grad.abs().max().item() > 1e-6, p
    excess = np.abs(clad - autograd) - (1e-12 + 1e-9 * np.abs(autograd))
    worst = int(np.argmax(excess))
    assert excess[worst] <= 0, f"element {worst}: Clad {clad[worst]!r}, autograd {autograd[worst]!r}"

    # A slightly different network (another ReLU, the exact GELU, another
    # penalty) is told apart at this tolerance.
    for t in params.values():
        t.grad = None
    spec["other"](params, x, y).backward()
    other = torch.cat([params[p].grad.reshape(-1) for p in spec["shapes"]]).numpy()
    assert not np.allclose(clad, other, rtol=1e-9, atol=1e-12)


# ---- LibTorch's headers in %%clad cells.

TORCH_MODEL_CELL = """%%clad torch_sized
#include <torch/torch.h>
namespace nn = torchclad::nn;
// The hidden width computed with LibTorch when the model is made: 1 + 2 + 3.
int hidden_width() { return static_cast<int>(torch::arange(1, 4).sum().item<int64_t>()); }
struct TorchSized : nn::Model {
  nn::Linear fc1, fc2;
  nn::Act z1, h1, out;
  TorchSized() {
    inputs(4);
    classes(3);
    const int w = hidden_width();
    fc1 = nn::Linear("fc1", 4, w);
    z1 = nn::Act(w);
    h1 = nn::Act(w);
    fc2 = nn::Linear("fc2", w, 3);
    out = nn::Act(3);
    output(out);
  }
  template <class T>
  static T loss(const TorchSized& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::relu(a, m.z1, m.h1, n);
    nn::linear(m.fc2, p, a, m.h1, m.out, n);
    return nn::cross_entropy(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(torch_sized, TorchSized)
"""


def test_a_model_cell_includes_libtorch(host):
    reply, events = host.execute(TORCH_MODEL_CELL, timeout=400, cell_id="torch-sized")
    assert reply["status"] == "ok", (reply, stderr_of(events))
    out = host.ok('#include "torchclad/model.h"\n'
                  'printf("%lld\\n", torchclad::model("torch_sized").parameter_count());')
    assert int(out) == 4 * 6 + 6 + 6 * 3 + 3


def test_a_helper_cell_has_no_libtorch_headers(host):
    # ACLiC's rootcling and the dictionary cling loads are C++17; LibTorch's
    # headers need C++20, so a helper cell (no TORCHCLAD_MODEL) cannot include
    # them: an error, and the session goes on.
    reply, events = host.execute("""%%clad torch_helper
#include <torch/torch.h>
double torch_sum(int n) { return torch::ones({n}, torch::kFloat64).sum().item<double>(); }
""", timeout=300)
    assert reply["status"] == "error" and reply["ename"] == "CladCompileError", reply
    assert "'torch/torch.h' file not found (cell torch_helper, line 2)" in reply["evalue"], reply
    assert host.ok('printf("%d\\n", 6 * 7);').strip() == "42"
