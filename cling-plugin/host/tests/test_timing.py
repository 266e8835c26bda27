"""TORCHCLAD_TIMING: the per-cell step timings the latency benchmark reads
(kernel-bridge/bench/latency_breakdown.py)."""

import os
import re
import time

from host_client import Host

STEP = re.compile(r"(\w+)=([\d.]+)\(\+([\d.]+)\)")


def timing_lines(host: Host) -> list:
    return [line for line in host.log_text().splitlines() if line.startswith("[timing] host execute")]


def test_timing_lines_name_the_steps_of_a_cell(fresh_host):
    host = fresh_host(env={**os.environ, "TORCHCLAD_TIMING": "1"})
    assert host.ok("int timed_x = 1;") == ""
    reply, _ = host.execute("1+1")
    assert reply["status"] == "ok"
    time.sleep(0.3)  # the line is written after the reply
    lines = timing_lines(host)
    assert len(lines) == 2, host.log_text()
    declaration = dict((s, float(at)) for s, at, _ in STEP.findall(lines[0]))
    expression = dict((s, float(at)) for s, at, _ in STEP.findall(lines[1]))
    assert list(declaration)[:2] == ["dequeued", "started"], lines[0]
    assert "process_line" in declaration and "evaluate" not in declaration, lines[0]
    assert "evaluate" in expression and "value_text" in expression, lines[1]
    for steps in (declaration, expression):
        times = list(steps.values())
        assert times == sorted(times), steps  # microseconds from the frame, in order
        assert list(steps)[-1] == "reply_sent"


def test_no_timing_lines_by_default(host):
    assert host.ok("int untimed_x = 1;") == ""
    assert timing_lines(host) == []
