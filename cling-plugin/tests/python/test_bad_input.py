# Invalid arguments raise RuntimeError naming the operator, the argument and
# what was found, through the plain and the autograd path, and leave the
# process healthy.
import pytest
import torch

import reference as ref

ops = torch.ops.torchclad
D = torch.float64


def r(*shape, dtype=D, grad=False):
    return torch.randn(*shape, dtype=dtype, requires_grad=grad)


X, W, B = r(3, 5), r(4, 5), r(4)
LOGITS, TARGET = r(3, 10), torch.tensor([0, 9, 4])
MLP_X, MLP_T, MLP_P = r(2, 7), torch.tensor([0, 2]), r(ref.mlp_param_count([7, 5, 3]))



def case(id, call, message, bug=None):
    # A known C++ defect stays a strict xfail: it fails loudly once fixed.
    marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=bug)] if bug else []
    return pytest.param(call, "torchclad::" + message, id=id, marks=marks)


# Messages read "torchclad::<op>: <arg> must be <expected>, found <found>";
# each regex below starts at <op>.
CASES = [
    # linear
    case("linear-int32", lambda: ops.linear(X.int(), W, B), r"linear: input must be float32 or float64, found Int"),
    case("linear-float16", lambda: ops.linear(X.half(), W, B), r"linear: input must be float32 or float64, found Half"),
    case("linear-mixed-dtype", lambda: ops.linear(X, W.float(), B), r"linear: weight must have the dtype of input \(Double\), found Float"),
    case("linear-rank-1", lambda: ops.linear(X[0], W, B), r"linear: input must be 2-D .*found 1-D of shape \[5\]"),
    case("linear-rank-3", lambda: ops.linear(X[None], W, B), r"linear: input must be 2-D .*found 3-D of shape \[1, 3, 5\]"),
    case("linear-in-features", lambda: ops.linear(r(3, 6), W, B), r"linear: weight size\(1\) must be 6 \(in_features of the input\), found 5"),
    case("linear-bias-size", lambda: ops.linear(X, W, r(3)), r"linear: bias size\(0\) must be 4 .*found 3"),
    case("linear-transposed", lambda: ops.linear(r(5, 3).t(), W, B), r"linear: input must be contiguous, found strides \[1, 3\]"),
    case("linear-empty-batch", lambda: ops.linear(r(0, 5), W, B), r"linear: input is an empty batch \(0 rows\)"),
    case("linear-autograd-path", lambda: ops.linear(X.int(), r(4, 5, grad=True), B), r"linear: input must be float32 or float64, found Int"),
    # activation
    case("activation-int32", lambda: ops.activation(X.int(), ref.RELU), r"activation: input must be float32 or float64, found Int"),
    case("activation-float16", lambda: ops.activation(X.half(), ref.TANH), r"activation: input must be float32 or float64, found Half"),
    case("activation-kind-7", lambda: ops.activation(X, 7), r"activation: kind must be 0 \(identity\).*, found 7"),
    case("activation-kind-7-autograd", lambda: ops.activation(r(3, grad=True), 7), r"activation: kind must be .*found 7"),
    case("activation-kind-negative", lambda: ops.activation(X, -1), r"activation: kind must be .*found -1"),
    case("activation-transposed", lambda: ops.activation(r(5, 3).t(), ref.SIGMOID), r"activation: input must be contiguous, found strides \[1, 3\]"),
    # cross_entropy
    case("ce-target-10-of-10", lambda: ops.cross_entropy(LOGITS, torch.tensor([0, 10, 1])), r"cross_entropy: target\[1\] = 10 is out of range; expected a class index in \[0, 10\)"),
    case("ce-target-negative", lambda: ops.cross_entropy(LOGITS, torch.tensor([0, 1, -1])), r"cross_entropy: target\[2\] = -1 is out of range"),
    case("ce-target-float", lambda: ops.cross_entropy(LOGITS, TARGET.float()), r"cross_entropy: target must be int64 class indices, found Float"),
    case("ce-target-length", lambda: ops.cross_entropy(LOGITS, TARGET[:2]), r"cross_entropy: target must be 1-D \[3\] .*found shape \[2\]"),
    case("ce-logits-rank", lambda: ops.cross_entropy(LOGITS[0], TARGET[:1]), r"cross_entropy: logits must be 2-D .*found 1-D"),
    case("ce-logits-int32", lambda: ops.cross_entropy(LOGITS.int(), TARGET), r"cross_entropy: logits must be float32 or float64, found Int"),
    case("ce-empty-batch", lambda: ops.cross_entropy(r(0, 10), TARGET[:0]), r"cross_entropy: logits is an empty batch \(0 rows\)"),
    case("ce-transposed", lambda: ops.cross_entropy(r(10, 3).t(), TARGET), r"cross_entropy: logits must be contiguous"),
    case("ce-autograd-path", lambda: ops.cross_entropy(r(3, 10, grad=True), torch.tensor([0, 1, 10])), r"cross_entropy: target\[2\] = 10 is out of range"),
    # mse_loss
    case("mse-shape", lambda: ops.mse_loss(X, X[:2]), r"mse_loss: target must have the input's shape \[3, 5\], found \[2, 5\]"),
    case("mse-mixed-dtype", lambda: ops.mse_loss(X, X.float()), r"mse_loss: target must have the dtype of input \(Double\), found Float"),
    case("mse-int32", lambda: ops.mse_loss(X.int(), X.int()), r"mse_loss: input must be float32 or float64, found Int"),
    case("mse-empty", lambda: ops.mse_loss(r(0, 5), r(0, 5)), r"mse_loss: input is empty"),
    case("mse-transposed", lambda: ops.mse_loss(X.t(), X.t()), r"mse_loss: input must be contiguous"),
    # mlp_cross_entropy (the autograd path reports the _with_grad op it runs)
    case("mlp-params-length", lambda: ops.mlp_cross_entropy(MLP_X, MLP_T, MLP_P[:-1], [7, 5, 3], 1), r"mlp_cross_entropy: params size\(0\) must be 58 \(the parameter count of these widths\), found 57"),
    case("mlp-params-length-autograd", lambda: ops.mlp_cross_entropy(MLP_X, MLP_T, r(57, grad=True), [7, 5, 3], 1), r"mlp_cross_entropy(_with_grad)?: params size\(0\) must be 58 .*found 57"),
    case("mlp-input-width", lambda: ops.mlp_cross_entropy(MLP_X, MLP_T, MLP_P, [6, 5, 3], 1), r"mlp_cross_entropy: input size\(1\) must be 6 \(widths\[0\]\), found 7"),
    case("mlp-target-range", lambda: ops.mlp_cross_entropy(MLP_X, torch.tensor([0, 3]), MLP_P, [7, 5, 3], 1), r"mlp_cross_entropy: target\[1\] = 3 is out of range"),
    case("mlp-activation-7", lambda: ops.mlp_cross_entropy(MLP_X, MLP_T, MLP_P, [7, 5, 3], 7), r"mlp_cross_entropy: activation must be .*found 7"),
    case("mlp-params-dtype", lambda: ops.mlp_cross_entropy(MLP_X, MLP_T, MLP_P.float(), [7, 5, 3], 1), r"mlp_cross_entropy: params must have the dtype of input \(Double\), found Float"),
    case("mlp-empty-batch", lambda: ops.mlp_cross_entropy(MLP_X[:0], MLP_T[:0], MLP_P, [7, 5, 3], 1), r"mlp_cross_entropy: input is an empty batch"),
    case("mlp-input-float16", lambda: ops.mlp_cross_entropy(MLP_X.half(), MLP_T, MLP_P.half(), [7, 5, 3], 1), r"mlp_cross_entropy: input must be float32 or float64, found Half"),
    # the built-in Mlp's capacity: 64 Linear layers
    case("mlp-too-many-widths", lambda: ops.mlp_cross_entropy(MLP_X, MLP_T, MLP_P, [7] + [5] * 65, 1),
         r"mlp_cross_entropy: widths must list 2 to 65 sizes .*found 66"),
    # a meta tensor among CPU ones: an error, not an uninitialised meta result
    case("linear-device", lambda: ops.linear(X, W.to("meta"), B), r"linear: weight must be on the device of input \(cpu\), found meta"),
    case("linear-bias-device", lambda: ops.linear(X, W, B.to("meta")), r"linear: bias must be on the device of input \(cpu\), found meta"),
    case("ce-device", lambda: ops.cross_entropy(X, torch.tensor([0, 1, 2], device="meta")), r"cross_entropy: target must be on the device of logits \(cpu\), found meta"),
    case("mse-device", lambda: ops.mse_loss(X, X.to("meta")), r"mse_loss: target must be on the device of input \(cpu\), found meta"),
    case("mlp-params-device", lambda: ops.mlp_cross_entropy(MLP_X, MLP_T, MLP_P.to("meta"), [7, 5, 3], 1), r"mlp_cross_entropy: params must be on the device of input \(cpu\), found meta"),
    case("mlp-one-width", lambda: ops.mlp_cross_entropy(MLP_X, MLP_T, MLP_P, [7], 1),
         r"mlp_cross_entropy: widths must list 2 to 65 sizes .*found 1"),
]


def _still_works():
    out = ops.cross_entropy(ops.activation(ops.linear(X, W, B), ref.RELU), torch.tensor([0, 1, 2]))
    ref.assert_close(out, ref.cross_entropy(torch.relu(ref.linear(X, W, B)), torch.tensor([0, 1, 2])))


@pytest.mark.parametrize("call, message", CASES)
def test_rejected_with_message(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()
    _still_works()  # a failed check throws a c10::Error, nothing worse


def test_widths_errors_name_what_was_found():
    # What the widths messages do say today (the op name aside).
    with pytest.raises(RuntimeError, match=r"widths must list 2 to 65 sizes .*found 66"):
        ops.mlp_cross_entropy(MLP_X, MLP_T, MLP_P, [7] + [5] * 65, 1)
    with pytest.raises(RuntimeError, match=r"every width must be at least 1, found 0"):
        ops.mlp_cross_entropy(MLP_X, MLP_T, MLP_P, [7, 0, 3], 1)
    _still_works()
