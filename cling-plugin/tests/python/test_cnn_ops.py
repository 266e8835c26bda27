# The CNN operators (torchclad::conv1d, max_pool1d, bce_with_logits) against
# their PyTorch equivalents: correctness, gradients, gradcheck and opcheck
# (op_testing.OpTests), the backward operators under opcheck, and invalid
# arguments (dtype, shape, device) rejected with messages.
import pytest
import torch
import torch.nn.functional as F

import reference as ref
from op_testing import OpTests

ops = torch.ops.torchclad


def conv1d_ref(x, w, b):
    return F.conv1d(x, w, b)


def max_pool1d_ref(x, k):
    return F.max_pool1d(x, k)


def bce_ref(z, y):
    return F.binary_cross_entropy_with_logits(z, y)


# (batch, in_channels, length, out_channels, kernel): batch 1, one channel,
# kernel = length, odd lengths, the gravitational-wave model's first layer.
CONV_SHAPES = [(1, 1, 1, 1, 1), (1, 1, 17, 3, 4), (3, 2, 11, 4, 3), (2, 3, 9, 2, 9),
               (5, 1, 40, 8, 16), (2, 8, 21, 16, 8)]


class TestConv1d(OpTests):
    op_name = "conv1d"
    reference = staticmethod(conv1d_ref)

    def sample_inputs(self, dtype, *, requires_grad):
        # Which of (input, weight, bias) require grad: all, a constant input
        # (the pullback without dx), the input alone.
        patterns = [(True, True, True), (False, True, True), (True, False, False)]
        samples = []
        for n, cin, length, cout, k in CONV_SHAPES:
            for pattern in patterns if requires_grad else [(False,) * 3]:
                x, w, b = (torch.randn(*s, dtype=dtype) for s in [(n, cin, length), (cout, cin, k), (cout,)])
                # Weights at torch.nn's scale (fan_in ** -0.5): outputs of order 1,
                # so float32 rounding stays within reference.TOLERANCES.
                w = w / (cin * k) ** 0.5
                samples.append(tuple(t.requires_grad_(rg) for t, rg in zip((x, w, b), pattern)))
        return samples


class TestMaxPool1d(OpTests):
    op_name = "max_pool1d"
    reference = staticmethod(max_pool1d_ref)

    def sample_inputs(self, dtype, *, requires_grad):
        # (batch, channels, length, kernel): windows of 4 and 2 (the
        # vectorised paths) and others; lengths that leave a partial window.
        shapes = [(1, 1, 4, 4), (2, 3, 9, 4), (3, 2, 10, 3), (1, 1, 7, 1), (2, 2, 8, 2),
                  (1, 2, 5, 5), (4, 8, 41, 4)]
        return [(torch.randn(n, c, length, dtype=dtype).requires_grad_(requires_grad), k)
                for n, c, length, k in shapes]


class TestBceWithLogits(OpTests):
    op_name = "bce_with_logits"
    reference = staticmethod(bce_ref)

    def sample_inputs(self, dtype, *, requires_grad):
        shapes = [(1,), (7,), (130,), (3, 4)]
        patterns = [(True, True), (True, False), (False, True)] if requires_grad else [(False, False)]
        samples = []
        for shape in shapes:
            for rz, ry in patterns:
                z = (4 * torch.randn(shape, dtype=dtype)).requires_grad_(rz)
                y = torch.rand(shape, dtype=dtype).requires_grad_(ry)
                samples.append((z, y))
        return samples


def test_max_pool1d_ties_and_nan_follow_pytorch():
    x = torch.tensor([[[1.0, 3, 3, 0, 2, 2, 2, 2, 5, float("nan"), 1, 7, 4, 4, 9, 9]]],
                     dtype=torch.float64, requires_grad=True)
    g = torch.tensor([[[1.5, -2.0, 0.5, 3.0]]], dtype=torch.float64)
    out = ops.max_pool1d(x, 4)
    (dx,) = torch.autograd.grad(out, x, g)
    x2 = x.detach().clone().requires_grad_()
    expected = F.max_pool1d(x2, 4)
    (dx2,) = torch.autograd.grad(expected, x2, g)
    torch.testing.assert_close(out, expected, equal_nan=True)
    torch.testing.assert_close(dx, dx2)


