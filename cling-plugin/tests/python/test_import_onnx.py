# torchclad::import_model on ONNX files PyTorch exports here: each model is
# imported in a real ROOT session (scripts/troot + tests/macros/
# import_onnx_check.C: the source generated, compiled with Clad, the
# pretrained parameters set), and compared with PyTorch: outputs (float32),
# Clad's float64 loss gradient against autograd's, a fine-tuning run that
# lowers the loss (with frozen layers kept fixed), and the exported file, in
# the format imported and in the other one (ONNX by onnxruntime, TorchScript
# by torch.jit.load), against the fine-tuned model. Bad files (missing,
# corrupt, truncated, malformed ones that ONNX's checker refuses, an
# unsupported op, attribute or opset, a dynamic feature dimension) each give
# their clear error and the session survives.
import os
import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnx.helper as oh
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F

ROOT_DIR = Path(__file__).resolve().parents[3]
TROOT = ROOT_DIR / "scripts" / "troot"
MACROS = ROOT_DIR / "cling-plugin" / "tests" / "macros"
TOOL = Path(os.environ.get("TORCHCLAD_BUILD_DIR", ROOT_DIR / "build" / "cling-plugin")) / "torchclad-onnx"


def troot(call, timeout=600):
    r = subprocess.run([str(TROOT), "-b", "-q", call], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


TORCHSCRIPT_FORMATS = ("script", "trace")


def export_as(model, example, stem, fmt, opset=None):
    """Writes `model` (in eval mode) to `stem` + ".pt" as TorchScript
    ("script", "trace" on `example`) or + ".onnx" (the "dynamo" exporter;
    the "legacy" one, at `opset` or its default, with constant folding or,
    "legacy-unfolded", without), the batch dimension dynamic, the input named
    x. Returns the file's path."""
    model.eval()
    path = Path(f"{stem}.{'pt' if fmt in TORCHSCRIPT_FORMATS else 'onnx'}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == "script":
            torch.jit.script(model).save(str(path))
        elif fmt == "trace":
            torch.jit.trace(model, example).save(str(path))
        elif fmt == "dynamo":  # writes its weights to path + ".data" (external data)
            torch.onnx.export(model, (example,), str(path), dynamo=True, input_names=["x"],
                              dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},))
        elif fmt in ("legacy", "legacy-unfolded"):
            torch.onnx.export(model, (example,), str(path), dynamo=False, input_names=["x"], output_names=["out"],
                              dynamic_axes={"x": {0: "batch"}}, do_constant_folding=fmt == "legacy",
                              **({"opset_version": opset} if opset else {}))
        else:
            raise ValueError(f"export_as: unknown format {fmt!r}")
    return path


def onnx_ops(path):
    return [n.op_type for n in onnx.load(str(path)).graph.node]


def run_check(tmp_path, onnx_path, loss, x, y, epochs=3, frozen="", torchscript_shape=None):
    """Imports the file in ROOT (a TorchScript one with the per-sample shape
    of x unless told), checks, fine-tunes and exports it; returns the macro's
    results, the parameters' names and sizes, and its output."""
    if torchscript_shape is None:
        torchscript_shape = ",".join(str(d) for d in x.shape[1:]) if Path(onnx_path).suffix == ".pt" else ""
    x.numpy().astype(np.float32).tofile(tmp_path / "x.bin")
    y.numpy().astype(np.float32).tofile(tmp_path / "y.bin")
    features = int(np.prod(x.shape[1:]))
    code, out = troot(f'{MACROS}/import_onnx_check.C("{onnx_path}", "{loss}", "{tmp_path}", {features}, {epochs}, "{frozen}", "{torchscript_shape}")')
    assert code == 0 and "import_onnx_check: done" in out, out
    results = dict(line.split(" ", 1) for line in (tmp_path / "results.txt").read_text().splitlines())
    names = [(l.split()[0], int(l.split()[1])) for l in (tmp_path / "params.txt").read_text().splitlines()]
    return results, names, out


def split_params(flat, names):
    out, at = {}, 0
    for name, count in names:
        out[name] = flat[at:at + count]
        at += count
    return out


def reference_loss(output, y, loss):
    if loss == "cross_entropy":
        return F.cross_entropy(output, y.long())
    if loss == "bce_with_logits":
        return F.binary_cross_entropy_with_logits(output[:, 0], y)
    return F.mse_loss(output, y.reshape(output.shape))


def autograd_gradient(model, x, y, loss, names):
    m = model.double()
    params = dict(m.named_parameters())
    for p in params.values():
        p.grad = None
    reference_loss(m(x.double()), y.double(), loss).backward()
    return np.concatenate([params[name].grad.numpy().ravel() for name, _ in names])


def check_common(tmp_path, results, names, x, expected_pred, loss):
    pred = np.fromfile(tmp_path / "pred.bin", dtype=np.float32).reshape(len(x), -1)
    np.testing.assert_allclose(pred, expected_pred, rtol=1e-4, atol=1e-5)
    assert results["gradient_check_passed"] == "1", results
    assert results["status"] == "finished"
    assert float(results["loss_after"]) < float(results["loss_before"]), results
    # The source is kept where import_model said, and reads as a definition.
    source = Path(results["source"]).read_text()
    assert "TORCHCLAD_MODEL(" in source and "static T loss(" in source
    if (tmp_path / "finetuned.pt").exists():  # TorchScript: PyTorch loads what export_torchscript wrote
        with torch.no_grad():
            got = torch.jit.load(str(tmp_path / "finetuned.pt"))(x).numpy().reshape(len(x), -1)
    else:  # ONNX: onnxruntime computes what the fine-tuned model does
        exported = tmp_path / "finetuned.onnx"
        onnx.checker.check_model(onnx.load(str(exported)))
        session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0].reshape(len(x), -1)
    after = np.fromfile(tmp_path / "pred_after.bin", dtype=np.float32).reshape(len(x), -1)
    np.testing.assert_allclose(got, after, rtol=1e-4, atol=1e-4)
    assert not np.allclose(after, pred), "fine-tuning changed nothing"
    check_cross_export(tmp_path, results, x, after)


def check_cross_export(tmp_path, results, x, after):
    """The export to the other format (import_onnx_check.C writes it): an
    ONNX-imported model as TorchScript, which torch.jit.load reads, and a
    TorchScript-imported one as ONNX, which ONNX's checker passes and
    onnxruntime runs; each computes what the fine-tuned model does."""
    assert "cross_export_error" not in results, results["cross_export_error"]
    if (tmp_path / "finetuned.pt").exists():
        exported = tmp_path / "finetuned_cross.onnx"
        onnx.checker.check_model(onnx.load(str(exported)), full_check=True)
        session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0].reshape(len(x), -1)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice
            module = torch.jit.load(str(tmp_path / "finetuned_cross.pt"))
        with torch.no_grad():
            got = module(x).numpy().reshape(len(x), -1)
        # PyTorch can train it further: each parameter takes a gradient.
        parameters = dict(module.named_parameters())
        assert parameters, "the TorchScript export has no parameters"
        module(x).square().sum().backward()
        untrained = [k for k, p in parameters.items() if p.grad is None]
        assert not untrained, f"parameters without a gradient in PyTorch: {untrained}"
    np.testing.assert_allclose(got, after, rtol=1e-4, atol=1e-4)


def check_against_module(tmp_path, model, results, names, x, y, loss, same_order=True):
    """The imported model against `model`: outputs, Clad's float64 gradient
    against autograd's parameter by parameter (the imported parameters are
    the module's, in its order, or with same_order=False by name), and
    check_common's fine-tuning and export."""
    if same_order:
        assert [n for n, _ in names] == [k for k, _ in model.named_parameters()]
    else:
        assert sorted(n for n, _ in names) == sorted(k for k, _ in model.named_parameters())
    with torch.no_grad():
        expected = model(x).numpy()
    grad = split_params(np.fromfile(tmp_path / "grad.bin", dtype=np.float64), names)
    model.double()
    for p in model.parameters():
        p.grad = None
    reference_loss(model(x.double()), y.double(), loss).backward()
    for k, p in model.named_parameters():
        np.testing.assert_allclose(grad[k], p.grad.numpy().ravel(), rtol=1e-6, atol=1e-10, err_msg=k)
    model.float()
    check_common(tmp_path, results, names, x, expected, loss)


def test_mlp_gemm_dropout_frozen_layer(tmp_path):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                torch.nn.Linear(16, 12), torch.nn.Tanh(), torch.nn.Linear(12, 10),
                                torch.nn.Sigmoid(), torch.nn.Linear(10, 3))
    x = torch.randn(48, 8)
    y = (x[:, 0] > 0).float() + (x[:, 1] > 0.5).float()  # classes 0, 1, 2
    path = export_as(model, x[:2], tmp_path / "mlp", "dynamo")
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y, frozen="0")
    check_against_module(tmp_path, model, results, names, x, y, "cross_entropy")  # named after the initializers
    # Back to PyTorch: the TorchScript export's state_dict has the file's
    # names, which are the module's, and the module computes the fine-tuned model.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = torch.jit.load(str(tmp_path / "finetuned_cross.pt")).state_dict()
    assert sorted(state) == sorted(model.state_dict())
    model.load_state_dict(state)
    with torch.no_grad():
        np.testing.assert_allclose(model(x).numpy(), np.fromfile(tmp_path / "pred_after.bin", dtype=np.float32)
                                   .reshape(len(x), -1), rtol=1e-4, atol=1e-4)
    before = split_params(np.fromfile(tmp_path / "params_before.bin", dtype=np.float32), names)
    after = split_params(np.fromfile(tmp_path / "params_after.bin", dtype=np.float32), names)
    for name, _ in names:
        if name.startswith("0."):
            np.testing.assert_array_equal(after[name], before[name])  # frozen
        else:
            assert not np.array_equal(after[name], before[name]), name


