# The checks every torchclad forward operator gets, in the style of
# pytorch/extension-cpp's test_extension.py: a test class per operator
# defines `op_name`, `reference` and `sample_inputs(dtype, requires_grad=)`,
# and these tests run its samples through correctness, gradients, gradcheck
# and opcheck.
import pytest
import torch

import reference as ref

DTYPES = [torch.float64, torch.float32]
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])


def grads_via_backward(fn, args, grad_out):
    """fn(*args).backward(grad_out) on fresh leaves; returns (output, grads of
    the arguments that require grad)."""
    leaves = [
        a.detach().clone().requires_grad_() if isinstance(a, torch.Tensor) and a.requires_grad else a
        for a in args
    ]
    out = fn(*leaves)
    out.backward(grad_out)
    return out.detach(), [a.grad for a in leaves if isinstance(a, torch.Tensor) and a.requires_grad]


def small(args, limit=300):
    # gradcheck builds dense Jacobians: keep it to samples this size.
    return all(a.numel() <= limit for a in args if isinstance(a, torch.Tensor))


class OpTests:
    op_name: str
    reference = None  # staticmethod in subclasses

    def sample_inputs(self, dtype, *, requires_grad):
        raise NotImplementedError

    @property
    def op(self):
        return getattr(torch.ops.torchclad, self.op_name).default

    @dtypes
    def test_correctness(self, dtype):
        for args in self.sample_inputs(dtype, requires_grad=False):
            ref.assert_close(self.op(*args), self.reference(*args))

    @dtypes
    def test_gradients(self, dtype):
        for args in self.sample_inputs(dtype, requires_grad=True):
            out = self.op(*[a.detach() if isinstance(a, torch.Tensor) else a for a in args])
            grad_out = torch.randn_like(out)  # a non-unit upstream gradient
            result = grads_via_backward(self.op, args, grad_out)
            expected = grads_via_backward(self.reference, args, grad_out)
            ref.assert_close(result[0], expected[0])
            ref.assert_close(result[1], expected[1])

    def test_gradcheck(self):
        samples = [a for a in self.sample_inputs(torch.float64, requires_grad=True) if small(a)]
        assert samples
        for args in samples:
            assert torch.autograd.gradcheck(self.op, args)

    @dtypes
    def test_opcheck(self, dtype):
        samples = self.sample_inputs(dtype, requires_grad=True)
        samples += self.sample_inputs(dtype, requires_grad=False)
        for args in samples:
            torch.library.opcheck(self.op, args)
