# NaN and ±Inf propagate as in PyTorch: the same outputs and the same
# gradients (NaN where PyTorch's are NaN, finite where PyTorch's are finite)
# on the same input.
import pytest
import torch

import reference as ref
from op_testing import dtypes, grads_via_backward

ops = torch.ops.torchclad
NAN, INF = float("nan"), float("inf")


def assert_same(fn_ops, fn_ref, args, grad_out=None):
    out = fn_ref(*[a.detach() if isinstance(a, torch.Tensor) else a for a in args])
    grad_out = torch.ones_like(out) if grad_out is None else grad_out
    result = grads_via_backward(fn_ops, args, grad_out)
    expected = grads_via_backward(fn_ref, args, grad_out)
    ref.assert_close(result[0], expected[0], equal_nan=True)
    ref.assert_close(result[1], expected[1], equal_nan=True)


def poisoned(shape, index, value, dtype):
    x = torch.randn(shape, dtype=dtype)
    x[index] = value
    return x


@dtypes
@pytest.mark.parametrize("where", ["input", "weight", "bias"])
@pytest.mark.parametrize("value", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
def test_linear(dtype, where, value):
    shapes = {"input": (4, 3), "weight": (5, 3), "bias": (5,)}
    args = [
        (poisoned(s, (1,) * len(s), value, dtype) if name == where else torch.randn(s, dtype=dtype))
        .requires_grad_()
        for name, s in shapes.items()
    ]
    assert_same(ops.linear, ref.linear, args, grad_out=torch.randn(4, 5, dtype=dtype))


# Non-finite values, and finite ones where exp(-x) overflows (float32 past
# -88.7, float64 past -709.8).
VALUES = {"nan": NAN, "inf": INF, "-inf": -INF, "-100": -100.0, "-1000": -1000.0, "1000": 1000.0}


def activation_cases():
    for dtype, dtype_id in [(torch.float64, "f64"), (torch.float32, "f32")]:
        for kind in ref.ACTIVATIONS:
            for name in VALUES:
                id = f"{dtype_id}-{ref.ACTIVATION_NAMES[kind]}-{name}"
                yield pytest.param(dtype, kind, VALUES[name], id=id)


@pytest.mark.parametrize("dtype, kind, value", list(activation_cases()))
def test_activation(dtype, kind, value):
    x = poisoned((2, 5), (1, 2), value, dtype).requires_grad_()
    assert_same(lambda t: ops.activation(t, kind), lambda t: ref.activation(t, kind), [x])


@dtypes
@pytest.mark.parametrize("value", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("at_target", [True, False], ids=["at-target", "elsewhere"])
def test_cross_entropy(dtype, value, at_target):
    # Row 1 is poisoned, either at its target class or at another one.
    target = torch.tensor([0, 2, 1])
    logits = poisoned((3, 4), (1, 2 if at_target else 3), value, dtype).requires_grad_()
    assert_same(ops.cross_entropy, ref.cross_entropy, [logits, target])


@dtypes
@pytest.mark.parametrize("value", [NAN, INF], ids=["nan", "inf"])
def test_mse_loss(dtype, value):
    args = [poisoned((3, 4), (1, 2), value, dtype).requires_grad_(), torch.randn(3, 4, dtype=dtype)]
    assert_same(ops.mse_loss, ref.mse_loss, args)


@dtypes
@pytest.mark.parametrize("kind", list(ref.ACTIVATIONS), ids=list(ref.ACTIVATION_NAMES.values()))
def test_mlp_nan_input_row(dtype, kind):
    # A NaN in one input row makes the loss and every parameter gradient NaN.
    x = poisoned((3, 7), (1, 4), NAN, dtype)
    params = torch.randn(ref.mlp_param_count([7, 5, 3]), dtype=dtype, requires_grad=True)
    args = [x, torch.tensor([0, 2, 1]), params, [7, 5, 3], kind]
    assert_same(ops.mlp_cross_entropy, ref.mlp_cross_entropy, args)