def hand_built_model(path, opset=17, with_selu=False, feature_dim=6, middle="Identity"):
    """MatMul + Add (a Linear layer as two ops), Gemm with transB=0, and
    between them `middle`: Identity, or Dropout in inference (its ratio an
    input, its mask an output nobody reads), which PyTorch's exporters drop
    from an eval-mode module but other tools write."""
    rng = np.random.default_rng(3)
    w1 = rng.normal(size=(6, 5)).astype(np.float32) * 0.4   # [in, out] for MatMul
    b1 = rng.normal(size=(5,)).astype(np.float32) * 0.1
    w2 = rng.normal(size=(5, 2)).astype(np.float32) * 0.4   # Gemm, transB=0: [in, out]
    b2 = rng.normal(size=(2,)).astype(np.float32) * 0.1
    act = oh.make_node("Selu", ["h"], ["r"], name="selu") if with_selu else oh.make_node("Relu", ["h"], ["r"], name="relu")
    graph = oh.make_graph(
        [oh.make_node("MatMul", ["x", "fc1.weight"], ["mm"], name="matmul"),
         oh.make_node("Add", ["mm", "fc1.bias"], ["h"], name="add"),
         act,
         (oh.make_node("Dropout", ["r", "ratio"], ["r2", "mask"], name="dropout") if middle == "Dropout"
          else oh.make_node("Identity", ["r"], ["r2"], name="identity")),
         oh.make_node("Gemm", ["r2", "fc2.weight", "fc2.bias"], ["out"], name="gemm", transB=0)],
        "hand", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", feature_dim])],
        [oh.make_tensor_value_info("out", onnx.TensorProto.FLOAT, ["batch", 2])],
        [onnx.numpy_helper.from_array(a, n) for a, n in
         [(w1, "fc1.weight"), (b1, "fc1.bias"), (w2, "fc2.weight"), (b2, "fc2.bias")]] +
        ([onnx.numpy_helper.from_array(np.array(0.3, dtype=np.float32), "ratio")] if middle == "Dropout" else []))
    m = oh.make_model(graph, opset_imports=[oh.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return w1, b1, w2, b2


@pytest.mark.parametrize("middle", ["Identity", "Dropout"])
def test_matmul_add_and_gemm_transposed_regression(tmp_path, middle):
    path = tmp_path / "hand.onnx"
    w1, b1, w2, b2 = hand_built_model(path, middle=middle)
    assert middle in [n.op_type for n in onnx.load(str(path)).graph.node]
    torch.manual_seed(2)
    x = torch.randn(40, 6)
    y = torch.stack([x[:, 0] - x[:, 1], x[:, 2] * 0.5], dim=1)
    # The same network in PyTorch, parameters as torchclad names them ([out, in]).
    ref = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    with torch.no_grad():
        ref[0].weight.copy_(torch.from_numpy(w1.T.copy())); ref[0].bias.copy_(torch.from_numpy(b1))
        ref[2].weight.copy_(torch.from_numpy(w2.T.copy())); ref[2].bias.copy_(torch.from_numpy(b2))
    results, names, _ = run_check(tmp_path, path, "mse", x, y)
    assert [n for n, _ in names] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    with torch.no_grad():
        expected = ref(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], expected, rtol=1e-5, atol=1e-5)
    grad = np.fromfile(tmp_path / "grad.bin", dtype=np.float64)
    ref_names = [("0.weight", 30), ("0.bias", 5), ("2.weight", 10), ("2.bias", 2)]
    np.testing.assert_allclose(grad, autograd_gradient(ref, x, y, "mse", ref_names), rtol=1e-6, atol=1e-10)
    check_common(tmp_path, results, names, x, expected, "mse")


class SmallCnn(torch.nn.Module):
    def __init__(self, bn=True):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(1, 4, 5)
        self.bn1 = torch.nn.BatchNorm1d(4) if bn else torch.nn.Identity()
        self.pool1 = torch.nn.MaxPool1d(2)
        self.conv2 = torch.nn.Conv1d(4, 6, 3)
        self.pool2 = torch.nn.MaxPool1d(3)
        self.fc1 = torch.nn.Linear(6 * 3, 8)
        self.fc2 = torch.nn.Linear(8, 1)

    def forward(self, x):
        h = self.pool1(torch.relu(self.bn1(self.conv1(x))))
        h = self.pool2(torch.relu(self.conv2(h)))
        # view(batch, -1): the legacy exporter writes Shape, Gather, Unsqueeze, Concat, Reshape
        return self.fc2(torch.relu(self.fc1(h.view(h.size(0), -1))))


def test_cnn_conv_batchnorm_folded_maxpool_flatten_binary(tmp_path):
    torch.manual_seed(4)
    model = SmallCnn()
    with torch.no_grad():  # running statistics that matter
        model.bn1.running_mean.uniform_(-0.5, 0.5)
        model.bn1.running_var.uniform_(0.5, 2.0)
        model.bn1.weight.uniform_(0.5, 1.5)
        model.bn1.bias.uniform_(-0.3, 0.3)
    model.eval()
    x = torch.randn(40, 1, 28)
    y = (x[:, 0, :14].sum(1) > 0).float()
    # Without constant folding the exporter keeps BatchNormalization (and
    # writes Identity nodes for the parameters); folding is then torchclad's.
    path = export_as(model, x[:2], tmp_path / "cnn", "legacy-unfolded")
    ops = onnx_ops(path)
    assert "BatchNormalization" in ops and "Shape" in ops and "Reshape" in ops, ops
    results, names, _ = run_check(tmp_path, path, "bce_with_logits", x, y)
    with torch.no_grad():
        expected = model(x).numpy()
    # The imported model has BatchNorm folded into conv1: the same network
    # without it, with torchclad's imported parameters, is autograd's reference.
    folded = SmallCnn(bn=False).eval()
    params = split_params(np.fromfile(tmp_path / "params_before.bin", dtype=np.float32), names)
    assert sorted(params) == sorted(k for k, _ in folded.named_parameters())
    with torch.no_grad():
        for k, p in folded.named_parameters():
            p.copy_(torch.from_numpy(params[k]).reshape(p.shape))
        np.testing.assert_allclose(folded(x).numpy(), expected, rtol=1e-4, atol=1e-5)
    grad = np.fromfile(tmp_path / "grad.bin", dtype=np.float64)
    np.testing.assert_allclose(grad, autograd_gradient(folded, x.reshape(len(x), 1, -1), y, "bce_with_logits", names),
                               rtol=1e-6, atol=1e-10)
    check_common(tmp_path, results, names, x, expected, "bce_with_logits")


@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_sequential_cnn(tmp_path, how):
    torch.manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 3, 4), torch.nn.ReLU(), torch.nn.MaxPool1d(2),
                                torch.nn.Conv1d(3, 4, 3), torch.nn.Tanh(), torch.nn.Flatten(),
                                torch.nn.Dropout(0.1), torch.nn.Linear(4 * 7, 6), torch.nn.Sigmoid(),
                                torch.nn.Linear(6, 1)).eval()
    x = torch.randn(36, 1, 21)
    y = (x[:, 0, :10].mean(1) > 0).float()
    path = export_as(model, x[:2], tmp_path / "seq", how)
    results, names, _ = run_check(tmp_path, path, "bce_with_logits", x, y)
    check_against_module(tmp_path, model, results, names, x, y, "bce_with_logits")


class BlocksCnn(torch.nn.Module):
    """The nn blocks for imported models: a 2-channel input, stride, padding,
    dilation, groups, a convolution without bias, LeakyReLU, average and max
    pooling with stride and padding, LogSoftmax."""
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(2, 4, 5, stride=2, padding=1, bias=False)
        self.act = torch.nn.LeakyReLU(0.2)
        self.pool1 = torch.nn.AvgPool1d(3, stride=2, padding=1)
        self.conv2 = torch.nn.Conv1d(4, 6, 3, dilation=2, groups=2)
        self.pool2 = torch.nn.MaxPool1d(2, stride=1)
        self.fc = torch.nn.Linear(6 * 2, 4)
        self.out = torch.nn.LogSoftmax(dim=1)

    def forward(self, x):
        h = self.pool1(self.act(self.conv1(x)))
        h = self.pool2(torch.tanh(self.conv2(h)))
        return self.out(self.fc(torch.flatten(h, 1)))


@pytest.mark.parametrize("fmt", ["dynamo", "script"])
def test_blocks_cnn_multichannel_stride_padding_pools(tmp_path, fmt):
    torch.manual_seed(6)
    model = BlocksCnn().eval()
    x = torch.randn(40, 2, 29)
    y = (x[:, 0, :10].mean(1) > 0).long() + 2 * (x[:, 1, :10].mean(1) > 0).long()
    path = export_as(model, x[:2], tmp_path / "blocks", fmt)
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y.float())
    check_against_module(tmp_path, model, results, names, x, y.float(), "cross_entropy")


class Cnn2d(torch.nn.Module):
    """2D: Conv2d with padding, BatchNorm2d (folded), a dilated Conv2d
    (dilation 2 down, 3 across) with a stride and padding that differ in
    height and width (its output larger than its input: [4, 10, 9] ->
    [4, 12, 4]), MaxPool2d, a grouped Conv2d with a rectangular kernel and
    stride and no bias, AvgPool2d with padding (count_include_pad as
    PyTorch's default)."""
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(4)
        self.dilated = torch.nn.Conv2d(4, 4, 3, stride=(1, 2), padding=(3, 2), dilation=(2, 3))
        self.pool1 = torch.nn.MaxPool2d(2)
        self.conv2 = torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), groups=2, bias=False)
        self.pool2 = torch.nn.AvgPool2d(2, stride=1, padding=1)
        self.fc = torch.nn.Linear(6 * 3 * 2, 1)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = self.pool1(torch.tanh(self.dilated(h)))
        h = self.pool2(torch.relu(self.conv2(h)))
        return self.fc(torch.flatten(h, 1))


