# torch.ops.torchclad.model_loss from Python: a model definition compiled with
# Clad (libtorchclad_models.so, models/) as a LibTorch operator whose backward
# is the definition's Clad gradient; gradcheck, opcheck, a PyTorch reference
# of the same network, composition with LibTorch ops, and its errors.
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from conftest import LIB

MODELS = LIB.parent / "libtorchclad_models.so"


@pytest.fixture(scope="module", autouse=True)
def models():
    if not MODELS.is_file():
        raise pytest.UsageError(f"{MODELS} not found: build cling-plugin (bash scripts/build.sh)")
    torch.ops.load_library(str(MODELS))  # its TORCHCLAD_MODELs register when it loads


def tiny_params(dtype):
    # fc1.weight [4, 3], fc1.bias [4], fc2.weight [2, 4], fc2.bias [2], in that order.
    return torch.randn(4 * 3 + 4 + 2 * 4 + 2, dtype=dtype)


def tiny_reference(p, x, y):
    w1, b1 = p[:12].view(4, 3), p[12:16]
    w2, b2 = p[16:24].view(2, 4), p[24:26]
    return F.mse_loss(F.linear(torch.tanh(F.linear(x, w1, b1)), w2, b2), y)


@pytest.mark.parametrize("batch", [1, 5])
def test_gradcheck_against_finite_differences(batch):
    p = tiny_params(torch.float64).requires_grad_()
    x, y = torch.randn(batch, 3, dtype=torch.float64), torch.randn(batch, 2, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda q: torch.ops.torchclad.model_loss("tiny_regression", q, x, y), (p,))


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_loss_and_gradient_equal_pytorch(dtype, tol):
    p = tiny_params(dtype).requires_grad_()
    q = p.detach().clone().requires_grad_()
    x, y = torch.randn(7, 3, dtype=dtype), torch.randn(7, 2, dtype=dtype)
    ours = torch.ops.torchclad.model_loss("tiny_regression", p, x, y)
    ref = tiny_reference(q, x, y)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(ours, ref, rtol=tol, atol=tol)
    torch.testing.assert_close(p.grad, q.grad, rtol=tol, atol=tol)


def test_the_gw_cnn_definition_from_python_equals_pytorch():
    conv = [torch.nn.Conv1d(1, 8, 16), torch.nn.Conv1d(8, 16, 8), torch.nn.Conv1d(16, 32, 8)]
    fc1, fc2 = torch.nn.Linear(928, 64), torch.nn.Linear(64, 1)
    modules = [*conv, fc1, fc2]
    params = torch.cat([t.detach().reshape(-1) for m in modules for t in (m.weight, m.bias)]).requires_grad_()
    x, y = torch.randn(4, 2048), torch.randint(0, 2, (4, 1)).float()
    h = x.unsqueeze(1)
    for c in conv:
        h = F.relu(F.max_pool1d(c(h), 4))
    ref = F.binary_cross_entropy_with_logits(fc2(F.relu(fc1(h.flatten(1)))), y)
    ref.backward()
    ours = torch.ops.torchclad.model_loss("gw_cnn", params, x, y)
    ours.backward()
    torch.testing.assert_close(ours, ref.detach(), rtol=1e-5, atol=1e-6)
    expected = torch.cat([t.grad.reshape(-1) for m in modules for t in (m.weight, m.bias)])
    torch.testing.assert_close(params.grad, expected, rtol=1e-4, atol=1e-6)


def test_composes_with_pytorch_ops():
    p = tiny_params(torch.float64).requires_grad_()
    x, y = torch.randn(3, 3, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)
    total = 3 * torch.ops.torchclad.model_loss("tiny_regression", p, x, y) + p.pow(2).sum()
    total.backward()
    q = p.detach().clone().requires_grad_()
    (3 * tiny_reference(q, x, y) + q.pow(2).sum()).backward()
    torch.testing.assert_close(p.grad, q.grad)


def test_opcheck():
    p = tiny_params(torch.float32).requires_grad_()
    x, y = torch.randn(2, 3), torch.randn(2, 2)
    torch.library.opcheck(torch.ops.torchclad.model_loss.default, ("tiny_regression", p, x, y),
                          test_utils=("test_schema", "test_autograd_registration", "test_faketensor"))


def test_errors_name_what_was_expected():
    p = tiny_params(torch.float32)
    with pytest.raises(RuntimeError, match="no model definition named 'nope'"):
        torch.ops.torchclad.model_loss("nope", p, torch.randn(2, 3), torch.randn(2, 2))
    with pytest.raises(RuntimeError, match="input"):
        torch.ops.torchclad.model_loss("tiny_regression", p, torch.randn(2, 5), torch.randn(2, 2))
    with pytest.raises(RuntimeError, match="target must hold 2 value"):
        torch.ops.torchclad.model_loss("tiny_regression", p, torch.randn(2, 3), torch.randn(2, 3))
    with pytest.raises(RuntimeError, match="params"):
        torch.ops.torchclad.model_loss("tiny_regression", p[:-1], torch.randn(2, 3), torch.randn(2, 2))
