# The layer and loss operators against their PyTorch equivalents; the shared
# checks are in op_testing.OpTests.
import pytest
import torch

import reference as ref
from op_testing import OpTests

# Batch 1, single features, sizes that are not multiples of 8 (BLAS and
# vectorised tails), and a batch over 128.
MATRIX_SHAPES = [(1, 1), (1, 7), (3, 5), (65, 13), (130, 9)]


def away_from_zero(x, gap=0.1):
    # ReLU has a kink at 0: keep finite differences on one side of it.
    return x.sign() * (x.abs() + gap)


class TestLinear(OpTests):
    op_name = "linear"
    reference = staticmethod(ref.linear)

    def sample_inputs(self, dtype, *, requires_grad):
        out_features = [1, 3, 4, 9, 17]
        # Which of (input, weight, bias) require grad: all, a constant input
        # (the kernel's dx-free pullback), and the input alone.
        patterns = [(True, True, True), (False, True, True), (True, False, False)]
        samples = []
        for (batch, k), n in zip(MATRIX_SHAPES, out_features):
            for pattern in patterns if requires_grad else [(False,) * 3]:
                x, w, b = (torch.randn(*s, dtype=dtype) for s in [(batch, k), (n, k), (n,)])
                samples.append(tuple(t.requires_grad_(rg) for t, rg in zip((x, w, b), pattern)))
        return samples


class TestActivation(OpTests):
    op_name = "activation"
    reference = staticmethod(ref.activation)

    def sample_inputs(self, dtype, *, requires_grad):
        # Any shape: 0-d, empty, 1-D, matrices and a 3-D tensor.
        shapes = [(), (0, 4), (1,), *MATRIX_SHAPES, (2, 3, 4)]
        return [
            (away_from_zero(torch.randn(shape, dtype=dtype)).requires_grad_(requires_grad), kind)
            for shape in shapes
            for kind in ref.ACTIVATIONS
        ]


class TestCrossEntropy(OpTests):
    op_name = "cross_entropy"
    reference = staticmethod(ref.cross_entropy)

    def sample_inputs(self, dtype, *, requires_grad):
        shapes = [*MATRIX_SHAPES, (2, 10)]
        return [
            (
                (3 * torch.randn(batch, classes, dtype=dtype)).requires_grad_(requires_grad),
                torch.randint(classes, (batch,)),
            )
            for batch, classes in shapes
        ]


class TestMseLoss(OpTests):
    op_name = "mse_loss"
    reference = staticmethod(ref.mse_loss)

    def sample_inputs(self, dtype, *, requires_grad):
        shapes = [(), (1,), *MATRIX_SHAPES, (2, 3, 4)]
        # Gradients w.r.t. both, the input only (a fixed target), the target only.
        patterns = [(True, True), (True, False), (False, True)] if requires_grad else [(False, False)]
        return [
            tuple(torch.randn(shape, dtype=dtype).requires_grad_(rg) for rg in pattern)
            for shape in shapes
            for pattern in patterns
        ]


# The backward operators are called by the autograd kernels above; opcheck
# them directly too (no autograd: they are not differentiable).
def _backward_samples(dtype):
    r = lambda *s: torch.randn(*s, dtype=dtype)  # noqa: E731
    x, w, t = r(3, 5), r(4, 5), torch.tensor([0, 3, 1])
    return [
        ("linear_backward", (r(3, 4), x, w, True)),
        ("linear_backward", (r(3, 4), x, w, False)),
        *[("activation_backward", (r(3, 5), away_from_zero(x), k)) for k in ref.ACTIVATIONS],
        ("cross_entropy_backward", (r(()), r(3, 4), t)),
        ("mse_loss_backward", (r(()), x, r(3, 5))),
    ]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_backward_ops_opcheck(dtype):
    for name, args in _backward_samples(dtype):
        torch.library.opcheck(getattr(torch.ops.torchclad, name).default, args)


def test_linear_backward_without_input_grad():
    # input_requires_grad=False skips dx: an empty tensor in its place.
    x, w = torch.randn(3, 5, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    g = torch.randn(3, 4, dtype=torch.float64)
    dx, dw, db = torch.ops.torchclad.linear_backward(g, x, w, False)
    assert dx.numel() == 0
    ref.assert_close(dw, g.T @ x)
    ref.assert_close(db, g.sum(0))