@pytest.mark.parametrize("fmt", ["dynamo", "legacy-unfolded", "script", "trace"])
def test_cnn_2d_batchnorm_pools(tmp_path, fmt):
    torch.manual_seed(7)
    model = Cnn2d()
    with torch.no_grad():
        model.bn1.running_mean.uniform_(-0.5, 0.5)
        model.bn1.running_var.uniform_(0.5, 2.0)
        model.bn1.weight.uniform_(0.5, 1.5)
        model.bn1.bias.uniform_(-0.3, 0.3)
    model.eval()
    x = torch.randn(32, 3, 10, 9)
    y = (x[:, 0].mean((1, 2)) > 0).float()
    path = export_as(model, x[:2], tmp_path / "cnn2d", fmt)
    if fmt in TORCHSCRIPT_FORMATS:
        kinds = {n.kind() for n in torch.jit.load(str(path)).inlined_graph.nodes()}
        assert kinds & {"aten::conv2d", "aten::_convolution"} and "aten::batch_norm" in kinds, kinds
    else:
        ops = onnx_ops(path)
        # The dynamo exporter's optimizer folds BatchNormalization into conv1 itself.
        assert fmt == "dynamo" or "BatchNormalization" in ops, ops
        dilations = [list(oh.get_node_attr_value(n, "dilations")) for n in onnx.load(str(path)).graph.node
                     if n.op_type == "Conv" and any(a.name == "dilations" for a in n.attribute)]
        assert [2, 3] in dilations, dilations
    results, names, _ = run_check(tmp_path, path, "bce_with_logits", x, y)
    source = Path(results["source"]).read_text()
    # The dilated layer's options: stride 1x2, padding 3x2, dilation 2x3 (then the ends, bias, groups).
    assert "nn::Conv2dOptions{1, 2, 3, 2, 2, 3, -1, -1, true, 1}" in source, source
    with torch.no_grad():
        expected = model(x).numpy()
    # BatchNorm folded into conv1: autograd's reference is the network
    # without it, with torchclad's imported parameters.
    folded = Cnn2d()
    folded.bn1 = torch.nn.Identity()
    folded.eval()
    params = split_params(np.fromfile(tmp_path / "params_before.bin", dtype=np.float32), names)
    assert sorted(params) == sorted(k for k, _ in folded.named_parameters())
    with torch.no_grad():
        for k, p in folded.named_parameters():
            p.copy_(torch.from_numpy(params[k]).reshape(p.shape))
    grad = np.fromfile(tmp_path / "grad.bin", dtype=np.float64)
    np.testing.assert_allclose(grad, autograd_gradient(folded, x, y, "bce_with_logits", names), rtol=1e-6, atol=1e-10)
    check_common(tmp_path, results, names, x, expected, "bce_with_logits")


class SoftmaxMlp(torch.nn.Module):
    """An MLP whose last op is a Softmax (or LogSoftmax) over its flat
    class scores: the model outputs probabilities (log-probabilities), and
    cross_entropy is taken of them, as F.cross_entropy(model(x), y) does."""
    def __init__(self, last):
        super().__init__()
        self.fc1 = torch.nn.Linear(7, 12)
        self.fc2 = torch.nn.Linear(12, 4)
        self.out = torch.nn.Softmax(dim=-1) if last == "softmax" else torch.nn.LogSoftmax(dim=1)

    def forward(self, x):
        return self.out(self.fc2(torch.tanh(self.fc1(x))))


@pytest.mark.parametrize("last", ["softmax", "log_softmax"])
@pytest.mark.parametrize("fmt,opset", [("dynamo", None), ("legacy", None), ("legacy", 11), ("script", None)])
def test_mlp_ending_in_softmax_over_classes(tmp_path, fmt, opset, last):
    torch.manual_seed(21)
    model = SoftmaxMlp(last).eval()
    x = torch.randn(48, 7)
    y = (x[:, 0] > 0).float() + 2 * (x[:, 1] > 0).float()  # classes 0 to 3
    path = export_as(model, x[:2], tmp_path / "softmax_mlp", fmt, opset=opset)
    op = "Softmax" if last == "softmax" else "LogSoftmax"
    if fmt in TORCHSCRIPT_FORMATS:
        kinds = {n.kind() for n in torch.jit.load(str(path)).inlined_graph.nodes()}
        assert f"aten::{last}" in kinds, kinds
    else:
        assert onnx_ops(path)[-1] == op, onnx_ops(path)
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y, epochs=5)
    source = Path(results["source"]).read_text()
    assert f"nn::{last}(a, " in source, source  # the block over a flat activation
    check_against_module(tmp_path, model, results, names, x, y, "cross_entropy")
    pred = np.fromfile(tmp_path / "pred.bin", dtype=np.float32).reshape(len(x), -1)
    probabilities = pred if last == "softmax" else np.exp(pred)
    np.testing.assert_allclose(probabilities.sum(1), 1, rtol=1e-5)


class Residual(torch.nn.Module):
    """Add of two activations (a residual connection), Mul by a trained
    per-feature parameter, Sub of a scalar constant."""
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 8)
        self.fc2 = torch.nn.Linear(8, 8)
        self.scale = torch.nn.Parameter(torch.rand(8) + 0.5)
        self.fc3 = torch.nn.Linear(8, 3)

    def forward(self, x):
        h = self.fc1(x)
        z = self.fc2(torch.relu(h)) + h
        return self.fc3(torch.tanh(z * self.scale - 0.5))


def test_add_mul_sub_residual(tmp_path):
    torch.manual_seed(8)
    model = Residual().eval()
    x = torch.randn(40, 6)
    y = torch.randn(40, 3)
    path = export_as(model, x[:2], tmp_path / "residual", "dynamo")
    results, names, _ = run_check(tmp_path, path, "mse", x, y)
    assert "nn::Const" in Path(results["source"]).read_text()  # the scalar 0.5, not trained
    check_against_module(tmp_path, model, results, names, x, y, "mse", same_order=False)


class TwoBranches(torch.nn.Module):
    """Concat of activations: two convolution branches along channels, two
    dense branches along features."""
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Conv1d(1, 2, 3, padding=1)
        self.b = torch.nn.Conv1d(1, 3, 3, padding=1)
        self.fa = torch.nn.Linear(5 * 10, 4)
        self.fb = torch.nn.Linear(5 * 10, 3)
        self.out = torch.nn.Linear(7, 3)

    def forward(self, x):
        h = torch.relu(torch.cat([self.a(x), self.b(x)], dim=1))
        f = torch.flatten(h, 1)
        return self.out(torch.cat([torch.tanh(self.fa(f)), torch.sigmoid(self.fb(f))], dim=1))


def test_concat_channels_and_features(tmp_path):
    torch.manual_seed(10)
    model = TwoBranches().eval()
    x = torch.randn(40, 1, 10)
    y = (x[:, 0, :5].mean(1) > 0).float() + (x[:, 0, 5:].mean(1) > 0).float()
    path = export_as(model, x[:2], tmp_path / "branches", "dynamo")
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y)
    check_against_module(tmp_path, model, results, names, x, y, "cross_entropy", same_order=False)


class TorchOps(torch.nn.Module):
    """The ops a TorchScript module writes for the issue's list beyond
    nn.Linear: torch.cat along channels and (dim=-1) along features,
    BatchNorm1d after it (scripted: its input check and `if self.training`),
    matmul + add of a bias, mm, F.dropout, division by a number, and
    addmm(b, x, w.t()) (a traced Linear of older PyTorch)."""
    def __init__(self):
        super().__init__()
        self.conv_a = torch.nn.Conv1d(1, 2, 3, padding=1)
        self.conv_b = torch.nn.Conv1d(1, 3, 3, padding=1)
        self.bn = torch.nn.BatchNorm1d(5)
        self.w = torch.nn.Parameter(torch.randn(50, 6) * 0.2)
        self.b = torch.nn.Parameter(torch.randn(6) * 0.1)
        self.fc = torch.nn.Linear(6, 4)
        self.w2 = torch.nn.Parameter(torch.randn(6, 3) * 0.4)
        self.lin_w = torch.nn.Parameter(torch.randn(3, 7) * 0.4)
        self.lin_b = torch.nn.Parameter(torch.randn(3) * 0.1)

    def forward(self, x):
        h = torch.relu(self.bn(torch.cat([self.conv_a(x), self.conv_b(x)], dim=1)))
        z = torch.tanh(torch.matmul(torch.flatten(h, 1), self.w) + self.b)
        a = F.dropout(self.fc(z), 0.3, self.training)
        m = torch.sigmoid(torch.mm(z, self.w2)) / 2.0
        return torch.addmm(self.lin_b, torch.cat((a, m), dim=-1), self.lin_w.t())


@pytest.mark.parametrize("fmt", ["dynamo", "script", "trace"])
def test_cat_matmul_mm_addmm_div_scripted_batchnorm(tmp_path, fmt):
    torch.manual_seed(16)
    model = TorchOps()
    with torch.no_grad():
        model.bn.running_mean.uniform_(-0.3, 0.3)
        model.bn.running_var.uniform_(0.5, 2.0)
    model.eval()
    x = torch.randn(40, 1, 10)
    y = (x[:, 0, :5].mean(1) > 0).float() + (x[:, 0, 5:].mean(1) > 0).float()
    path = export_as(model, x[:2], tmp_path / "ops", fmt)
    if fmt == "dynamo":
        concat = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Concat"]
        assert [oh.get_node_attr_value(n, "axis") for n in concat] == [1, -1], concat
    else:
        kinds = {n.kind() for n in torch.jit.load(str(path)).inlined_graph.nodes()}
        assert {"aten::cat", "aten::matmul", "aten::mm", "aten::addmm", "aten::t", "aten::div"} <= kinds, kinds
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y)
    source = Path(results["source"]).read_text()
    for block in ("nn::concat_channels(", "nn::concat_features(", "nn::batch_norm(", "nn::div("):
        assert block in source, (block, source)
    with torch.no_grad():
        expected = model(x).numpy()
    # The imported parameters in the graph's order: matmul's and mm's
    # weights as Linear layers [out, in] (the module's transposed), addmm's
    # w.t() as the module's lin_w.
    module_params = dict(model.named_parameters())
    order = [("conv_a.weight", False), ("conv_a.bias", False), ("conv_b.weight", False), ("conv_b.bias", False),
             ("bn.weight", False), ("bn.bias", False), ("w", True), ("b", False), ("fc.weight", False),
             ("fc.bias", False), ("w2", True), ("lin_w", False), ("lin_b", False)]
    assert [count for _, count in names] == [module_params[k].numel() for k, _ in order], names
    model.double()
    reference_loss(model(x.double()), y.double(), "cross_entropy").backward()
    expected_grad = np.concatenate([(module_params[k].grad.T if t else module_params[k].grad).numpy().ravel()
                                    for k, t in order])
    grad = np.fromfile(tmp_path / "grad.bin", dtype=np.float64)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=1e-10)
    model.float()
    check_common(tmp_path, results, names, x, expected, "cross_entropy")


