"""Cells in cling: declarations and statements, output, errors."""

import subprocess
import time

from host_client import stderr_of, stdout_of


def test_declare_then_use_in_a_later_cell(host):
    out = host.ok(
        "int twice(int a) { return 2 * a; }\n"
        "struct Counter { int n = 0; void add(int k) { n += k; } };\n"
        "Counter counter;\n"
        "counter.add(twice(4));\n"
        'printf("n=%d\\n", counter.n);'
    )
    assert out == "n=8\n"
    assert host.ok('counter.add(twice(1)); printf("n=%d %d\\n", counter.n, twice(21));') == "n=10 42\n"


def test_class_definition_then_statements(host):
    out = host.ok(
        "class Shape {\n public:\n  virtual ~Shape() = default;\n  virtual double area() const = 0;\n};\n"
        "class Square : public Shape {\n public:\n  explicit Square(double s) : s_(s) {}\n"
        "  double area() const override { return s_ * s_; }\n private:\n  double s_;\n};\n"
        "Square sq(3);\n"
        'printf("area %.1f\\n", sq.area());'
    )
    assert out == "area 9.0\n"
    assert host.ok('const Shape& shape = sq; printf("%.1f\\n", shape.area());') == "9.0\n"


def test_a_definition_after_statements_is_a_compile_error(host):
    # As in ROOT's prompt and notebook: once a statement starts, the rest of
    # the cell is the body of cling's wrapper function.
    reply, _ = host.execute('int early = 1;\nint late_function() { return 2; }')
    assert reply["status"] == "error"
    assert reply["ename"] == "CompileError"
    assert "function definition is not allowed here" in reply["evalue"]


def test_include_then_statements(host):
    out = host.ok('#include "torchclad/telemetry.h"\n#include <vector>\n'
                  'std::vector<int> values{1, 2, 3};\n'
                  'printf("%zu %d\\n", values.size(), (int)torchclad::telemetry::stop_requested());')
    assert out == "3 0\n"


def test_value_of_a_last_expression_is_the_cells_result_not_stdout(host):
    # More in test_values.py.
    reply, events = host.execute("int five = 5; five")
    assert reply["status"] == "ok"
    assert stdout_of(events) == ""
    assert [e["data"]["text/plain"] for e in events if e["type"] == "execute_result"] == ["(int) 5"]


def test_stdout_and_stderr_apart(host):
    reply, events = host.execute(
        '#include <iostream>\n'
        'printf("c out\\n"); std::cout << "cpp out" << std::endl;\n'
        'fprintf(stderr, "c err\\n"); std::cerr << "cpp err" << std::endl;\n'
        'Info("cell", "info %d", 1); Warning("cell", "warning"); Error("cell", "error");'
    )
    assert reply["status"] == "ok"
    assert stdout_of(events) == "c out\ncpp out\n"
    err = stderr_of(events)
    for text in ["c err\n", "cpp err\n", "Info in <cell>: info 1\n", "Warning in <cell>: warning\n",
                 "Error in <cell>: error\n"]:
        assert text in err
    assert all(e["id"] == reply["id"] for e in events)


def test_output_is_streamed_while_the_cell_runs(host):
    reply, events = host.execute(
        '#include <unistd.h>\nprintf("before\\n"); fprintf(stderr, "err before\\n"); sleep(1); printf("after\\n");')
    assert reply["status"] == "ok"
    streams = [e for e in events if e["type"] == "stream"]
    first_out = next(e for e in streams if "before" in e["text"] and e["name"] == "stdout")
    first_err = next(e for e in streams if "err before" in e["text"])
    assert first_err["name"] == "stderr"
    # "before" arrived about a second before the reply, "after" just before it.
    assert reply["_t"] - first_out["_t"] > 0.7
    assert reply["_t"] - first_err["_t"] > 0.7
    assert stdout_of(events) == "before\nafter\n"


def test_compile_error_carries_the_diagnostic(host):
    reply, events = host.execute("int broken = ;\n")
    assert reply["status"] == "error"
    assert reply["ename"] == "CompileError"
    assert reply["evalue"] == "expected expression"
    assert any("error: expected expression" in line for line in reply["traceback"])
    # The same text was streamed on stderr as cling printed it.
    assert "error: expected expression" in stderr_of(events)
    assert host.ok('printf("fine\\n");') == "fine\n"


def test_undeclared_identifier(host):
    reply, _ = host.execute("no_such_thing(3);")
    assert reply["status"] == "error"
    assert "undeclared identifier 'no_such_thing'" in reply["evalue"]


def test_incomplete_cell_does_not_swallow_the_next(host):
    reply, _ = host.execute("void unfinished() {\n  int a = 1;\n")
    assert reply["status"] == "error"
    assert reply["ename"] == "IncompleteInput"
    assert host.ok('printf("next\\n");') == "next\n"


def test_cpp_exception_is_an_error_and_the_host_goes_on(host):
    reply, _ = host.execute('#include <stdexcept>\nthrow std::runtime_error("boom");')
    assert reply["status"] == "error"
    assert reply["ename"] == "std::runtime_error"
    assert reply["evalue"] == "boom"
    reply, _ = host.execute("struct MyError { int code; };\nthrow MyError{3};")
    assert reply["status"] == "error"
    assert reply["ename"] == "MyError"
    assert host.ok('printf("after %d\\n", twice(2));') == "after 4\n"


