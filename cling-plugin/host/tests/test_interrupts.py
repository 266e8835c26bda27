"""Interrupts: cooperative (the stop flag), forced (jumping out of user code), SIGINT."""

import signal
import time

from host_client import stdout_of


def interrupt_after(host, code, delay=0.4, timeout=20, **fields):
    rid = host.new_id()
    host.send({"type": "execute", "id": rid, "code": code, **fields})
    time.sleep(delay)
    sent = time.monotonic()
    host.send({"type": "interrupt", "id": rid + "-int"})
    seen = host.wait_for(lambda e: e.get("type") == "execute_reply" and e["id"] == rid, timeout)
    ack = next(e for e in seen if e["type"] == "interrupt_reply")
    assert ack["running"] is True and ack["target"] == rid
    return seen[-1], [e for e in seen if e.get("id") == rid], seen[-1]["_t"] - sent


def test_interrupt_when_idle(host):
    host.send({"type": "interrupt", "id": "idle"})
    ack = host.wait_for(lambda e: e.get("id") == "idle")[-1]
    assert ack == {**ack, "type": "interrupt_reply", "running": False, "target": None}


def test_cooperative_stop_flag(host):
    reply, events, took = interrupt_after(
        host,
        '#include "torchclad/telemetry.h"\n#include <thread>\n'
        "int steps = 0;\n"
        "while (!torchclad::telemetry::stop_requested()) {\n"
        "  std::this_thread::sleep_for(std::chrono::milliseconds(5)); ++steps;\n"
        "}\n"
        'printf("stopped after %d steps\\n", steps > 0 ? 1 : 0);',
    )
    # The cell's code ran to its end: a normal end, ok; the reply notes the
    # interrupt request.
    assert reply["status"] == "ok"
    assert reply["ename"] == "" and reply["traceback"] == []
    assert reply["interrupt"] == "cooperative"
    assert stdout_of(events) == "stopped after 1 steps\n"
    assert took < 0.4  # well before the forced interrupt
    # The flag is cleared for the next cell.
    assert host.ok('printf("%d\\n", (int)torchclad::telemetry::stop_requested());') == "0\n"


def test_a_cooperatively_stopped_cell_does_not_abort_the_queue(host):
    rid, queued = host.new_id(), host.new_id()
    host.send({"type": "execute", "id": rid, "code":
               '#include "torchclad/telemetry.h"\n#include <thread>\nprintf("looping\\n");\n'
               "while (!torchclad::telemetry::stop_requested())\n"
               "  std::this_thread::sleep_for(std::chrono::milliseconds(5));"})
    host.send({"type": "execute", "id": queued, "code": 'printf("queued cell ran\\n");'})
    host.wait_for(lambda e: e.get("type") == "stream" and e["id"] == rid and "looping" in e["text"])
    host.send({"type": "interrupt", "id": rid + "-int"})
    seen = host.wait_for(lambda e: e.get("type") == "execute_reply" and e["id"] == queued, 20)
    replies = {e["id"]: e for e in seen if e["type"] == "execute_reply"}
    assert replies[rid]["status"] == "ok" and replies[rid]["interrupt"] == "cooperative"
    assert replies[queued]["status"] == "ok"
    assert stdout_of([e for e in seen if e.get("id") == queued]) == "queued cell ran\n"


def test_sleeping_cell_is_interrupted(host):
    host.ok("int before_sleep = 7;")
    reply, _, took = interrupt_after(host, "#include <unistd.h>\nsleep(60);")
    assert reply["status"] == "aborted" and reply["interrupt"] == "forced"
    assert took < 3
    assert host.ok('printf("%d\\n", before_sleep);') == "7\n"


def test_busy_loop_is_interrupted(host):
    reply, _, took = interrupt_after(host, "while (true) {}")
    assert reply["status"] == "aborted" and reply["interrupt"] == "forced"
    assert took < 3
    assert host.ok('printf("usable\\n");') == "usable\n"