class NormAfterActivations(torch.nn.Module):
    """BatchNorm after an activation (not foldable): trained gamma and beta,
    on a convolution's channels and on flat features."""
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 3, 4)
        self.bn1 = torch.nn.BatchNorm1d(3)
        self.fc1 = torch.nn.Linear(3 * 9, 5)
        self.bn2 = torch.nn.BatchNorm1d(5)
        self.fc2 = torch.nn.Linear(5, 2)

    def forward(self, x):
        h = self.bn1(torch.relu(self.conv(x)))
        return self.fc2(self.bn2(torch.tanh(self.fc1(torch.flatten(h, 1)))))


def test_batchnorm_trained_after_activations(tmp_path):
    torch.manual_seed(9)
    model = NormAfterActivations()
    with torch.no_grad():
        for bn in (model.bn1, model.bn2):
            bn.running_mean.uniform_(-0.3, 0.3)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
    model.eval()
    x = torch.randn(40, 1, 12)
    y = (x[:, 0, :6].mean(1) > 0).float()
    path = export_as(model, x[:2], tmp_path / "norm", "legacy-unfolded")
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y)
    check_against_module(tmp_path, model, results, names, x, y, "cross_entropy")


class ChannelAffine(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.rand(channels) + 0.5)
        self.shift = torch.nn.Parameter(torch.rand(channels) - 0.5)

    def forward(self, h):
        return h * self.scale.view(1, -1, 1) + self.shift.view(1, -1, 1)


class Decoder(torch.nn.Module):
    """A decoder's pattern: Linear without bias, ReLU6, a flat vector viewed
    as a convolution's input (view(B, C, L)), Conv1d, per-channel scale and
    shift (x * scale.view(1, C, 1) + shift.view(1, C, 1)), torch.clamp,
    Hardtanh, LogSoftmax over the channels, Linear without bias. Parameters in the order the graph uses them."""
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(6, 12, bias=False)
        self.conv = torch.nn.Conv1d(3, 4, 3, padding=1)
        self.affine = ChannelAffine(4)
        self.out = torch.nn.Linear(16, 3, bias=False)

    def forward(self, x):
        h = F.relu6(self.fc(x) * 3.0).view(x.size(0), 3, 4)
        h = self.affine(self.conv(h))
        h = F.hardtanh(torch.clamp(h, -0.5, 0.8) * 2.0)
        return self.out(torch.log_softmax(h, dim=1).flatten(1))


# dynamo: Gemm without C, Clip with initializer bounds, Reshape with constant
# shapes, per-channel initializers folded to [1, C, 1]; legacy: MatMul without
# Add, Clip with Constant bounds, the shape computed from Shape/Gather/Concat;
# legacy without constant folding: Transpose of the weights, Cast of the
# bounds, Reshape of the per-channel parameters (named as the module's); TorchScript: aten::linear without bias, relu6/clamp/hardtanh, view of an
# activation and of parameters, mul/add.
@pytest.mark.parametrize("fmt", ["dynamo", "legacy", "legacy-unfolded", "script"])
def test_decoder_no_bias_clip_unflatten_per_channel(tmp_path, fmt):
    torch.manual_seed(11)
    model = Decoder().eval()
    x = torch.randn(40, 6)
    y = torch.randn(40, 3)
    path = export_as(model, x[:2], tmp_path / "decoder", fmt)
    if fmt != "script":
        ops = onnx_ops(path)
        if fmt == "legacy-unfolded":  # the weights transposed, the bounds cast, the scale reshaped in the graph
            assert "Transpose" in ops and "Cast" in ops and ops.count("Reshape") >= 3, ops
        assert "Clip" in ops and "Reshape" in ops and ("Gemm" if fmt == "dynamo" else "MatMul") in ops, ops
        assert "Add" not in ops[:ops.index("Clip")], ops  # the first Linear has no bias
        assert "Gemm" not in ops or fmt == "dynamo", ops
    results, names, _ = run_check(tmp_path, path, "mse", x, y)
    source = Path(results["source"]).read_text()
    for block in ("nn::no_bias", "nn::clip(", "nn::unflatten(", "nn::log_softmax_channels("):
        assert block in source, (block, source)
    for op in ("mul", "add"):  # the trained per-channel scale and shift, over 4 channels
        assert re.search(rf"nn::{op}\(p, a, m\.\w+, m\.\w+, m\.\w+, 4, n\);", source), (op, source)
    # The imported parameters, in the graph's order, are the module's (names
    # may be the exporter's: the per-channel ones are folded initializers).
    shapes = [int(np.prod(p.shape)) for p in model.parameters()]
    assert [count for _, count in names] == shapes, names
    with torch.no_grad():
        expected = model(x).numpy()
    grad = np.fromfile(tmp_path / "grad.bin", dtype=np.float64)
    np.testing.assert_allclose(grad, autograd_gradient(model, x, y, "mse", [(k, 0) for k, _ in model.named_parameters()]),
                               rtol=1e-6, atol=1e-10)
    check_common(tmp_path, results, names, x, expected, "mse")


class CeilPools(torch.nn.Module):
    """ceil_mode=True pooling, 2D and 1D, max and average: windows running
    past the input (clipped), AvgPool2d counting the padding of a clipped
    window (PyTorch divides by the window within the padded input), a last
    window that would start in the end padding (dropped, PyTorch's rule) and
    AvgPool1d not counting the padding."""
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 3, 3)
        self.mp2 = torch.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)          # 7x6 -> 4x4
        self.ap2 = torch.nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)          # 4x4 -> 3x3
        self.mp1 = torch.nn.MaxPool1d(2, stride=2, padding=1, ceil_mode=True)          # 9 -> 5
        self.ap1 = torch.nn.AvgPool1d(2, ceil_mode=True, count_include_pad=False)      # 5 -> 3
        self.fc = torch.nn.Linear(3 * 3, 3)

    def forward(self, x):
        h = self.ap2(self.mp2(torch.relu(self.conv(x))))
        h = self.ap1(self.mp1(h.view(x.size(0), 3, 9)))
        return self.fc(torch.flatten(h, 1))


@pytest.mark.parametrize("fmt", ["dynamo", "script"])
def test_ceil_mode_pools_1d_2d(tmp_path, fmt):
    torch.manual_seed(12)
    model = CeilPools().eval()
    x = torch.randn(36, 1, 9, 8)
    y = (x[:, 0, :4].mean((1, 2)) > 0).float() + (x[:, 0, :, :4].mean((1, 2)) > 0).float()
    path = export_as(model, x[:2], tmp_path / "ceil", fmt)
    if fmt == "dynamo":
        pools = [n for n in onnx.load(str(path)).graph.node if n.op_type in ("MaxPool", "AveragePool")]
        assert len(pools) == 4 and all(oh.get_node_attr_value(n, "ceil_mode") == 1 for n in pools), pools
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y)
    source = Path(results["source"]).read_text()
    assert source.count(", true}};") == 4, source  # each pooling declared with ceil_mode
    check_against_module(tmp_path, model, results, names, x, y, "cross_entropy")


class AxesNet(torch.nn.Module):
    """Transpose / permute of activations, Softmax and LogSoftmax over axes
    other than the features or the channels, broadcasting between two
    activations (a per-channel gate, a per-position shift, features times a
    per-sample scale)."""
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(6, 12)
        self.conv = torch.nn.Conv1d(3, 4, 3, padding=1)
        self.gate = torch.nn.Linear(6, 4)
        self.shift = torch.nn.Linear(6, 4)
        self.fq = torch.nn.Linear(6, 6)
        self.scale = torch.nn.Linear(6, 1)
        self.out = torch.nn.Linear(16, 3)
        self.out_z = torch.nn.Linear(6, 3)

    def forward(self, x):
        n = x.size(0)
        h = self.fc(x).view(n, 4, 3).transpose(1, 2)                   # [n, 3, 4]
        h = torch.softmax(torch.tanh(self.conv(h)), dim=2)              # over the positions
        h = h * torch.sigmoid(self.gate(x)).view(n, 4, 1)               # per-channel gate
        h = h - torch.tanh(self.shift(x)).view(n, 1, 4)                 # per-position shift
        h = torch.log_softmax(h.permute(0, 2, 1), dim=2)               # [n, 4, 4], over the last axis
        q = self.fq(x).view(n, 1, 2, 3)
        q = torch.log_softmax(torch.softmax(q, dim=3), dim=2)           # inner axes of a batch-major sample
        z = q.flatten(1) * self.scale(x)                                # [6] times [1]
        return self.out(h.flatten(1)) + self.out_z(z)


@pytest.mark.parametrize("fmt", ["dynamo", "script"])
def test_transpose_softmax_axes_broadcast_activations(tmp_path, fmt):
    torch.manual_seed(13)
    model = AxesNet().eval()
    x = torch.randn(40, 6)
    y = (x[:, 0] > 0).float() + (x[:, 1] > 0.3).float()
    path = export_as(model, x[:2], tmp_path / "axes", fmt)
    if fmt == "dynamo":
        ops = onnx_ops(path)
        assert "Transpose" in ops and "Softmax" in ops and "LogSoftmax" in ops, ops
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y)
    source = Path(results["source"]).read_text()
    for block in ("nn::permute(", "nn::softmax_axis(", "nn::log_softmax_axis(", "nn::broadcast_mul(", "nn::broadcast_sub("):
        assert block in source, (block, source)
    check_against_module(tmp_path, model, results, names, x, y, "cross_entropy", same_order=False)


