"""Quick cells (src/quick_cell.hpp): cells of fundamental types, literals and
operators are compiled without optimization; every other cell keeps the
session's level. TORCHCLAD_TIMING's "quick" step says which cells were."""

import os
import re
import time

import pytest
from host_client import Host

TIMING = "[timing] host execute"


@pytest.fixture(scope="module")
def timed_host():
    from conftest import HOST_ARGS

    h = Host(*HOST_ARGS, env={**os.environ, "TORCHCLAD_TIMING": "1"})
    yield h
    h.close()


def run(host: Host, code: str):
    """The reply, the execute_result's text (or None) and whether the cell was quick."""
    before = sum(line.startswith(TIMING) for line in host.log_text().splitlines())
    reply, events = host.execute(code)
    deadline = time.monotonic() + 10
    while True:  # the timing line is written after the reply
        lines = [line for line in host.log_text().splitlines() if line.startswith(TIMING)]
        if len(lines) > before or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(lines) == before + 1, host.log_text()
    values = [e["data"]["text/plain"] for e in events if e.get("type") in ("execute_result", "result")]
    return reply, (values[0] if values else None), " quick=" in lines[-1]


def test_cells_of_fundamental_types_are_quick_and_keep_their_values(timed_host):
    cells = [
        ("int qx = 1;", None),
        ("1+1", "(int) 2"),
        ("qx", "(int) 1"),
        ("double qy = qx / 4.0;", None),
        ("qy * 2", "(double) 0.50000000"),
        ("unsigned long long qz = 3ull, qw = qz + 1; // two at once", None),
        ("qw", "(unsigned long long) 4"),
        ("const char* qs = \"hi\";", None),
        ("int* qp = &qx;", None),
        ("qx > 0 ? 1.5 : 2.5", "(double) 1.5000000"),
        ("int qa = 1, qb = qa + 1;\nqb", "(int) 2"),
        ("Double_t qd = 2; qd", "(double) 2.0000000"),
        ("qx++", "(int) 1"),
        ("0x1fu + 1'000 + 1.5e1f", "(float) 1046.00f"),
    ]
    for code, value in cells:
        reply, shown, quick = run(timed_host, code)
        assert reply["status"] == "ok", (code, reply)
        assert shown == value, (code, shown)
        assert quick, code


def test_calls_members_loops_templates_and_class_types_keep_the_sessions_level(timed_host):
    assert run(timed_host, "std::vector<int> qv{1, 2};")[2] is False
    cells = [
        "qv.size()",
        "qv[0]",
        "int qn = 0; for (int i = 0; i < 3; ++i) qn += i;",
        "TMath::Pi()",
        "int qabs = abs(-1);",
        "#include <cmath>\nint qinc = 1;",
        "auto ql = [](int a) { return a; };",
        "int qarr[3];",
        "TH1F* qh = nullptr;",
        "qp",  # a pointer: not fundamental
        "qs",
        "struct QS { int a; };",
        "int qf() { return 1; }",
        "int qu = undeclared_quick_name;",
        # User-defined literals call (template) operators: 10ms, 2.0i, "abc"s.
        "auto qms = 10ms;",
        "auto qim = 2.0i * 1.0i;",
        "auto qk = 123_k;",
        'auto qstr = "abc"qx;',
        # Digraphs (a lambda) and a call through parentheses.
        "auto qgl = <: :>(int a) <% return a; %>;",
        "(qx)(1)",
        # Incomplete: cling's error would point past the appended pragma.
        "qx +",
    ]
    for code in cells:
        _, _, quick = run(timed_host, code)
        assert not quick, code


def test_a_redefined_variable_keeps_its_new_value(timed_host):
    assert run(timed_host, "int qr = 1;")[2]
    assert run(timed_host, "int qr = 2;")[2]  # declared by the cell: quick
    reply, shown, _ = run(timed_host, "qr")  # quick or not (ROOT may not see the redefinition's type)
    assert reply["status"] == "ok" and shown == "(int) 2"


def test_an_error_in_a_quick_cell_reads_as_in_any_cell(timed_host):
    reply, _, quick = run(timed_host, "int qe0 = 1;\nint qe1 = 1 +;")
    assert quick and reply["status"] == "error"
    other, _, slow = run(timed_host, "int qe2 = abs(1);\nint qe3 = 1 +;")
    assert not slow and other["status"] == "error"

    def where(traceback):
        return [re.sub(r"input_line_\d+", "input_line", line).replace("qe1", "qe3") for line in traceback]

    assert where(reply["traceback"]) == where(other["traceback"])
    assert ":3:14: error: expected expression" in reply["traceback"][0]
