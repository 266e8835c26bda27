// libtorchclad_models.so: the definitions of models/ registered by name when
// the library loads (torch.ops.load_library from Python, R__LOAD_LIBRARY or
// gSystem->Load from ROOT, or linked into a program), so that
// torch.ops.torchclad.model_loss("gw_cnn", ...) finds them.
#include "models/gw_cnn.h"
#include "models/mlp.h"

namespace nn = torchclad::nn;

// A small regression (3 inputs, 4 tanh units, 2 outputs, MSE) whose Jacobian
// torch.autograd.gradcheck can afford.
struct TinyRegression : nn::Model {
  nn::Linear fc1{"fc1", 3, 4};
  nn::Act z{4}, t{4};
  nn::Linear fc2{"fc2", 4, 2};
  nn::Act out{2};
  TinyRegression() {
    inputs(3);
    regression(2);
    output(out);
  }
  template <class T>
  static T loss(const TinyRegression& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z, n);
    nn::tanh(a, m.z, m.t, n);
    nn::linear(m.fc2, p, a, m.t, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};

TORCHCLAD_MODEL(mlp_784_128_10, Mlp784x128x10)
TORCHCLAD_MODEL(gw_cnn, GwCnn)
TORCHCLAD_MODEL(tiny_regression, TinyRegression)