def test_softmax_axes_before_opset_13(tmp_path):
    # Opset 11 (which libonnx 1.12 checks in full): Softmax flattens the
    # axes from `axis` on; the exporter writes softmax(dim=1) of [n, C, L] as
    # Transpose, Softmax over the last axis, Transpose.
    class Old(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(1, 3, 3)
            self.fc = torch.nn.Linear(3 * 6, 2)

        def forward(self, x):
            h = torch.log_softmax(torch.softmax(self.conv(x), dim=1), dim=-1)
            return self.fc(h.flatten(1))

    torch.manual_seed(15)
    model = Old().eval()
    x = torch.randn(40, 1, 8)
    y = torch.randn(40, 2)
    path = export_as(model, x[:2], tmp_path / "old", "legacy", opset=11)
    ops = onnx_ops(path)
    assert "Transpose" in ops and "Softmax" in ops and "LogSoftmax" in ops, ops
    results, names, _ = run_check(tmp_path, path, "mse", x, y)
    source = Path(results["source"]).read_text()
    assert "opset 11" in source and "nn::softmax_axis(" in source and "nn::permute(" in source, source
    check_against_module(tmp_path, model, results, names, x, y, "mse", same_order=False)


def test_cast_of_an_activation_to_float32_is_the_identity(tmp_path):
    path = tmp_path / "cast.onnx"
    w1, b1, w2, b2 = hand_built_model(path)
    m = onnx.load(str(path))
    relu = next(n for n in m.graph.node if n.op_type == "Relu")
    relu.output[0] = "r_raw"
    m.graph.node.insert(list(m.graph.node).index(relu) + 1,
                        oh.make_node("Cast", ["r_raw"], ["r"], name="cast", to=onnx.TensorProto.FLOAT))
    onnx.save(m, str(path))
    onnx.checker.check_model(onnx.load(str(path)))
    torch.manual_seed(14)
    x = torch.randn(40, 6)
    y = torch.stack([x[:, 0] - x[:, 1], x[:, 2] * 0.5], dim=1)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": x.numpy()})[0]
    results, names, _ = run_check(tmp_path, path, "mse", x, y)
    pred = np.fromfile(tmp_path / "pred.bin", dtype=np.float32).reshape(len(x), -1)
    np.testing.assert_allclose(pred, expected, rtol=1e-5, atol=1e-5)
    assert results["gradient_check_passed"] == "1", results
    after = np.fromfile(tmp_path / "pred_after.bin", dtype=np.float32).reshape(len(x), -1)
    check_cross_export(tmp_path, results, x, after)


def test_export_torchscript_refuses_what_it_cannot_write_naming_the_node(tmp_path):
    # An AveragePool padded on one side only, not counting the padding:
    # torchclad imports it (and exports it to ONNX), but PyTorch's pools pad
    # both sides alike, so export_torchscript refuses it in one line naming
    # the node and its op.
    rng = np.random.default_rng(5)
    graph = oh.make_graph(
        [oh.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], name="conv"),
         oh.make_node("AveragePool", ["c"], ["p"], name="pool", kernel_shape=[2], strides=[2], pads=[0, 1]),
         oh.make_node("Flatten", ["p"], ["f"], name="flatten"),
         oh.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["out"], name="fc", transB=1)],
        "onesided", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 1, 8])],
        [oh.make_tensor_value_info("out", onnx.TensorProto.FLOAT, ["batch", 2])],
        [onnx.numpy_helper.from_array(rng.normal(size=s).astype(np.float32) * 0.5, n) for n, s in
         [("conv.weight", (2, 1, 3)), ("conv.bias", (2,)), ("fc.weight", (2, 6)), ("fc.bias", (2,))]])
    m = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    m.ir_version = 8
    path = tmp_path / "onesided.onnx"
    onnx.save(m, str(path))
    torch.manual_seed(15)
    x = torch.randn(32, 1, 8)
    y = torch.stack([x[:, 0, :4].sum(1), x[:, 0, 4:].sum(1)], dim=1)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": x.numpy()})[0]
    results, _, _ = run_check(tmp_path, path, "mse", x, y)
    pred = np.fromfile(tmp_path / "pred.bin", dtype=np.float32).reshape(len(x), -1)
    np.testing.assert_allclose(pred, expected, rtol=1e-5, atol=1e-5)
    assert (tmp_path / "finetuned.onnx").exists()
    error = results["cross_export_error"]
    assert error.startswith("export_torchscript: node 'pool' (op AveragePool): pads [0, 1] with kernel [2] and "
                            "count_include_pad=0 cannot be written"), error
    assert "|" not in error, error  # one line
    assert not (tmp_path / "finetuned_cross.pt").exists()


def test_onnx_tool_writes_torch_exports_legacy_and_dynamo(tmp_path):
    # Both exporters' files parse (Gemm/Flatten from dynamo=False, the
    # dynamo exporter's Reshape or Flatten).
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 3))
    for fmt in ("legacy", "dynamo"):
        path = export_as(model, torch.randn(2, 2, 3), tmp_path / fmt, fmt)
        r = subprocess.run([str(TOOL), "read", str(path), str(tmp_path / f"out_{fmt}")], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / f"out_{fmt}" / "graph.json").stat().st_size > 0


def errors_of(tmp_path, cases):
    """Imports each (path, loss, input shape) in one ROOT session (one start
    for all the bad files of a test); returns each import's error line."""
    listing = tmp_path / "bad_files.tsv"
    listing.write_text("".join(f"{path}\t{loss}\t{shape}\n" for path, loss, shape in cases))
    code, out = troot(f'{MACROS}/import_onnx_error.C("", "", "", "{listing}")', timeout=300)
    assert code == 0 and "session alive" in out, out
    lines = [l for l in out.splitlines() if l.startswith(("import error: ", "imported without error"))]
    assert len(lines) == len(cases) and all(l.startswith("import error: ") for l in lines), out
    return lines


class BadFiles:
    """Bad files and the texts their errors must contain, checked together."""
    def __init__(self, tmp_path):
        self.tmp_path, self.cases = tmp_path, []

    def add(self, path, texts, loss="cross_entropy", shape=""):
        self.cases.append(((path, loss, shape), [texts] if isinstance(texts, str) else texts))

    def check(self):
        for (case, texts), msg in zip(self.cases, errors_of(self.tmp_path, [c for c, _ in self.cases])):
            for text in texts:
                assert text.format(path=case[0]) in msg, (case, text, msg)
            assert "\n" not in msg


