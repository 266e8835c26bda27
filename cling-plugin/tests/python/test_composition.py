# torchclad operators inside larger PyTorch graphs: autograd must chain
# through them exactly as through the built-in ops, in eager mode and under
# torch.compile.
import pytest
import torch

import reference as ref
from op_testing import dtypes

ops = torch.ops.torchclad


def mixed_chain(lib, x, a, w, b, target, kind):
    # torch matmul -> linear -> torch.sin -> activation -> cross_entropy
    h = lib.linear(x @ a, w, b)
    return lib.cross_entropy(lib.activation(torch.sin(h), kind), target)


@dtypes
@pytest.mark.parametrize("kind", list(ref.ACTIVATIONS), ids=list(ref.ACTIVATION_NAMES.values()))
def test_mixed_chain_gradients(dtype, kind):
    x, a = torch.randn(6, 4, dtype=dtype), torch.randn(4, 7, dtype=dtype)
    w, b = torch.randn(5, 7, dtype=dtype), torch.randn(5, dtype=dtype)
    target = torch.randint(5, (6,))
    inputs = [t.requires_grad_() for t in (x, a, w, b)]
    loss = mixed_chain(ops, *inputs, target, kind)
    grads = torch.autograd.grad(loss, inputs)
    expected_loss = mixed_chain(ref, *inputs, target, kind)
    expected = torch.autograd.grad(expected_loss, inputs)
    ref.assert_close(loss, expected_loss)
    ref.assert_close(grads, expected)


def test_regression_chain_with_scaled_loss():
    # A non-unit, data-dependent upstream gradient for mse_loss (loss * 3 +
    # loss²) and a target that requires grad.
    x, w, b, y = (torch.randn(*s, dtype=torch.float64, requires_grad=True)
                  for s in [(8, 3), (2, 3), (2,), (8, 2)])
    def f(lib):
        loss = lib.mse_loss(lib.activation(lib.linear(x, w, b), ref.SIGMOID), 2 * y)
        return 3 * loss + loss**2
    grads = torch.autograd.grad(f(ops), (x, w, b, y))
    ref.assert_close(grads, torch.autograd.grad(f(ref), (x, w, b, y)))


def test_noncontiguous_upstream_gradients():
    # The upstream gradients arrive transposed and broadcast (stride 0); the
    # autograd kernels must densify them before the backward ops.
    x, w, b = (torch.randn(*s, dtype=torch.float64, requires_grad=True) for s in [(4, 3), (5, 3), (5,)])
    c = torch.randn(5, 4, dtype=torch.float64)
    def f(lib):
        y = lib.activation(lib.linear(x, w, b), ref.TANH)
        return (y.t() * c).sum() + y.sum()
    ref.assert_close(torch.autograd.grad(f(ops), (x, w, b)), torch.autograd.grad(f(ref), (x, w, b)))


def test_mlp_op_in_a_graph():
    # Parameters computed by torch ops, and an L2 penalty on top of the loss.
    widths = [7, 5, 3]
    raw = torch.randn(ref.mlp_param_count(widths), dtype=torch.float64, requires_grad=True)
    x, target = torch.randn(4, 7, dtype=torch.float64), torch.randint(3, (4,))
    def f(lib):
        params = 0.5 * raw
        return lib.mlp_cross_entropy(x, target, params, widths, ref.RELU) + 0.01 * params.pow(2).sum()
    ref.assert_close(torch.autograd.grad(f(ops), raw), torch.autograd.grad(f(ref), raw))


def test_torch_compile_fullgraph_matches_eager():
    # One small compile (Inductor, ~10 s): the ops trace through their Meta
    # kernels without graph breaks and the compiled backward calls the
    # backward ops.
    torch._dynamo.reset()
    def f(x, w, b, target):
        return ops.cross_entropy(torch.sin(ops.activation(ops.linear(x, w, b), ref.TANH)), target)
    compiled = torch.compile(f, fullgraph=True)
    x = torch.randn(4, 6, dtype=torch.float64)
    w, b = (torch.randn(*s, dtype=torch.float64, requires_grad=True) for s in [(3, 6), (3,)])
    target = torch.tensor([0, 2, 1, 1])
    loss = compiled(x, w, b, target)
    grads = torch.autograd.grad(loss, (w, b))
    expected_loss = f(x, w, b, target)
    ref.assert_close(loss, expected_loss)
    ref.assert_close(grads, torch.autograd.grad(expected_loss, (w, b)))


@pytest.mark.filterwarnings("ignore:.*autograd kernel was not registered")
def test_double_backward_raises_or_is_right():
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    def second_derivative(act):
        (g,) = torch.autograd.grad(act(x).sum() + (x**3).sum(), x, create_graph=True)
        return torch.autograd.grad(g.sum(), x)[0]
    try:
        result = second_derivative(lambda t: ops.activation(t, ref.TANH))
    except RuntimeError:
        return  # an error is an acceptable answer
    ref.assert_close(result, second_derivative(torch.tanh))
