"""Outputs follow the code, as in ipykernel: what a cell printed (stdout,
stderr, C stdio buffers and std::cout) before it shows something (an image,
a training display) arrives before that display, and what it printed after,
after it. And a fit in the kernel draws no stderr progress bar unless asked:
the live training display shows the run."""

import re

import pytest

from host_client import stderr_of
from test_engine import write_idx_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_idx_dataset(tmp_path_factory.mktemp("idx"))


def sequence(events):
    """The cell's output in arrival order: stream text as it is, other events as <kind>."""
    out = []
    for e in events:
        if e["type"] == "stream":
            out.append(e["text"])
        elif e["type"] == "telemetry":
            out.append(f"<telemetry {e['event']['kind']}>")
        elif e["type"] == "display":
            out.append("<display>")
    return "".join(out)


def test_printing_showing_printing_arrive_in_code_order(host, tmp_path):
    (tmp_path / "plot.png").write_bytes(b"\x89PNG not really")
    reply, events = host.execute(
        '#include "torchclad/torchclad.h"\n#include <iostream>\n'
        'printf("printf before\\n");\n'
        'printf("printf without newline before, ");\n'
        'std::cout << "cout before" << "\\n";\n'
        'fprintf(stderr, "stderr before\\n");\n'
        f'torchclad::show("{tmp_path}/plot.png");\n'
        'printf("printf after\\n");\n'
        'std::cerr << "stderr after\\n";')
    assert reply["status"] == "ok", (reply, events)
    seq = sequence(events)
    assert seq.count("<display>") == 1, seq
    shown = seq.index("<display>")
    for before in ("printf before\n", "printf without newline before, ", "cout before\n", "stderr before\n"):
        assert -1 < seq.find(before) < shown, seq
    for after in ("printf after\n", "stderr after\n"):
        assert seq.find(after) > shown, seq


def fit_cell(dataset, name, progress):
    setting = "" if progress is None else f"{name}_options.progress = {str(progress).lower()};\n"
    return ('#include "torchclad/torchclad.h"\n'
            f'auto {name}_train = torchclad::Dataset::from_idx("{dataset}", "train");\n'
            f'auto {name}_test = torchclad::Dataset::from_idx("{dataset}", "test");\n'
            f"torchclad::Mlp {name}_mlp({{36, 16, 3}});\n"
            f"torchclad::TrainOptions {name}_options; {name}_options.epochs = 2; {name}_options.batch = 32;\n"
            + setting +
            f'printf("before fit\\n");\n'
            f"{name}_mlp.fit({name}_train, {name}_test, {name}_options);\n"
            f'printf("after fit\\n");')


def test_a_fit_in_the_kernel_prints_no_progress_bar_by_default(host, dataset):
    reply, events = host.execute(fit_cell(dataset, "quiet", None), timeout=60)
    assert reply["status"] == "ok", (reply, stderr_of(events))
    assert "epoch" not in stderr_of(events)
    seq = sequence(events)
    assert seq.index("before fit\n") < seq.index("<telemetry start>") < seq.index("<telemetry end>") < \
        seq.index("after fit\n"), seq


def test_a_fit_with_progress_prints_each_epoch_line_before_its_epoch_event(host, dataset):
    reply, events = host.execute(fit_cell(dataset, "loud", True), timeout=60)
    assert reply["status"] == "ok", (reply, stderr_of(events))
    seq = sequence(events)
    assert seq.index("before fit\n") < seq.index("<telemetry start>"), seq
    # the bar's line of epoch k is printed before the epoch's event is sent
    epoch_events = [m.start() for m in re.finditer("<telemetry epoch>", seq)]
    lines = [m.start() for m in re.finditer(r"epoch \d/2 \[", seq)]
    assert len(epoch_events) == 2 and len(lines) == 2, seq
    assert lines[0] < epoch_events[0] < lines[1] < epoch_events[1] < seq.index("after fit\n"), seq
    # the finished line says each thing once: no step rate, one loss per kind, samples/s
    # (marked rough, "~", with the training time it spans when that is under 0.25 s)
    finished = re.compile(r"^epoch [12]/2 \[=+\] (\d+)/\1  train loss \d+\.\d{4}  test loss \d+\.\d{4}  "
                          r"test accuracy \d+\.\d\d%.*  ~?\d{1,3}(,\d{3})* samples/s( \(over [0-9.]+ ms\))?$")
    epoch_lines = [line for line in stderr_of(events).splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and all(finished.match(line) for line in epoch_lines), epoch_lines
    assert all(line.count("loss") == 2 and "steps/s" not in line for line in epoch_lines), epoch_lines