def test_bad_files_give_clear_errors(tmp_path):
    bad = BadFiles(tmp_path)
    good = tmp_path / "good.onnx"
    hand_built_model(good)
    bad.add(tmp_path / "missing.onnx", ["no file", "missing.onnx"])

    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff this is not protobuf")
    bad.add(garbage, "not an ONNX model")

    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    bad.add(truncated, ["not an ONNX model", "{path}"])

    selu = tmp_path / "selu.onnx"
    hand_built_model(selu, with_selu=True)
    bad.add(selu, ["node 'selu' (op Selu) is not supported", "Gemm", "MaxPool", "Concat", "Elu", "Gelu",
                   "Softplus", "HardSwish", "GlobalAveragePool"], "mse")

    # Opsets outside torchclad's range (hand-edited), and none of the ONNX
    # domain: refused first, naming the file's opset and the range.
    for opset in (30, 23, 8):
        path = tmp_path / f"opset{opset}.onnx"
        hand_built_model(path, opset=opset)
        bad.add(path, [f"'{{path}}': opset {opset} is not supported (torchclad imports opsets 9 to 22"], "mse")
    no_opset = tmp_path / "no_default_opset.onnx"
    hand_built_model(no_opset)
    m = onnx.load(str(no_opset))
    m.opset_import[0].domain = "com.example"
    onnx.save(m, str(no_opset))
    bad.add(no_opset, "imports no opset of the default ONNX domain", "mse")

    dynamic = tmp_path / "dynamic.onnx"
    hand_built_model(dynamic, feature_dim="features")
    bad.add(dynamic, "'features', which is not a fixed size", "mse")
    bad.add(good, "bce_with_logits needs one logit", "bce_with_logits")

    # TorchScript: a file that is not one (an ONNX file named .pt), a zip
    # that is not TorchScript, a saved tensor (not a module), a truncated module.
    onnx_as_pt = tmp_path / "onnx_named.pt"
    onnx_as_pt.write_bytes(good.read_bytes())
    bad.add(onnx_as_pt, ["is not a TorchScript module torch::jit::load can read", "{path}"], "mse", "6")
    import zipfile
    other_zip = tmp_path / "other.pt"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("archive/data.txt", "not a module")
    bad.add(other_zip, ["is not a TorchScript module torch::jit::load can read", "{path}"], "mse", "6")
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.randn(3), str(tensor))
    bad.add(tensor, ["is not a TorchScript module torch::jit::load can read", "{path}"], "mse", "6")
    module = export_as(torch.nn.Sequential(torch.nn.Linear(6, 2)), None, tmp_path / "module", "script")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(module.read_bytes()[: module.stat().st_size // 2])
    bad.add(cut, ["is not a TorchScript module torch::jit::load can read", "{path}"], "mse", "6")
    bad.add(module, "a TorchScript file carries no shapes: give ImportOptions::input_shape", "mse")
    selu_pt = export_as(torch.nn.Sequential(torch.nn.Linear(6, 2), torch.nn.SELU()), None, tmp_path / "selu", "script")
    bad.add(selu_pt, ["(aten::selu): op aten::selu is not supported for TorchScript (supported: aten::linear", "cat",
                      "gelu", "adaptive_avg_pool1d/2d"], "mse", "6")
    bad.check()


def test_newer_opsets_checked_node_by_node(tmp_path):
    # torch writes opsets 18 to 20 (newer than libonnx 1.12's 17): each
    # imports; torchclad-onnx checks their structure and the nodes of the ops
    # it translates against libonnx's schemas, and refuses broken ones.
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), torch.nn.ReLU(), torch.nn.AvgPool1d(2),
                                torch.nn.Flatten(), torch.nn.Linear(2 * 4, 3))
    ops = ",".join(["Gemm", "Conv", "Relu", "AveragePool", "Flatten", "Reshape", "Cast", "Concat"])

    def read(path, opsets="9:22"):
        return subprocess.run([str(TOOL), "read", str(path), str(tmp_path / "out"), "--opsets", opsets, "--ops", ops],
                              capture_output=True, text=True)

    files = {}
    for opset in (18, 19, 20):
        path = export_as(model, torch.randn(2, 1, 10), tmp_path / f"opset{opset}", "legacy", opset=opset)
        assert onnx.load(str(path)).opset_import[0].version == opset
        r = read(path)
        assert r.returncode == 0, r.stderr
        files[opset] = path

    def broken(name, edit, opset=20):
        m = onnx.load(str(files[opset]))
        edit(m)
        path = tmp_path / f"{name}.onnx"
        onnx.save(m, str(path))
        r = read(path)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert f"torchclad-onnx: '{path}' fails ONNX's checker (structure, and nodes against opset 17 schemas" in r.stderr, r.stderr
        return r.stderr

    def node(m, op):
        return next(n for n in m.graph.node if n.op_type == op)

    def float_trans_b(m):
        g = node(m, "Gemm")
        keep = [a for a in g.attribute if a.name != "transB"]
        del g.attribute[:]
        g.attribute.extend(keep + [oh.make_attribute("transB", 0.5)])
    msg = broken("gemm_float_attribute", float_trans_b)
    assert "(op Gemm) against the schema of Gemm (version 13)" in msg and "transB" in msg, msg

    msg = broken("conv_unknown_attribute", lambda m: node(m, "Conv").attribute.append(oh.make_attribute("tilt", 2)))
    assert "(op Conv) against the schema of Conv (version 11)" in msg and "tilt" in msg, msg

    msg = broken("relu_two_inputs", lambda m: node(m, "Relu").input.append("x"))
    assert "(op Relu) against the schema of Relu (version 14)" in msg and "2" in msg, msg

    def int_weight(m):
        w = next(t for t in m.graph.initializer if t.dims and len(t.dims) == 3)
        w.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(w).astype(np.int64), w.name))
    msg = broken("conv_int64_weight", int_weight)
    assert "(op Conv): input 1" in msg and "is tensor(int64), which its input 'W' does not take" in msg, msg

    def string_dilations(m):  # AveragePool's dilations (opset 19) are checked by hand
        node(m, "AveragePool").attribute.append(oh.make_attribute("dilations", "2"))
    msg = broken("avgpool_string_dilations", string_dilations)
    assert "(op AveragePool): attribute dilations has type STRING, expected INTS" in msg, msg
    # ... and an AveragePool with dilations passes the check (the importer then refuses dilations != 1).
    m = onnx.load(str(files[19]))
    node(m, "AveragePool").attribute.append(oh.make_attribute("dilations", [1]))
    onnx.save(m, str(tmp_path / "avgpool_dilations.onnx"))
    assert read(tmp_path / "avgpool_dilations.onnx").returncode == 0

    r = read(files[20], opsets="9:19")
    assert r.returncode == 2 and "opset 20 is not supported (torchclad imports opsets 9 to 19" in r.stderr, r.stderr


def test_malformed_models_get_the_onnx_checkers_message(tmp_path):
    bad = BadFiles(tmp_path)
    # Within the opsets libonnx 1.12 knows (IR 8, opset 17): check_model in full.
    undefined = tmp_path / "undefined_input.onnx"
    hand_built_model(undefined)
    m = onnx.load(str(undefined))
    m.graph.node[1].input[0] = "nowhere"  # add reads a tensor nothing defines
    onnx.save(m, str(undefined))
    bad.add(undefined, ["'{path}' fails ONNX's checker (onnx::checker::check_model)", "input 'nowhere' of node",
                        "topologically sorted"], "mse")

    wrong_type = tmp_path / "wrong_attribute.onnx"  # Gemm's transB as a float: the schema check
    hand_built_model(wrong_type)
    m = onnx.load(str(wrong_type))
    gemm = next(n for n in m.graph.node if n.op_type == "Gemm")
    del gemm.attribute[:]
    gemm.attribute.append(oh.make_attribute("transB", 0.5))
    onnx.save(m, str(wrong_type))
    bad.add(wrong_type, ["'{path}' fails ONNX's checker (onnx::checker::check_model)", "transB", "gemm"], "mse")

    short_tensor = tmp_path / "short_tensor.onnx"  # an initializer with fewer values than its shape
    hand_built_model(short_tensor)
    m = onnx.load(str(short_tensor))
    init = next(t for t in m.graph.initializer if t.name == "fc1.bias")
    init.raw_data = init.raw_data[:8]
    onnx.save(m, str(short_tensor))
    # libonnx 1.12's checker passes it; torchclad-onnx's reader does not
    bad.add(short_tensor, "'{path}': tensor 'fc1.bias': 8 bytes of raw data for 5 float32 values", "mse")

    # A file torch writes (IR 10, opset 20, newer than libonnx 1.12): the
    # structural checks, with external data resolved beside the model.
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    newer = export_as(model, torch.randn(2, 4), tmp_path / "newer", "legacy")
    m = onnx.load(str(newer))
    assert m.ir_version > 8 and m.opset_import[0].version > 17, (m.ir_version, m.opset_import)
    relu = next(n for n in m.graph.node if n.op_type == "Relu")
    relu.input[0] = "undefined_tensor"
    onnx.save(m, str(newer))
    bad.add(newer, [f"'{{path}}' fails ONNX's checker (structure, and nodes against opset 17 schemas: IR version {m.ir_version}, opset",
                    f"node '{relu.name}' (op Relu) reads 'undefined_tensor', which is not a graph input"], "mse")

    # The same file with a node broken against its op's schema: the node-level check.
    newer_attr = export_as(model, torch.randn(2, 4), tmp_path / "newer_attribute", "legacy")
    m = onnx.load(str(newer_attr))
    next(n for n in m.graph.node if n.op_type == "Relu").attribute.append(oh.make_attribute("alpha", 0.1))
    onnx.save(m, str(newer_attr))
    bad.add(newer_attr, ["(op Relu) against the schema of Relu (version 14)", "alpha"], "mse")

    (tmp_path / "external").mkdir()  # weights in an external data file, which is removed
    missing_data = export_as(model, torch.randn(2, 4), tmp_path / "external" / "m", "dynamo")
    onnx.save(onnx.load(str(missing_data)), str(missing_data), save_as_external_data=True,
              all_tensors_to_one_file=True, location="m.onnx.weights", size_threshold=0)
    (missing_data.parent / "m.onnx.weights").unlink()
    bad.add(missing_data, ["'{path}' fails ONNX's checker", "doesn't exist"], "mse")
    bad.check()


