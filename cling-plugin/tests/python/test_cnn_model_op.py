# The built-in Cnn as an operator: torch.ops.torchclad.model_loss with a Cnn's
# name ("cnn-<length>-c<channels>k<kernel>p<pool>-...-h<hidden>") runs the Cnn
# definition of that configuration (models/cnn_of_blocks.h) and its Clad
# gradient, on one flat parameter tensor in torch.nn's order. Checked against
# the same network built from F.conv1d / F.max_pool1d / F.linear on views of
# the flat parameters: values and gradients (float64 and float32), gradcheck
# (central differences), opcheck, calls from several threads, and errors.
import re
import threading

import pytest
import torch
import torch.nn.functional as F

import reference as ref
from op_testing import OpTests

# (input length, [(channels, kernel, pool), ...], hidden): one to four blocks,
# odd lengths and pools that leave a partial window.
CONFIGS = [
    (23, [(2, 4, 4)], 3),
    (41, [(3, 5, 2), (4, 3, 3)], 6),
    (97, [(3, 4, 2), (5, 3, 2), (2, 3, 2), (3, 2, 2)], 5),
]
GW_DEFAULT = (2048, [(8, 16, 4), (16, 8, 4), (32, 8, 4)], 64)


def cnn_name(config):
    length, blocks, hidden = config
    return f"cnn-{length}-" + "-".join(f"c{c}k{k}p{p}" for c, k, p in blocks) + f"-h{hidden}"


def parse_name(name):
    items = name.split("-")
    blocks = [tuple(map(int, re.fullmatch(r"c(\d+)k(\d+)p(\d+)", b).groups())) for b in items[2:-1]]
    return int(items[1]), blocks, int(items[-1][1:])


def param_shapes(config):
    # torch.nn's order: conv1.weight, conv1.bias, ..., fc1.weight, fc1.bias, fc2.weight, fc2.bias.
    length, blocks, hidden = config
    shapes, cin = [], 1
    for c, k, p in blocks:
        shapes += [(c, cin, k), (c,)]
        cin, length = c, (length - k + 1) // p
    return shapes + [(hidden, cin * length), (hidden,), (1, hidden), (1,)]


def cnn_reference(name, params, x, y):
    length, blocks, hidden = config = parse_name(name)
    views, offset = [], 0
    for shape in param_shapes(config):
        n = torch.Size(shape).numel()
        views.append(params[offset:offset + n].view(shape))
        offset += n
    assert offset == params.numel(), "the parameters are not torch.nn's of this Cnn"
    h = x.unsqueeze(1)
    for b, (_, _, pool) in enumerate(blocks):
        h = F.max_pool1d(F.relu(F.conv1d(h, views[2 * b], views[2 * b + 1])), pool)
    w1, b1, w2, b2 = views[-4:]
    logits = F.linear(F.relu(F.linear(h.flatten(1), w1, b1)), w2, b2).squeeze(1)
    return F.binary_cross_entropy_with_logits(logits, y)


def cnn_sample(config, batch, dtype, requires_grad):
    # torch.nn's scale (1/sqrt(fan_in)): outputs of order 1.
    parts = []
    for shape in param_shapes(config):
        fan_in = torch.Size(shape[1:]).numel() if len(shape) > 1 else 1
        parts.append(torch.randn(shape) / fan_in ** 0.5)
    params = torch.cat([p.flatten() for p in parts]).to(dtype).requires_grad_(requires_grad)
    x = torch.randn(batch, config[0], dtype=dtype)
    y = torch.randint(0, 2, (batch,)).to(dtype)
    return (cnn_name(config), params, x, y)


class TestCnnModelLoss(OpTests):
    op_name = "model_loss"
    reference = staticmethod(cnn_reference)

    def sample_inputs(self, dtype, *, requires_grad):
        # Differentiable w.r.t. params only (the operator's one gradient).
        samples = [cnn_sample(c, batch, dtype, requires_grad) for c in CONFIGS for batch in (1, 4)]
        samples.append(cnn_sample(GW_DEFAULT, 2, dtype, requires_grad))
        return samples

    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
    def test_opcheck(self, dtype):
        # As test_defined_model_op.py: the forward has no derivative of its own
        # for the input, so no double-backward / aot checks.
        for args in self.sample_inputs(dtype, requires_grad=True)[:3]:
            torch.library.opcheck(self.op, args,
                                  test_utils=("test_schema", "test_autograd_registration", "test_faketensor"))


def test_gradcheck_includes_batch_1_and_every_depth():
    # OpTests.test_gradcheck keeps the small samples: make sure they span the cases.
    samples = [s for s in TestCnnModelLoss().sample_inputs(torch.float64, requires_grad=True)
               if s[1].numel() <= 300]
    assert {s[0] for s in samples} == {cnn_name(c) for c in CONFIGS}
    assert {s[2].shape[0] for s in samples} == {1, 4}


def test_from_several_threads_at_once():
    # Each configuration new to the process: the first call makes its definition.
    configs = [(50 + 7 * i, [(2 + (i + b) % 3, 2 + b % 2, 2) for b in range(1 + i % 4)], 3 + i)
               for i in range(8)]
    samples = [cnn_sample(c, 3, torch.float64, True) for c in configs]
    results = [None] * len(samples)

    def run(i):
        for _ in range(10):
            name, p, x, y = samples[i]
            q = p.detach().clone().requires_grad_()
            loss = torch.ops.torchclad.model_loss(name, q, x, y)
            (grad,) = torch.autograd.grad(loss, q)
            results[i] = (loss.detach(), grad)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(samples))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (name, p, x, y), result in zip(samples, results):
        q = p.detach().clone().requires_grad_()
        expected = cnn_reference(name, q, x, y)
        expected.backward()
        ref.assert_close(result[0], expected.detach())
        ref.assert_close(result[1], q.grad)


def test_errors_name_what_was_expected():
    name, p, x, y = cnn_sample(CONFIGS[1], 2, torch.float32, False)
    n = p.numel()
    with pytest.raises(RuntimeError, match=rf"params size\(0\) must be {n} \(the definition's parameter count\), found {n - 1}"):
        torch.ops.torchclad.model_loss(name, p[:-1], x, y)
    with pytest.raises(RuntimeError, match=r"input size\(1\) must be 41 \(the definition's inputs\), found 40"):
        torch.ops.torchclad.model_loss(name, p, x[:, :40].contiguous(), y)
    with pytest.raises(RuntimeError, match=r"target must hold 1 value\(s\) per sample \(2 values\), found 3"):
        torch.ops.torchclad.model_loss(name, p, x, torch.ones(3))
    with pytest.raises(RuntimeError, match=r"Cnn: block 0 \(kernel 11, pool 1\) on 10 samples: the signal shrinks to nothing"):
        torch.ops.torchclad.model_loss("cnn-10-c2k11p1-h4", torch.zeros(4), torch.zeros(2, 10), torch.zeros(2))
    # The process stays healthy after a failed check.
    ref.assert_close(torch.ops.torchclad.model_loss(name, p, x, y), cnn_reference(name, p, x, y))