def test_empty_cell(host):
    reply, events = host.execute("  \n\n")
    assert reply["status"] == "ok" and events == []


def test_only_clad_is_a_magic_for_the_host(host):
    # Magics are the bridge's (it answers an unknown one itself): the host
    # runs any other cell as C++, so "%%python" is cling's compile error.
    reply, events = host.execute("%%python\nprint(1)")
    assert reply["status"] == "error" and reply["ename"] == "CompileError", reply
    assert "error:" in "".join(e["text"] for e in events if e["type"] == "stream" and e["name"] == "stderr")
    assert host.ok('printf("after\\n");') == "after\n"


def test_queued_requests_run_in_order(host):
    ids = [host.new_id() for _ in range(3)]
    host.send({"type": "execute", "id": ids[0], "code": '#include <unistd.h>\nusleep(300000); printf("one\\n");'})
    host.send({"type": "execute", "id": ids[1], "code": 'printf("two\\n");'})
    host.send({"type": "complete", "id": ids[2], "code": "gSys", "cursor_pos": 4})
    seen = host.wait_for(lambda e: e.get("id") == ids[2] and e["type"] == "complete_reply")
    replies = [e for e in seen if e["type"] in ("execute_reply", "complete_reply")]
    assert [r["id"] for r in replies] == ids
    assert all(r["status"] == "ok" for r in replies)
    assert stdout_of([e for e in seen if e.get("id") == ids[0]]) == "one\n"
    assert replies[0]["execution_count"] + 1 == replies[1]["execution_count"]


def test_a_failed_cell_does_not_abort_the_cells_queued_behind_it(host):
    # stop_on_error is the bridge's (it holds the notebook's queue): the host
    # runs every execute it is sent, in order, also after a failure.
    ids = [host.new_id() for _ in range(3)]
    host.send({"type": "execute", "id": ids[0], "code": '#include <unistd.h>\nusleep(200000); int x_fail = ;'})
    host.send({"type": "execute", "id": ids[1], "code": 'printf("runs\\n");'})
    host.send({"type": "execute", "id": ids[2], "code": "while (true) {}"})
    seen = host.wait_for(lambda e: e.get("id") == ids[1] and e["type"] == "execute_reply")
    replies = {e["id"]: e for e in seen if e["type"] == "execute_reply"}
    assert replies[ids[0]]["status"] == "error"
    assert replies[ids[1]]["status"] == "ok"
    assert stdout_of([e for e in seen if e.get("id") == ids[1]]) == "runs\n"
    # Nor does an interrupted one: the cell queued behind the busy loop runs.
    ids.append(host.new_id())
    host.send({"type": "execute", "id": ids[3], "code": 'printf("after the interrupt\\n");'})
    time.sleep(0.3)
    host.send({"type": "interrupt", "id": host.new_id()})
    seen = host.wait_for(lambda e: e.get("id") == ids[3] and e["type"] == "execute_reply")
    replies = {e["id"]: e for e in seen if e["type"] == "execute_reply"}
    assert replies[ids[2]]["status"] == "aborted" and replies[ids[2]]["ename"] == "Interrupted"
    assert replies[ids[3]]["status"] == "ok"
    assert stdout_of([e for e in seen if e.get("id") == ids[3]]) == "after the interrupt\n"


def test_a_library_whose_initialiser_starts_a_thread_and_waits_for_it_loads(host, tmp_path):
    # As OpenMP in MKL does when a %%clad model's registration runs a matrix
    # product: the thread starts while dlopen holds the loader's lock, so the
    # host's pthread_create wrapper (thread_origin.cpp) must not take it.
    src = tmp_path / "starts_thread.cpp"
    src.write_text('#include <cstdio>\n#include <thread>\n'
                   'static int started = [] {\n'
                   '  std::thread([] { std::printf("thread ran\\n"); std::fflush(stdout); }).join();\n'
                   '  return 1;\n'
                   '}();\n')
    lib = tmp_path / "libstarts_thread.so"
    subprocess.run(["clang++-19", "-shared", "-fPIC", "-pthread", "-o", str(lib), str(src)], check=True)
    reply, events = host.execute(f'gSystem->Load("{lib}");\nprintf("loaded\\n");', timeout=30)
    assert reply["status"] == "ok", (reply, events)
    assert stdout_of(events) == "thread ran\nloaded\n"


def test_round_trip_of_a_small_cell(host):
    times = []
    for i in range(50):
        t = time.monotonic()
        reply, _ = host.execute("int x = 1;")
        times.append(time.monotonic() - t)
        assert reply["status"] == "ok", reply
    times.sort()
    median = times[len(times) // 2]
    print(f"\nround trip of `int x = 1;`: median {median * 1e3:.2f} ms, min {times[0] * 1e3:.2f} ms, "
          f"max {times[-1] * 1e3:.2f} ms")
    assert median < 0.1