class Branching(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        h = self.fc(x)
        if bool(h.sum() > 0):
            h = torch.relu(h)
        return h


def test_unsupported_attributes_and_control_flow_name_the_node(tmp_path):
    bad = BadFiles(tmp_path)

    def conv_then(pool, features):
        return torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), pool, torch.nn.Flatten(), torch.nn.Linear(features, 2))

    x = torch.randn(2, 1, 10)
    # ONNX allows pads >= kernel (windows of padding only); PyTorch does not
    wide_pad = export_as(conv_then(torch.nn.MaxPool1d(2, ceil_mode=True), 2 * 4), x, tmp_path / "wide_pad", "legacy")
    m = onnx.load(str(wide_pad))
    pool = next(n for n in m.graph.node if n.op_type == "MaxPool")
    for a in pool.attribute:
        if a.name == "pads":
            a.ints[:] = [2, 2]
    onnx.save(m, str(wide_pad))
    bad.add(wide_pad, "(op MaxPool): pads 2, 2 are not smaller than the kernel 2")

    dilated = export_as(conv_then(torch.nn.MaxPool1d(2, dilation=2), 2 * 3), x, tmp_path / "dilated", "legacy")
    bad.add(dilated, ["(op MaxPool): dilations [2] are not supported", "dilations 1"])

    class Regroup(torch.nn.Module):  # a conv output [4, 6] viewed as [2, 12]
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv1d(1, 4, 5)
            self.b = torch.nn.Conv1d(2, 1, 3)

        def forward(self, x):
            return self.b(self.a(x).view(x.size(0), 2, 12)).flatten(1)

    regroup = export_as(Regroup(), x, tmp_path / "regroup", "legacy")
    bad.add(regroup, "(op Reshape): a reshape of a convolution's output [4, 6] to [2, 12] changes its channels", "mse")

    class Refused(torch.nn.Module):
        def __init__(self, kind):
            super().__init__()
            self.kind = kind
            self.fc = torch.nn.Linear(10, 6)
            self.f3 = torch.nn.Linear(10, 3)
            self.conv = torch.nn.Conv1d(1, 3, 8)

        def forward(self, x):
            h = self.fc(x.flatten(1))
            if self.kind == "softmax_batch":
                return torch.softmax(h, dim=0)
            if self.kind == "transpose_batch":
                return h.view(x.size(0), 2, 3).transpose(0, 1).reshape(x.size(0), 6)
            if self.kind == "ranks":  # [n, 3, 3] + [n, 3]: numpy's rule aligns the batch with the channels
                return (self.conv(x) + self.f3(x.flatten(1))).flatten(1)
            if self.kind == "unsqueeze_channels":  # [n, 1, 3, 3]: the channels no longer first
                return self.conv(x).unsqueeze(1).flatten(1)
            if self.kind == "concat_length":  # along a convolution's positions
                return torch.cat([self.conv(x), self.conv(x)], dim=2).flatten(1)
            return h.double()
    expected = {
        "softmax_batch": "(op Softmax): axis 0 of per-sample shape [6]: a softmax over the batch mixes the samples; "
                         "supported are the axes 1 to 1",
        "transpose_batch": "(op Transpose): a Transpose of an activation of per-sample shape [2, 3] with perm [1, 0, 2]: "
                           "it moves the batch axis",
        "ranks": "inputs of per-sample shapes [3, 3] and [3]: their ranks differ; supported between two activations",
        "cast": "(op Cast): a Cast of an activation to ONNX type 11 is not supported",
        "concat_length": "(op Concat): axis 2 of per-sample shape [3, 3]: only axis 1",
        "unsqueeze_channels": "(op Unsqueeze): Unsqueeze of an activation of per-sample shape [3, 3] on axes [1]: an "
                              "axis moves the batch or the channels",
    }
    for kind, text in expected.items():
        # batch 3: "ranks" broadcasts in PyTorch
        path = export_as(Refused(kind), torch.randn(3, 1, 10), tmp_path / f"refused_{kind}", "legacy")
        bad.add(path, text, "mse")

    # Adaptive average pooling whose output size does not divide the input,
    # 1D and 2D: the dynamo exporter writes PyTorch's decomposition (a
    # GatherND of the windows, ...), which is recognised and refused, naming
    # the node, the sizes and what imports instead (TorchScript).
    for name, pool, example, sizes in [
            ("uneven_1d", torch.nn.AdaptiveAvgPool1d(3), x, "input length 8 to output size 3"),
            ("uneven_2d", torch.nn.AdaptiveAvgPool2d((3, 4)), torch.randn(2, 1, 10, 8), "input size [8, 6] to output size [3, 4]")]:
        conv = torch.nn.Conv1d(1, 2, 3) if example.dim() == 3 else torch.nn.Conv2d(1, 2, 3)
        path = export_as(torch.nn.Sequential(conv, pool, torch.nn.Flatten()), example, tmp_path / name, "dynamo")
        gather = next(n for n in onnx.load(str(path)).graph.node if n.op_type == "GatherND")
        bad.add(path, [f"node '{gather.name}' (op GatherND): this GatherND is the dynamo exporter's form of an "
                       f"adaptive pooling of {sizes}", "the pooling's output size does not divide its input",
                       "Import the module as TorchScript", "an output size that divides its input"], "mse")
    # An input check that raises for the declared shape: refused with its message.
    checked = export_as(Checked2d(), None, tmp_path / "checked", "script")
    bad.add(checked, ["the module raises for the declared input shape [batch, 1, 10] (ImportOptions::input_shape): "
                      "ValueError: expected a batch of feature vectors"], "mse", "1,10")

    scripted = export_as(Branching(), None, tmp_path / "branching", "script")
    bad.add(scripted, ["(prim::If): control flow (prim::If) is not supported", "torch.jit.trace"], "mse", "4")
    cat_length = export_as(Refused("concat_length"), torch.randn(2, 1, 10), tmp_path / "cat_length", "trace")
    bad.add(cat_length, "(op Concat): axis 2 of per-sample shape [3, 3]: only axis 1", "mse", "1,10")
    bad.check()


class Checked2d(torch.nn.Module):
    """A scripted module's input check on the input's shape."""
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(10, 3)

    def forward(self, x):
        if x.dim() != 2:
            raise ValueError("expected a batch of feature vectors")
        return self.fc(x)


class Smooth(torch.nn.Module):
    """The smooth activations of pretrained models: ELU, GELU (exact and tanh),
    SiLU, Softplus with beta, Hardsigmoid, Hardswish (on values past +-3);
    and a scripted input check that passes for the declared shape."""
    def __init__(self):
        super().__init__()
        self.fc0, self.fc1, self.fc2, self.fc3 = [torch.nn.Linear(6 if k == 0 else 10, 10) for k in range(4)]
        self.fc4, self.fc5, self.fc6 = [torch.nn.Linear(10, 10) for _ in range(3)]
        self.elu, self.gelu, self.gelu_tanh = torch.nn.ELU(0.7), torch.nn.GELU(), torch.nn.GELU("tanh")
        self.silu, self.softplus = torch.nn.SiLU(), torch.nn.Softplus(2.0)
        self.hsig, self.hswish = torch.nn.Hardsigmoid(), torch.nn.Hardswish()
        self.out = torch.nn.Linear(10, 3)

    def forward(self, x):
        if x.dim() != 2:
            raise ValueError("expected a batch of feature vectors")
        h = self.gelu(self.fc1(self.elu(self.fc0(x) * 2.0)) * 2.0)
        h = self.silu(self.fc3(self.gelu_tanh(self.fc2(h) * 2.0)) * 2.0)
        h = self.hsig(self.fc5(self.softplus(self.fc4(h) * 2.0)) * 2.0)
        return self.out(self.hswish(self.fc6(h) * 2.0))


# dynamo (opset 20): Gelu with approximate, Elu, Softplus with the exporter's
# Mul/Div (beta) and Greater/Where (threshold), HardSigmoid, HardSwish,
# Sigmoid * x; legacy at opset 17: GELU as the Erf and Tanh formulas;
# TorchScript: aten::elu, gelu, silu, softplus, hardsigmoid, hardswish.
@pytest.mark.parametrize("fmt,opset", [("dynamo", None), ("legacy", 17), ("script", None)])
def test_smooth_activations_gelu_silu_elu_softplus_hard(tmp_path, fmt, opset):
    torch.manual_seed(17)
    model = Smooth().eval()
    x = torch.randn(40, 6)
    y = (x[:, 0] > 0).float() + (x[:, 1] > 0.3).float()
    path = export_as(model, x[:2], tmp_path / "smooth", fmt, opset=opset)
    if fmt == "legacy":
        ops = onnx_ops(path)
        assert "Erf" in ops and "Tanh" in ops and "Gelu" not in ops, ops
    elif fmt == "dynamo":
        ops = onnx_ops(path)
        assert ops.count("Gelu") == 2 and "Where" in ops, ops
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y)
    source = Path(results["source"]).read_text()
    for block in ("nn::elu(", "nn::gelu(", "nn::gelu_tanh(", "nn::silu(", "nn::softplus(", "nn::hard_sigmoid(",
                  "nn::hard_swish("):
        assert source.count(block) == 1, (block, source)
    assert "nn::sigmoid(" not in source and "nn::tanh(" not in source, source  # fused, not op by op
    if fmt == "script":  # the input check, evaluated for shape [batch, 6] and noted (the file's code of its line)
        assert re.search(r"//   if torch\.ne\(torch\.dim\(x\), 2\): raise ValueError: expected a batch of feature vectors\n",
                         source), source
    check_against_module(tmp_path, model, results, names, x, y, "cross_entropy")


class Adaptive2d(torch.nn.Module):
    """AdaptiveAvgPool2d to a size that divides the input (an AveragePool of
    computed kernel), AdaptiveMaxPool2d(1) (a global max)."""
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(2, 4, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d((4, 3))
        self.conv2 = torch.nn.Conv2d(4, 5, 3, padding=1)
        self.gpool = torch.nn.AdaptiveMaxPool2d(1)
        self.fc = torch.nn.Linear(5, 3)

    def forward(self, x):
        h = self.pool(torch.relu(self.conv1(x)))
        return self.fc(torch.flatten(self.gpool(torch.tanh(self.conv2(h))), 1))


class Adaptive1d(torch.nn.Module):
    """AdaptiveMaxPool1d to a size that divides, AdaptiveAvgPool1d(1)."""
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 3, 3)
        self.pool = torch.nn.AdaptiveMaxPool1d(4)
        self.conv2 = torch.nn.Conv1d(3, 4, 2)
        self.gpool = torch.nn.AdaptiveAvgPool1d(1)
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        h = self.pool(torch.relu(self.conv(x)))
        return self.fc(torch.flatten(self.gpool(torch.tanh(self.conv2(h))), 1))


# 2D from the dynamo exporter (AveragePool of computed kernel, ReduceMax over
# the positions) and TorchScript (aten::adaptive_avg_pool2d,
# adaptive_max_pool2d); 1D from the legacy exporter (MaxPool of computed
# kernel, GlobalAveragePool), the dynamo exporter (Unsqueeze to 2D, MaxPool,
# ReduceMean, Squeeze) and TorchScript.
@pytest.mark.parametrize("dims,fmt", [(2, "dynamo"), (2, "script"), (1, "legacy"), (1, "dynamo"), (1, "script")])
def test_adaptive_pools(tmp_path, dims, fmt):
    torch.manual_seed(18)
    model = (Adaptive2d() if dims == 2 else Adaptive1d()).eval()
    x = torch.randn(36, 2, 8, 6) if dims == 2 else torch.randn(36, 1, 14)
    y = (x.flatten(1)[:, :10].mean(1) > 0).float() + (x.flatten(1)[:, 10:20].mean(1) > 0).float()
    path = export_as(model, x[:2], tmp_path / "adaptive", fmt)
    if fmt != "script":
        ops = onnx_ops(path)
        expected_ops = {(2, "dynamo"): ["ReduceMax"], (1, "legacy"): ["GlobalAveragePool"],
                        (1, "dynamo"): ["Unsqueeze", "ReduceMean", "Squeeze"]}[(dims, fmt)]
        assert set(expected_ops) <= set(ops), ops
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y)
    source = Path(results["source"]).read_text()
    pooled = 2 if fmt == "dynamo" else dims  # the dynamo exporter pools 1D as 2D of height 1
    assert f"nn::avg_pool{pooled}d(" in source and f"nn::max_pool{pooled}d(" in source, source
    assert "nn::adaptive_" not in source, source  # dividing sizes: plain poolings
    check_against_module(tmp_path, model, results, names, x, y, "cross_entropy")


