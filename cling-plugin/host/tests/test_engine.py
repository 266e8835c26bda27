"""%%clad cells, the engine from cells, training telemetry."""

import gzip
import math
import random
import struct
import time

import pytest

from host_client import stderr_of, stdout_of


def write_idx_dataset(folder, train=600, test=200, side=6, classes=3, seed=1):
    """A small MNIST-format dataset: class c lights up row c of the image."""
    rng = random.Random(seed)

    def split(count, images_name, labels_name):
        labels = [rng.randrange(classes) for _ in range(count)]
        pixels = bytearray()
        for label in labels:
            for r in range(side):
                for _ in range(side):
                    base = 200 if r == label else 20
                    pixels.append(max(0, min(255, base + rng.randint(-20, 20))))
        with open(folder / images_name, "wb") as f:
            f.write(struct.pack(">IIII", 0x803, count, side, side) + bytes(pixels))
        with gzip.open(folder / (labels_name + ".gz"), "wb") as f:
            f.write(struct.pack(">II", 0x801, count) + bytes(labels))

    split(train, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    split(test, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return folder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_idx_dataset(tmp_path_factory.mktemp("idx"))


CLAD_CELL = """%%clad
#include "clad/Differentiator/Differentiator.h"
// f(x, y) = K x^2 y + sin(y); df/dx = 2 K x y, df/dy = K x^2 + cos(y)
#include <cmath>
double f(double x, double y) { return K * x * x * y + std::sin(y); }
void grad_f(double x, double y, double* dx, double* dy) {
  *dx = 0; *dy = 0;
  auto g = clad::gradient(f);
  g.execute(x, y, dx, dy);
}
"""


def clad_cell(k):
    return CLAD_CELL.replace("K *", f"{k}.0 *")


def check_gradient(host, k):
    out = host.ok('{ double dx, dy; grad_f(1.5, 2.0, &dx, &dy);\n'
                  '  printf("%.17g %.17g %.17g\\n", f(1.5, 2.0), dx, dy); }')
    value, dx, dy = map(float, out.split())
    assert value == pytest.approx(k * 1.5 ** 2 * 2.0 + math.sin(2.0), rel=1e-12)
    assert dx == pytest.approx(2 * k * 1.5 * 2.0, rel=1e-12)
    assert dy == pytest.approx(k * 1.5 ** 2 + math.cos(2.0), rel=1e-12)


# The issue's %%clad cell: clad::gradient with no #include of Clad's header,
# which the host puts before the cell (cell_models.hpp, kCladCellPrelude).
CLAD_CELL_WITHOUT_INCLUDE = """%%clad
double g_no_include(double x, double y) { return x * x * y; }
void grad_g_no_include(double x, double y, double* dx, double* dy) {
  *dx = 0; *dy = 0;
  auto g = clad::gradient(g_no_include);
  g.execute(x, y, dx, dy);
}
"""


def test_a_clad_cell_needs_no_include_of_clads_header(fresh_host):
    host = fresh_host()  # nothing included yet
    reply, events = host.execute(CLAD_CELL_WITHOUT_INCLUDE, timeout=120, cell_id="no-include")
    assert reply["status"] == "ok", (reply, stderr_of(events))
    out = host.ok('{ double dx, dy; grad_g_no_include(1.5, 2.0, &dx, &dy); printf("%.17g %.17g\\n", dx, dy); }')
    dx, dy = map(float, out.split())
    assert dx == pytest.approx(2 * 1.5 * 2.0, rel=1e-12)
    assert dy == pytest.approx(1.5 ** 2, rel=1e-12)


def test_interrupting_a_clad_cell_kills_its_compiler(host):
    rid = host.new_id()
    host.send({"type": "execute", "id": rid, "code": clad_cell(1), "cell_id": "grad-cell"})
    time.sleep(1.0)
    host.send({"type": "interrupt", "id": "stop-compile"})
    reply = host.wait_for(lambda e: e.get("type") == "execute_reply" and e["id"] == rid, 30)[-1]
    assert reply["status"] == "aborted" and reply["interrupt"] == "killed-compiler"


def test_clad_cell_then_a_plain_cell_calls_it(host):
    reply, events = host.execute(clad_cell(1), timeout=120, cell_id="grad-cell")
    assert reply["status"] == "ok", (reply, stderr_of(events))
    assert "Info in <TUnixSystem::ACLiC>" not in stderr_of(events)  # ACLiC compiled it, quietly
    check_gradient(host, 1)


def test_running_a_clad_cell_again_replaces_its_library(host):
    # Same notebook cell (cell_id), new code: its library is rebuilt and
    # reloaded, and later cells see the new definitions.
    reply, events = host.execute(clad_cell(3), timeout=120, cell_id="grad-cell")
    assert reply["status"] == "ok", (reply, stderr_of(events))
    check_gradient(host, 3)


def test_clad_cell_compile_error(host):
    reply, events = host.execute("%%clad\ndouble g(double x) { return x * ; }\n", timeout=120)
    assert reply["status"] == "error"
    assert reply["ename"] == "CladCompileError"
    assert reply["evalue"] == "expected expression (this cell, line 2)"  # the cell's line, not the file's
    assert any("error: expected expression" in line for line in reply["traceback"])
    assert host.ok('printf("ok\\n");') == "ok\n"


def test_a_macro_loading_the_engine_by_name_runs_with_dot_x(host, tmp_path):
    # As the README teaches for root.exe: R__LOAD_LIBRARY by file name, found
    # on cling's library path (not gSystem's alone).
    macro = tmp_path / "loads_engine.C"
    macro.write_text('R__LOAD_LIBRARY(libtorchclad_root.so)\n'
                     '#include "torchclad/torchclad.h"\n'
                     'void loads_engine() { printf("engine %s\\n", torchclad::versions().c_str()); }\n')
    reply, events = host.execute(f".x {macro}", timeout=120)
    assert reply["status"] == "ok", (reply, stderr_of(events))
    assert stdout_of(events).startswith("engine "), stdout_of(events)


def test_telemetry_emitted_from_a_cell(host):
    reply, events = host.execute(
        '#include "torchclad/telemetry.h"\n'
        "torchclad::telemetry::Event e;\n"
        'e.kind = "step"; e.run_id = "cell-run"; e.step = 3; e.epoch = 1; e.loss = 0.25;\n'
        "torchclad::telemetry::emit(e);\n"
        'e.kind = "end"; e.status = "finished"; e.loss = 0.0 / 0.0;\n'
        "torchclad::telemetry::emit(e);")
    assert reply["status"] == "ok"
    telemetry = [e for e in events if e["type"] == "telemetry"]
    assert [t["event"]["kind"] for t in telemetry] == ["step", "end"]
    assert telemetry[0]["id"] == reply["id"]
    assert telemetry[0]["event"]["run_id"] == "cell-run"
    assert telemetry[0]["event"]["step"] == 3 and telemetry[0]["event"]["loss"] == 0.25
    assert telemetry[1]["event"]["status"] == "finished"
    assert telemetry[1]["event"]["loss"] is None  # NaN


def test_training_from_a_cell_sends_telemetry(host, dataset):
    reply, events = host.execute(
        '#include "torchclad/torchclad.h"\n'
        f'auto train_set = torchclad::Dataset::from_idx("{dataset}", "train");\n'
        f'auto test_set = torchclad::Dataset::from_idx("{dataset}", "test");\n'
        "torchclad::Mlp model({36, 16, 3});\n"
        "torchclad::TrainOptions options; options.epochs = 2; options.batch = 32; options.progress = false;\n"
        "options.lr = 1e-2;\n"
        "auto result = model.fit(train_set, test_set, options);\n"
        'printf("%s %.3f\\n", result.status.c_str(), result.final_accuracy());', timeout=60)
    assert reply["status"] == "ok", (reply, stderr_of(events))
    status, accuracy = stdout_of(events).split()
    assert status == "finished" and float(accuracy) > 0.9
    kinds = [e["event"]["kind"] for e in events if e["type"] == "telemetry"]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert kinds.count("epoch") == 2 and "step" in kinds
    run_ids = {e["event"]["run_id"] for e in events if e["type"] == "telemetry"}
    assert len(run_ids) == 1
    end = [e for e in events if e["type"] == "telemetry"][-1]["event"]
    assert end["status"] == "finished" and end["engine"] == "clad"
    epoch = [e["event"] for e in events if e["type"] == "telemetry" and e["event"]["kind"] == "epoch"][-1]
    assert epoch["test_accuracy"] > 0.9 and epoch["samples_per_second"] > 0


def test_frozen_layers_of_a_builtin_mlp(host, dataset):
    # engine clad keeps them fixed; the comparison engines cannot, and say so
    reply, events = host.execute(
        '#include "torchclad/torchclad.h"\n#include "torchclad/model.h"\n'
        f'auto frozen_train = torchclad::Dataset::from_idx("{dataset}", "train");\n'
        f'auto frozen_test = torchclad::Dataset::from_idx("{dataset}", "test");\n'
        "torchclad::Mlp frozen_mlp({36, 16, 3});\n"
        "torchclad::TrainOptions frozen_options; frozen_options.epochs = 1; frozen_options.progress = false;\n"
        'frozen_options.frozen = {"fc1"};\n'
        "frozen_mlp.fit(frozen_train, frozen_test, frozen_options);\n"
        "auto first = frozen_mlp.model().parameter_names().front();\n"
        "auto last = frozen_mlp.model().parameter_names().back();\n"
        "auto initial = torchclad::model(frozen_mlp.model().name());  // the same seed's initial values\n"
        'printf("%s %d %s %d\\n", first.c_str(), (int)(frozen_mlp.model().parameter(first) == initial.parameter(first)),\n'
        '       last.c_str(), (int)(frozen_mlp.model().parameter(last) == initial.parameter(last)));',
        timeout=60)
    assert reply["status"] == "ok", (reply, stderr_of(events))
    assert stdout_of(events).split() == ["fc1.weight", "1", "fc2.bias", "0"]
    reply, events = host.execute(
        'frozen_options.frozen = {"fc1"}; frozen_options.engine = "autograd";\n'
        "frozen_mlp.fit(frozen_train, frozen_test, frozen_options);", timeout=60)
    assert reply["status"] == "error"
    assert 'Mlp::fit: frozen parameters need engine "clad"' in reply["evalue"] + stderr_of(events)


def test_interrupting_training_stops_it_cooperatively(host, dataset):
    rid = host.new_id()
    host.send({"type": "execute", "id": rid, "code":
               "torchclad::TrainOptions long_options; long_options.epochs = 100000; long_options.batch = 8;\n"
               "long_options.progress = false;\n"
               "auto stopped = model.fit(train_set, test_set, long_options);\n"
               'printf("%s\\n", stopped.status.c_str());'})
    host.wait_for(lambda e: e.get("type") == "telemetry" and e["event"]["kind"] == "step", 30)
    sent = time.monotonic()
    host.send({"type": "interrupt", "id": "stop-training"})
    seen = host.wait_for(lambda e: e.get("type") == "execute_reply" and e["id"] == rid, 30)
    reply = seen[-1]
    # The training loop stopped at the request and the cell ran to its end: ok.
    assert reply["status"] == "ok" and reply["interrupt"] == "cooperative"
    assert reply["_t"] - sent < 0.5
    end = [e["event"] for e in seen if e.get("type") == "telemetry" and e["event"]["kind"] == "end"]
    assert end and end[-1]["status"] == "stopped"
    assert stdout_of([e for e in seen if e.get("id") == rid]) == "stopped\n"


def test_a_run_on_a_thread_a_cell_detached_carries_that_cells_id(fresh_host, dataset):
    # Cell A starts a training run on a thread it detaches and returns before
    # the run sends anything; cell B lets the run go and waits for its end.
    # Every event of the run carries A's id (the thread's origin), none B's,
    # and so does a thread that the run's thread starts; the cell thread's
    # own events carry the running cell. (A host of its own: in this module's
    # host, after its earlier cells, cling failed to link std::thread's inline
    # templates, std::get on its _State tuple; a new host does not.)
    host = fresh_host()
    host.ok('#include "torchclad/torchclad.h"\n#include <atomic>\n#include <thread>\n'
            f'auto train_set = torchclad::Dataset::from_idx("{dataset}", "train");\n'
            f'auto test_set = torchclad::Dataset::from_idx("{dataset}", "test");\n'
            "torchclad::Mlp model({36, 16, 3});\n"
            "std::atomic<bool> detached_go{false};\nstd::atomic<int> detached_done{0};")
    reply_a, events_a = host.execute(
        "std::thread([] {\n"
        "  while (!detached_go) std::this_thread::sleep_for(std::chrono::milliseconds(1));\n"
        "  torchclad::TrainOptions o; o.epochs = 2; o.batch = 32; o.progress = false;\n"
        "  model.fit(train_set, test_set, o);\n"
        "  std::thread([] {\n"
        '    torchclad::telemetry::Event e; e.run_id = "nested-thread-run"; e.kind = "end";\n'
        "    torchclad::telemetry::emit(e);\n"
        "  }).join();\n"
        "  detached_done = 1;\n"
        "}).detach();")
    assert reply_a["status"] == "ok", (reply_a, events_a)
    assert [e for e in events_a if e["type"] == "telemetry"] == []
    rid_b = host.new_id()
    host.send({"type": "execute", "id": rid_b, "code":
               "detached_go = true;\n"
               "while (!detached_done) std::this_thread::sleep_for(std::chrono::milliseconds(2));\n"
               "{ torchclad::telemetry::Event e; e.run_id = \"cell-b-run\"; e.kind = \"end\";\n"
               "  torchclad::telemetry::emit(e); }"})
    seen = host.wait_for(lambda e: e.get("type") == "execute_reply" and e["id"] == rid_b, 60)
    assert seen[-1]["status"] == "ok", seen[-1]
    telemetry = [e for e in seen if e["type"] == "telemetry"]
    runs = {}
    for t in telemetry:
        runs.setdefault(t["event"]["run_id"], []).append(t)
    assert set(runs) == {"cell-b-run", "nested-thread-run", *(r for r in runs if r.startswith("run-"))}
    [trained] = [r for r in runs if r.startswith("run-")]
    kinds = [t["event"]["kind"] for t in runs[trained]]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("epoch") == 2
    assert {t["id"] for t in runs[trained]} == {reply_a["id"]}
    assert {t["id"] for t in runs["nested-thread-run"]} == {reply_a["id"]}
    assert {t["id"] for t in runs["cell-b-run"]} == {rid_b}


def test_an_rdataframe_graph_stays_usable_in_later_cells_after_a_dataset(fresh_host, tmp_path):
    # The repro in the kernel, where it hung or aborted the host: a
    # dataset from an RDataFrame node, then Snapshot, Count and Histo1D on the
    # same graph in the next cells, with implicit MT on.
    host = fresh_host()
    path = tmp_path / "ab.root"
    host.ok("ROOT::EnableImplicitMT(2);\n"
            f'ROOT::RDataFrame(64).Define("a", "float(rdfentry_)").Define("b", "2.f * a")'
            f'.Snapshot("t", "{path}", {{"a", "b"}});')
    host.ok('#include "torchclad/rdataframe.h"\n'
            f'ROOT::RDataFrame graph_df("t", "{path}");\n'
            'auto graph_node = graph_df.Define("image", "ROOT::RVecF{(float)a, (float)b}")'
            '.Define("label", [] { return 1; });\n'
            "auto graph_set = torchclad::dataset_from_rdataframe(graph_node);")
    out = host.ok(f'graph_node.Snapshot("out", "{tmp_path}/out.root", {{"image", "label"}});\n'
                  'auto graph_count = graph_node.Count();\n'
                  'auto graph_h = graph_node.Histo1D("a");\n'
                  'printf("%llu %g %lld\\n", *graph_count, graph_h->GetMean(), graph_set.size());',
                  timeout=120)
    assert out.split() == ["64", "31.5", "64"]
    again = host.ok('auto graph_again = torchclad::dataset_from_rdataframe(graph_node);\n'
                    'printf("%lld\\n", graph_again.size());', timeout=60)
    assert again.split() == ["64"]


def test_show_sends_an_image_as_a_display_message(host, tmp_path):
    import base64
    png = bytes(range(256)) * 3 + b"\x89PNG"  # any bytes: the host forwards, it does not decode
    (tmp_path / "plot.png").write_bytes(png)
    reply, events = host.execute(
        '#include "torchclad/torchclad.h"\n'
        f'printf("before\\n"); bool shown = torchclad::show("{tmp_path}/plot.png"); printf("shown %d\\n", shown);'
    )
    assert reply["status"] == "ok", (reply, events)
    displays = [e for e in events if e.get("type") == "display"]
    assert len(displays) == 1, events
    assert displays[0]["mime"] == "image/png"
    assert base64.b64decode(displays[0]["data"]) == png
    assert "shown 1" in stdout_of(events)


def test_show_names_a_file_it_cannot_show(host, tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    reply, events = host.execute(f'torchclad::show("{tmp_path}/notes.txt");')
    assert reply["status"] == "error"
    assert "is not a .png, .jpg or .svg file" in reply["evalue"] + stderr_of(events)
    reply, events = host.execute(f'torchclad::show("{tmp_path}/missing.png");')
    assert reply["status"] == "error"
    assert "cannot read" in reply["evalue"] + stderr_of(events)
