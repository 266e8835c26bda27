"""Cells of unusual size or shape: long runs of identifier characters, huge
cells, odd %%clad names. The host answers each and keeps the session."""

import pytest

from host_client import stdout_of

LONG = 60000  # the stack overflow of a regex over the cell came at ~50,000


@pytest.fixture(scope="module", autouse=True)
def canary(host):
    host.ok("int input_canary = 5;")
    yield
    assert host.ok('printf("%d\\n", input_canary);') == "5\n"


def test_a_long_string_literal(host):
    out = host.ok('const char* long_literal = "' + "x" * LONG + '";\nprintf("%zu\\n", strlen(long_literal));')
    assert out == f"{LONG}\n"


def test_a_long_comment(host):
    assert host.ok("// " + "y" * LONG + '\nprintf("after the comment\\n");') == "after the comment\n"


def test_a_long_identifier(host):
    name = "z" * LONG
    assert host.ok(f"int {name} = 6;\n" f'printf("%d\\n", {name} + 1);') == "7\n"


def test_a_long_run_of_digits(host):
    reply, _ = host.execute("auto huge_number = " + "9" * LONG + ";")
    assert reply["status"] == "error" and reply["ename"] == "CompileError"
    assert "integer literal is too large" in reply["evalue"]


def test_completion_after_a_long_identifier(host):
    host.ok("int completion_after_long = 1; // " + "w" * LONG)
    rid = host.new_id()
    code = "completion_after_lo"
    host.send({"type": "complete", "id": rid, "code": code, "cursor_pos": len(code)})
    reply = host.wait_for(lambda e: e.get("type") == "complete_reply" and e["id"] == rid, 20)[-1]
    assert reply["matches"] == ["completion_after_long"]


def test_an_oversized_cell_is_refused_with_the_limit(host):
    code = 'const char* huge = "' + "x" * (50 * 1024 * 1024) + '";'
    reply, events = host.execute(code, timeout=120)
    assert reply["status"] == "error"
    assert reply["ename"] == "CellTooLarge"
    assert f"has {len(code)} bytes" in reply["evalue"]
    assert "at most 8388608 bytes" in reply["evalue"]
    assert events == []


def test_a_cell_of_exactly_the_limit_runs(host):
    limit = 8 * 1024 * 1024
    head, tail = "// ", '\nprintf("big cell ran\\n");'
    code = head + "c" * (limit - len(head) - len(tail)) + tail
    assert len(code) == limit
    assert host.ok(code, timeout=120) == "big cell ran\n"


def test_a_clad_cell_name_that_is_too_long(host):
    reply, _ = host.execute("%%clad " + "n" * LONG + "\ndouble f_long_name(double x) { return x; }\n")
    assert reply["status"] == "error" and reply["ename"] == "BadMagic"
    assert f"found {LONG}" in reply["evalue"]


def test_a_clad_cell_name_that_is_not_an_identifier(host):
    reply, _ = host.execute("%%clad not-a-name\ndouble f_bad_name(double x) { return x; }\n")
    assert reply["status"] == "error" and reply["ename"] == "BadMagic"
    assert 'found "not-a-name"' in reply["evalue"]


def test_an_exception_type_from_a_cell_is_named_without_clings_namespace(host):
    reply, events = host.execute("struct " + "E" * 300 + " {};\nthrow " + "E" * 300 + "{};")
    assert reply["status"] == "error", (reply, stdout_of(events))
    assert reply["ename"] == "E" * 300
