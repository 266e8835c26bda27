# The model-level operators: a whole MLP (Linear, act, ..., Linear) of any
# depth and its mean cross-entropy, run as the built-in Mlp definition of its
# widths with the definition's Clad gradient, against the same network built
# from F.linear on views of the flat parameters.
import pytest
import torch

import reference as ref
from op_testing import OpTests, dtypes, grads_via_backward

# From logistic regression to 6 layers (past the old kernel's 4-layer
# limit), sizes not multiples of 8.
SIX_LAYERS = [11, 9, 8, 7, 6, 5, 4]
WIDTHS = [[7, 3], [7, 5, 3], [13, 11, 9, 3], [9, 6, 5, 4, 3], SIX_LAYERS]
MNIST_WIDTHS = [784, 128, 10]


def mlp_sample(widths, batch, kind, dtype, requires_grad):
    # 1/sqrt(fan_in) weights keep tanh/sigmoid out of saturation at 784 inputs.
    parts = []
    for w, b in ref.mlp_layers(torch.zeros(ref.mlp_param_count(widths)), widths):
        parts += [torch.randn(w.shape) / w.shape[1] ** 0.5, 0.1 * torch.randn(b.shape)]
    params = torch.cat([p.flatten() for p in parts]).to(dtype).requires_grad_(requires_grad)
    x = torch.randn(batch, widths[0], dtype=dtype)
    target = torch.randint(widths[-1], (batch,))
    return (x, target, params, widths, kind)


class TestMlpCrossEntropy(OpTests):
    op_name = "mlp_cross_entropy"
    reference = staticmethod(ref.mlp_cross_entropy)

    def sample_inputs(self, dtype, *, requires_grad):
        # Differentiable w.r.t. params only: the input and target stay constants.
        samples = [
            mlp_sample(widths, batch, kind, dtype, requires_grad)
            for widths in WIDTHS
            for batch in (1, 5)
            for kind in ref.ACTIVATIONS
        ]
        samples += [mlp_sample(MNIST_WIDTHS, 2, kind, dtype, requires_grad) for kind in ref.ACTIVATIONS]
        return samples

    @dtypes
    def test_with_grad(self, dtype):
        # mlp_cross_entropy_with_grad: the loss and d loss / d params in one call.
        for args in self.sample_inputs(dtype, requires_grad=True):
            loss, grad = torch.ops.torchclad.mlp_cross_entropy_with_grad(*args)
            expected = grads_via_backward(self.reference, args, torch.tensor(1.0, dtype=dtype))
            ref.assert_close(loss, expected[0])
            ref.assert_close(grad, expected[1][0])

    @dtypes
    def test_opcheck_with_grad(self, dtype):
        # Not differentiable itself (no autograd kernel): detached inputs.
        for x, t, p, widths, kind in self.sample_inputs(dtype, requires_grad=False)[::4]:
            torch.library.opcheck(
                torch.ops.torchclad.mlp_cross_entropy_with_grad.default, (x, t, p, widths, kind)
            )

    def test_matches_layer_ops(self):
        # The model-level op equals the same network built from the layer ops.
        ops = torch.ops.torchclad
        x, t, params, widths, kind = mlp_sample([9, 6, 5, 4, 3], 5, ref.TANH, torch.float64, True)
        layers = ref.mlp_layers(params, widths)
        h = x
        for i, (w, b) in enumerate(layers):
            h = ops.linear(h, w.contiguous(), b)
            h = ops.activation(h, kind) if i < len(layers) - 1 else h
        by_layers = ops.cross_entropy(h, t)
        (g_layers,) = torch.autograd.grad(by_layers, params)
        whole = ops.mlp_cross_entropy(x, t, params, widths, kind)
        (g_whole,) = torch.autograd.grad(whole, params)
        ref.assert_close(whole, by_layers)
        ref.assert_close(g_whole, g_layers)


def test_saturated_sigmoid_unit_float32():
    # Finite inputs: one hidden unit driven to z = -100, where sigmoid is 0 and
    # its derivative is 0 (PyTorch), not nan.
    params = torch.tensor([-50.0, 0.0, 1.0, -1.0, 0.0, 0.0], requires_grad=True)  # W0 b0 W1 b1
    args = (torch.tensor([[2.0]]), torch.tensor([0]), params, [1, 1, 2], ref.SIGMOID)
    result = grads_via_backward(torch.ops.torchclad.mlp_cross_entropy, args, torch.tensor(1.0))
    expected = grads_via_backward(ref.mlp_cross_entropy, args, torch.tensor(1.0))
    ref.assert_close(result[1], expected[1])


def central_differences(f, params, indices, h=1e-6):
    p = params.detach().clone()
    out = []
    for i in indices:
        saved = p[i].item()
        p[i] = saved + h
        up = f(p).item()
        p[i] = saved - h
        down = f(p).item()
        p[i] = saved
        out.append((up - down) / (2 * h))
    return torch.tensor(out, dtype=params.dtype)


@pytest.mark.parametrize("batch", [1, 37])
@pytest.mark.parametrize("kind", [ref.RELU, ref.TANH], ids=["relu", "tanh"])
def test_six_layers_against_autograd_and_central_differences(batch, kind):
    # float64: the op's gradient (its autograd node) against LibTorch
    # autograd of the same network to 1e-9 relative, and against central
    # differences of the op's own loss on a third of the parameters.
    args = mlp_sample(SIX_LAYERS, batch, kind, torch.float64, True)
    x, target, params, widths, _ = args
    one = torch.tensor(1.0, dtype=torch.float64)
    loss, (grad,) = grads_via_backward(torch.ops.torchclad.mlp_cross_entropy, args, one)
    expected_loss, (expected,) = grads_via_backward(ref.mlp_cross_entropy, args, one)
    torch.testing.assert_close(loss, expected_loss, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(grad, expected, rtol=1e-9, atol=1e-12)

    indices = list(range(0, params.numel(), 3))
    with torch.no_grad():
        numeric = central_differences(
            lambda p: torch.ops.torchclad.mlp_cross_entropy(x, target, p, widths, kind), params, indices
        )
    torch.testing.assert_close(grad[indices], numeric, rtol=1e-5, atol=1e-7)