class UnevenAdaptive(torch.nn.Module):
    """Adaptive pooling to output sizes that do not divide the input (PyTorch's
    windows differ in size and overlap), to the input's own size, and to more
    values than the input has. 1D: average 12 -> 7, max 7 -> 5, average 5 -> 5
    (a pooling of kernel 1), max 5 -> 3, average 3 -> 4; 2D: average 9x7 -> 5x4, max 5x4 -> 3x4 (the
    width kept, the height not a divisor)."""
    def __init__(self, dims):
        super().__init__()
        self.dims = dims
        if dims == 1:
            self.conv = torch.nn.Conv1d(2, 3, 3)
            self.pools = torch.nn.Sequential(torch.nn.AdaptiveAvgPool1d(7), torch.nn.AdaptiveMaxPool1d(5),
                                             torch.nn.AdaptiveAvgPool1d(5), torch.nn.AdaptiveMaxPool1d(3),
                                             torch.nn.AdaptiveAvgPool1d(4))
            self.fc = torch.nn.Linear(3 * 4, 3)
        else:
            self.conv = torch.nn.Conv2d(2, 3, 3)
            self.pools = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d((5, 4)), torch.nn.AdaptiveMaxPool2d((3, 4)))
            self.fc = torch.nn.Linear(3 * 3 * 4, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.pools(torch.tanh(self.conv(x))), 1))


# TorchScript's aten::adaptive_*_pool*d to sizes that do not divide: the
# nn::AdaptivePool1d / AdaptivePool2d blocks (the exporters refuse them, or
# write a GatherND pattern test_unsupported_attributes... refuses).
@pytest.mark.parametrize("dims,fmt", [(1, "script"), (2, "trace")])
def test_adaptive_pools_to_sizes_that_do_not_divide(tmp_path, dims, fmt):
    torch.manual_seed(19)
    model = UnevenAdaptive(dims).eval()
    x = torch.randn(36, 2, 14) if dims == 1 else torch.randn(36, 2, 11, 9)
    y = (x.flatten(1)[:, :10].mean(1) > 0).float() + (x.flatten(1)[:, 10:20].mean(1) > 0).float()
    path = export_as(model, x[:2], tmp_path / "uneven", fmt)
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y)
    source = Path(results["source"]).read_text()
    # 5 -> 5 divides: a pooling of kernel 1.
    blocks = {"nn::AdaptiveAvgPool1d ": 2, "nn::AdaptiveMaxPool1d ": 2, "nn::AvgPool1d ": 1} if dims == 1 else \
        {"nn::AdaptiveAvgPool2d ": 1, "nn::AdaptiveMaxPool2d ": 1, "nn::AvgPool2d ": 0, "nn::MaxPool2d ": 0}
    for block, count in blocks.items():
        assert source.count(block) == count, (block, source)
    # Each adaptive block's comment gives the sizes and its windows' sizes.
    for text in (["12 -> 7, windows of 2-3 (PyTorch's", "3 -> 4, windows of 1-2 ("] if dims == 1 else
                 ["[9, 7] -> [5, 4], windows of 2-3 x 2-3 (", "[5, 4] -> [3, 4], windows of 2-3 x 1 ("]):
        assert text in source, (text, source)
    # ONNX has no adaptive pooling: export_onnx writes each window as a Slice and a reduction.
    check_against_module(tmp_path, model, results, names, x, y, "cross_entropy")
    assert "Slice" in onnx_ops(tmp_path / "finetuned_cross.onnx")


class ReluPoolCnn(torch.nn.Module):
    """Conv-ReLU-MaxPool blocks: the first with overlapping padded windows,
    the second's ReLU read by two MaxPools (an Add of them), which keeps its
    order; import_fusion.cpp computes the first as MaxPool then ReLU."""
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(1, 3, 3, padding=1)
        self.pool1 = torch.nn.MaxPool1d(3, stride=2, padding=1)
        self.conv2 = torch.nn.Conv1d(3, 4, 3)
        self.pool2a = torch.nn.MaxPool1d(2)
        self.pool2b = torch.nn.MaxPool1d(3, stride=2, padding=1)  # not pool2a: exporters merge equal nodes
        self.fc = torch.nn.Linear(4 * 4, 3)

    def forward(self, x):
        h = self.pool1(torch.relu(self.conv1(x)))  # 19 -> 10
        r = torch.relu(self.conv2(h))  # 10 -> 8
        return self.fc(torch.flatten(self.pool2a(r) + self.pool2b(r), 1))


def nn_calls(source):
    """The nn:: blocks the generated loss calls, in order."""
    body = source[source.index("static T loss("):]
    return re.findall(r"nn::(\w+)\(", body)


def imported_call_order(tmp_path, model, length, fmt, blocks):
    """Imports `model` (1 input channel of `length`, 3 classes) exported as
    `fmt`, checks its training against PyTorch's, and returns the nn:: blocks
    of `blocks` its generated loss calls, in order."""
    x = torch.randn(30, 1, length)
    y = torch.randint(0, 3, (30,)).float()
    path = export_as(model, x[:2], tmp_path / "model", fmt)
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y)
    check_against_module(tmp_path, model, results, names, x, y, "cross_entropy")
    return [c for c in nn_calls(Path(results["source"]).read_text()) if c in blocks]


@pytest.mark.parametrize("fmt", ["legacy", "dynamo", "script"])
def test_relu_then_maxpool_imports_as_maxpool_then_relu(tmp_path, fmt):
    torch.manual_seed(8)
    calls = imported_call_order(tmp_path, ReluPoolCnn().eval(), 19, fmt, ("conv1d", "max_pool1d", "relu"))
    assert calls == ["conv1d", "max_pool1d", "relu", "conv1d", "relu", "max_pool1d", "max_pool1d"], calls


class ReluThenOtherOps(torch.nn.Module):
    """ReLUs each read by one op of one input that is not a MaxPool (an
    AvgPool, a Sigmoid): neither commutes with ReLU, so each keeps its order."""
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(1, 3, 3, padding=1)
        self.pool1 = torch.nn.AvgPool1d(2)
        self.conv2 = torch.nn.Conv1d(3, 2, 3)
        self.fc = torch.nn.Linear(2 * 8, 3)

    def forward(self, x):
        h = self.pool1(torch.relu(self.conv1(x)))  # 20 -> 10
        h = torch.sigmoid(torch.relu(self.conv2(h)))  # 10 -> 8
        return self.fc(torch.flatten(torch.relu(h), 1))


@pytest.mark.parametrize("fmt", ["legacy", "dynamo", "script"])
def test_relu_then_other_one_input_ops_keep_their_order(tmp_path, fmt):
    torch.manual_seed(10)
    calls = imported_call_order(tmp_path, ReluThenOtherOps().eval(), 20, fmt,
                                ("relu", "avg_pool1d", "max_pool1d", "sigmoid"))
    assert calls == ["relu", "avg_pool1d", "relu", "sigmoid", "relu"], calls


def window_maxima(out, dims, kernel, stride, padding):
    """Each pooling window's values (padding as -inf, full windows only), the
    window axis last."""
    padded = F.pad(out, [padding] * (2 * dims), value=float("-inf"))
    for axis in range(dims):
        padded = padded.unfold(2 + axis, kernel, stride)
    return padded.flatten(-dims)


@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize("pool_args", [(2, 2, 0, False), (4, 4, 0, False), (3, 2, 1, True)])
def test_relu_maxpool_swap_keeps_pytorchs_gradient_at_ties_and_zeros(tmp_path, dims, pool_args):
    """Weights of -1, 0, 1 and inputs in halves: windows with equal positive
    maxima, with exact zeros and all negative, where the gradient depends on
    which element the pool picks and on ReLU's derivative at 0; pools of 2, of
    4 (the GW CNN's, a kernel of its own) and overlapping padded windows with
    ceil_mode. Clad's gradient of the swapped blocks must be PyTorch's (no
    finite differences there: the loss has kinks at such points)."""
    torch.manual_seed(9)
    kernel, stride, padding, ceil = pool_args
    conv, pool = (torch.nn.Conv1d, torch.nn.MaxPool1d) if dims == 1 else (torch.nn.Conv2d, torch.nn.MaxPool2d)
    shape = (1, 16) if dims == 1 else (1, 8, 8)
    x = torch.round(torch.randn(24, *shape) * 2) / 2
    body = [conv(1, 4, 3, padding=1), torch.nn.ReLU(), pool(kernel, stride, padding, ceil_mode=ceil),
            torch.nn.Flatten()]
    features = torch.nn.Sequential(*body)(x[:1]).shape[1]
    model = torch.nn.Sequential(*body, torch.nn.Linear(features, 2)).eval()
    with torch.no_grad():
        model[0].weight.copy_(torch.randint(-1, 2, model[0].weight.shape).float())
        model[0].bias.zero_()
    y = torch.randint(0, 2, (24,)).float()
    path = export_as(model, x[:2], tmp_path / f"ties{dims}", "legacy")
    results, names, _ = run_check(tmp_path, path, "cross_entropy", x, y, epochs=1)
    calls = nn_calls(Path(results["source"]).read_text())
    pool_call, relu_call = f"max_pool{dims}d", "relu"
    assert pool_call in calls and calls.index(pool_call) < calls.index(relu_call), calls
    with torch.no_grad():
        windows = window_maxima(model[1](model[0](x)), dims, kernel, stride, padding)
        top = windows.max(-1).values
        ties = (windows == top.unsqueeze(-1)).sum(-1) > 1
        assert (ties & (top > 0)).any(), "no window with tied positive maxima"
        assert (model[0](x) == 0).any(), "no exact zeros"
        # Windows whose maximum is 0 (4 x 4 windows of this input never are).
        assert (top == 0).any() or kernel ** dims >= 16, "no window whose maximum is 0"
    grad = split_params(np.fromfile(tmp_path / "grad.bin", dtype=np.float64), names)
    model.double()
    reference_loss(model(x.double()), y.double(), "cross_entropy").backward()
    for k, p in model.named_parameters():
        np.testing.assert_allclose(grad[k], p.grad.numpy().ravel(), rtol=1e-6, atol=1e-10, err_msg=k)