def test_allocating_and_printing_loops_are_interrupted(host):
    # The forced interrupt waits until the loop is outside malloc and stdio.
    reply, _, _ = interrupt_after(host, "#include <vector>\nlong total = 0;\n"
                                        "while (true) { std::vector<double> v(64); total += v.size(); }")
    assert reply["interrupt"] == "forced"
    reply, events, _ = interrupt_after(host, 'long line_no = 0;\nwhile (true) printf("line %ld\\n", line_no++);')
    assert reply["interrupt"] == "forced"
    assert stdout_of(events).startswith("line 0\nline 1\n")
    # malloc, stdio and ROOT still work, from this thread and others.
    assert host.ok('#include <thread>\n#include <string>\nstd::string s(1000, \'x\');\n'
                   'std::thread t([] { printf("from a thread\\n"); TClass::GetClass("TH1F"); });\n'
                   't.join(); printf("%zu\\n", s.size());') == "from a thread\n1000\n"


def test_a_loop_in_a_top_level_initializer_is_interrupted(host):
    # cling runs it while it commits the cell, holding ROOT's lock: the
    # landing releases the lock, so another thread can take it after.
    reply, _, _ = interrupt_after(host, "int spin_forever() { volatile bool spin = true; while (spin) {} return 1; }\n"
                                        "int spun = spin_forever();")
    assert reply["status"] == "aborted" and reply["interrupt"] == "forced"
    assert host.ok('#include <thread>\n'
                   'std::thread([] { printf("%s\\n", TClass::GetClass("TH1D")->GetName()); }).join();') == "TH1D\n"


def test_second_interrupt_forces_at_once(fresh_host):
    host = fresh_host("--interrupt-grace", "30")
    rid = host.new_id()
    host.send({"type": "execute", "id": rid, "code": "while (true) {}"})
    time.sleep(0.3)
    host.send({"type": "interrupt", "id": "first"})
    time.sleep(0.3)
    sent = time.monotonic()
    host.send({"type": "interrupt", "id": "second"})
    reply = host.wait_for(lambda e: e.get("type") == "execute_reply" and e["id"] == rid, 10)[-1]
    assert reply["interrupt"] == "forced" and reply["_t"] - sent < 2


def test_sigint_interrupts_too(fresh_host):
    host = fresh_host()
    rid = host.new_id()
    host.send({"type": "execute", "id": rid, "code": "#include <unistd.h>\nsleep(60);"})
    time.sleep(0.4)
    host.proc.send_signal(signal.SIGINT)
    reply = host.wait_for(lambda e: e.get("type") == "execute_reply" and e["id"] == rid, 10)[-1]
    assert reply["status"] == "aborted"
    assert host.ok('printf("ok\\n");') == "ok\n"


def test_a_cell_that_cannot_be_interrupted_is_reported_and_shutdown_still_works(fresh_host):
    # The host never jumps out of code in LibTorch, the engine or thread
    # pools; --no-jump-library adds libc here, so that a sleeping cell is
    # such a cell (sleep_for sleeps again when a signal wakes it).
    host = fresh_host("--no-jump-library", "libc.so")
    rid = host.new_id()
    host.send({"type": "execute", "id": rid,
               "code": "#include <thread>\nstd::this_thread::sleep_for(std::chrono::seconds(60));"})
    time.sleep(0.3)
    host.send({"type": "interrupt", "id": "try"})
    stuck = host.wait_for(lambda e: e.get("type") == "interrupt_stuck", 10)[-1]
    assert stuck["id"] == rid
    assert "LibTorch" in stuck["reason"]
    sent = time.monotonic()
    host.send({"type": "shutdown", "id": "restart"})
    host.wait_for(lambda e: e.get("type") == "shutdown_reply", 10)
    assert host.proc.wait(10) == 0
    assert time.monotonic() - sent < 5