def test_bce_extreme_logits_are_finite():
    z = torch.tensor([800.0, -800.0, 40.0, -40.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    loss = ops.bce_with_logits(z, y)
    (dz,) = torch.autograd.grad(loss, z)
    z2 = z.detach().clone().requires_grad_()
    loss2 = bce_ref(z2, y)
    (dz2,) = torch.autograd.grad(loss2, z2)
    ref.assert_close(loss, loss2)
    ref.assert_close(dz, dz2)


def test_composed_cnn_matches_pytorch():
    # The gravitational-wave model's shape, shortened: conv -> relu -> pool
    # twice, then linear -> relu -> linear -> BCE, every op from torchclad.
    torch.manual_seed(3)
    D = torch.float64
    x, y = torch.randn(5, 1, 200, dtype=D), torch.randint(0, 2, (5,)).to(D)
    params = [torch.randn(*s, dtype=D) * 0.3 for s in [(4, 1, 9), (4,), (6, 4, 5), (6,), (8, 6 * 11), (8,), (1, 8), (1,)]]

    def model(conv, relu, pool, linear, loss, p):
        h = pool(relu(conv(x, p[0], p[1])), 4)
        h = pool(relu(conv(h, p[2], p[3])), 4).flatten(1)
        h = linear(relu(linear(h, p[4], p[5])), p[6], p[7]).squeeze(1)
        return loss(h, y)

    mine = [t.clone().requires_grad_() for t in params]
    theirs = [t.clone().requires_grad_() for t in params]
    l1 = model(ops.conv1d, lambda t: ops.activation(t, ref.RELU), ops.max_pool1d, ops.linear,
               ops.bce_with_logits, mine)
    l2 = model(F.conv1d, torch.relu, F.max_pool1d, F.linear, bce_ref, theirs)
    ref.assert_close(l1, l2)
    ref.assert_close(torch.autograd.grad(l1, mine), torch.autograd.grad(l2, theirs))


def _backward_samples(dtype):
    r = lambda *s: torch.randn(*s, dtype=dtype)  # noqa: E731
    x, w = r(2, 3, 10), r(4, 3, 3)
    px = r(2, 3, 9)
    pooled = F.max_pool1d(px, 4)
    return [
        ("conv1d_backward", (r(2, 4, 8), x, w, True)),
        ("conv1d_backward", (r(2, 4, 8), x, w, False)),
        ("max_pool1d_backward", (r(2, 3, 2), px, pooled, 4)),
        ("max_pool1d_backward", (r(2, 3, 3), px, F.max_pool1d(px, 3), 3)),
        ("bce_with_logits_backward", (r(()), r(6), torch.rand(6, dtype=dtype))),
    ]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_backward_ops_opcheck(dtype):
    for name, args in _backward_samples(dtype):
        torch.library.opcheck(getattr(ops, name).default, args)


def test_conv1d_backward_without_input_grad():
    D = torch.float64
    x, w, g = torch.randn(2, 3, 10, dtype=D), torch.randn(4, 3, 3, dtype=D), torch.randn(2, 4, 8, dtype=D)
    dx, dw, db = ops.conv1d_backward(g, x, w, False)
    assert dx.numel() == 0
    x2, w2 = x.clone().requires_grad_(), w.clone().requires_grad_()
    F.conv1d(x2, w2).backward(g)
    ref.assert_close(dw, w2.grad)
    ref.assert_close(db, g.sum((0, 2)))


D = torch.float64


def r(*shape, dtype=D, grad=False):
    return torch.randn(*shape, dtype=dtype, requires_grad=grad)


X, W, B = r(2, 3, 10), r(4, 3, 3), r(4)
Z, Y = r(5), torch.rand(5, dtype=D)


def case(id, call, message):
    return pytest.param(call, "torchclad::" + message, id=id)


# Messages read "torchclad::<op>: <arg> must be <expected>, found <found>".
CASES = [
    # conv1d
    case("conv-int32", lambda: ops.conv1d(X.int(), W, B), r"conv1d: input must be float32 or float64, found Int"),
    case("conv-float16", lambda: ops.conv1d(X.half(), W, B), r"conv1d: input must be float32 or float64, found Half"),
    case("conv-mixed-dtype", lambda: ops.conv1d(X, W.float(), B), r"conv1d: weight must have the dtype of input \(Double\), found Float"),
    case("conv-rank-2", lambda: ops.conv1d(X[0], W, B), r"conv1d: input must be 3-D .*found 2-D of shape \[3, 10\]"),
    case("conv-weight-rank", lambda: ops.conv1d(X, W[0], B), r"conv1d: weight must be 3-D .*found 2-D"),
    case("conv-in-channels", lambda: ops.conv1d(r(2, 5, 10), W, B), r"conv1d: weight size\(1\) must be 5 \(in_channels of the input\), found 3"),
    case("conv-bias-size", lambda: ops.conv1d(X, W, r(3)), r"conv1d: bias size\(0\) must be 4 .*found 3"),
    case("conv-kernel-too-long", lambda: ops.conv1d(r(2, 3, 2), W, B), r"conv1d: input length 2 is shorter than the kernel size 3"),
    case("conv-empty-batch", lambda: ops.conv1d(r(0, 3, 10), W, B), r"conv1d: input is an empty batch"),
    case("conv-transposed", lambda: ops.conv1d(r(2, 10, 3).transpose(1, 2), W, B), r"conv1d: input must be contiguous"),
    case("conv-device", lambda: ops.conv1d(X, W.to("meta"), B), r"conv1d: weight must be on the device of input \(cpu\), found meta"),
    case("conv-autograd-path", lambda: ops.conv1d(X.int(), r(4, 3, 3, grad=True), B), r"conv1d: input must be float32 or float64, found Int"),
    case("conv-backward-grad-shape", lambda: ops.conv1d_backward(r(2, 4, 7), X, W, True), r"conv1d_backward: grad_output must be \[2, 4, 8\], found \[2, 4, 7\]"),
    # max_pool1d
    case("pool-int32", lambda: ops.max_pool1d(X.int(), 2), r"max_pool1d: input must be float32 or float64, found Int"),
    case("pool-rank", lambda: ops.max_pool1d(X[0], 2), r"max_pool1d: input must be 3-D .*found 2-D"),
    case("pool-kernel-0", lambda: ops.max_pool1d(X, 0), r"max_pool1d: kernel_size must be at least 1, found 0"),
    case("pool-kernel-too-long", lambda: ops.max_pool1d(X, 11), r"max_pool1d: input length 10 is shorter than kernel_size 11"),
    case("pool-transposed", lambda: ops.max_pool1d(r(2, 10, 3).transpose(1, 2), 2), r"max_pool1d: input must be contiguous"),
    case("pool-autograd-path", lambda: ops.max_pool1d(r(2, 3, 10, grad=True), 0), r"max_pool1d: kernel_size must be at least 1"),
    case("pool-backward-output", lambda: ops.max_pool1d_backward(r(2, 3, 5), X, r(2, 3, 4), 2), r"max_pool1d_backward: output must be \[2, 3, 5\]"),
    # bce_with_logits
    case("bce-int32", lambda: ops.bce_with_logits(Z.int(), Y), r"bce_with_logits: logits must be float32 or float64, found Int"),
    case("bce-target-dtype", lambda: ops.bce_with_logits(Z, Y.float()), r"bce_with_logits: target must have the dtype of logits \(Double\), found Float"),
    case("bce-target-int", lambda: ops.bce_with_logits(Z, torch.ones(5, dtype=torch.int64)), r"bce_with_logits: target must be float32 or float64, found Long"),
    case("bce-shape", lambda: ops.bce_with_logits(Z, Y[:4]), r"bce_with_logits: target must have the logits' shape \[5\], found \[4\]"),
    case("bce-empty", lambda: ops.bce_with_logits(r(0), r(0)), r"bce_with_logits: logits is empty"),
    case("bce-device", lambda: ops.bce_with_logits(Z, Y.to("meta")), r"bce_with_logits: target must be on the device of logits \(cpu\), found meta"),
    case("bce-autograd-path", lambda: ops.bce_with_logits(r(5, grad=True), Y[:3]), r"bce_with_logits: target must have the logits' shape"),
]


@pytest.mark.parametrize("call, message", CASES)
def test_rejected_with_message(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()
    # The process stays healthy after a failed check.
    ref.assert_close(ops.conv1d(X, W, B), conv1d_ref(X, W, B))
