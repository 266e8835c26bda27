"""The channel: hello, framing errors, completion, shutdown, exit() (crashes: test_crashes.py)."""

import struct
import time

from host_client import Host, encode, stdout_of


def test_hello(host):
    hello = host.hello
    assert hello["protocol_version"] == 1
    versions = hello["versions"]
    assert versions["root"].startswith("6.")
    assert "clang" in versions["cling"] and versions["cling_cplusplus"] == 201703
    for key in ("torchclad", "clad", "libtorch"):
        assert versions[key], key
    assert hello["engine"]["loaded"] is True
    assert hello["clad"]["available"] is True
    assert hello["forced_interrupt"] is True
    assert hello["max_cell_bytes"] == 8 * 1024 * 1024
    assert 0 < hello["startup_seconds"] < 30
    print(f"\nstartup: {hello['startup_seconds']:.2f} s from exec to hello "
          f"({hello['startup_main_seconds']:.2f} s of it after main()); "
          f"{host.hello_seconds:.2f} s from spawn to hello at the client")


def next_of(host, type_):
    return host.wait_for(lambda e: e.get("type") == type_, 10)[-1]


def test_bad_frames_get_an_error_and_the_host_survives(host):
    host.send_raw(encode(b"this is not json"))
    assert next_of(host, "error")["ename"] == "BadJson"
    host.send_raw(encode(b'{"type": "execute", "id": "u", "code": "\xff\xfe"}'))
    assert next_of(host, "error")["ename"] == "BadJson"
    host.send([1, 2, 3])
    assert next_of(host, "error")["ename"] == "BadMessage"
    host.send({"id": "no-type"})
    error = next_of(host, "error")
    assert error["ename"] == "BadMessage" and error["id"] == "no-type"
    host.send({"type": "frobnicate", "id": "f"})
    error = next_of(host, "error")
    assert error["ename"] == "UnknownType" and error["id"] == "f"
    host.send({"type": "execute", "id": "nocode"})
    assert next_of(host, "error")["ename"] == "BadMessage"
    host.send({"type": "complete", "id": "c", "code": "x", "cursor_pos": "end"})
    assert next_of(host, "error")["ename"] == "BadMessage"
    host.send({"type": "execute", "id": "s", "code": "1;", "silent": "yes"})
    assert next_of(host, "error")["ename"] == "BadMessage"
    # A frame over the limit (64 MiB) is skipped whole; the next one is read.
    big = 65 * 1024 * 1024
    host.send_raw(struct.pack(">I", big) + b" " * big)
    assert next_of(host, "error")["ename"] == "FrameTooLarge"
    assert host.ok('printf("alive\\n");') == "alive\n"


def complete(host, code, cursor=None):
    rid = host.new_id()
    host.send({"type": "complete", "id": rid, "code": code, "cursor_pos": len(code) if cursor is None else cursor})
    reply = host.wait_for(lambda e: e.get("type") == "complete_reply" and e["id"] == rid, 20)[-1]
    assert reply["status"] == "ok"
    return reply


def test_completion(host):
    host.ok("int completion_target = 1; TH1F completion_hist(\"h\", \"h\", 10, 0, 1);")
    reply = complete(host, "gSys")
    assert "gSystem" in reply["matches"]
    assert (reply["cursor_start"], reply["cursor_end"]) == (0, 4)
    reply = complete(host, "int a = 2;\nint b = completion_ta")
    assert reply["matches"] == ["completion_target"]
    assert (reply["cursor_start"], reply["cursor_end"]) == (19, 32)
    reply = complete(host, "completion_hist.Fi")
    assert {"Fill", "Fit", "FindBin"} <= set(reply["matches"])
    assert reply["cursor_start"] == len("completion_hist.")
    reply = complete(host, "TTreeF")
    assert "TTreeFormula" in reply["matches"]
    # Cursor positions count code points, not bytes.
    reply = complete(host, 'const char* s = "é"; gSys')
    assert reply["cursor_end"] == 25 and reply["cursor_start"] == 21
    assert complete(host, "zzz_nothing_like_this")["matches"] == []
    # Names in torchclad's namespace, members of a class template's object.
    host.ok('#include "torchclad/torchclad.h"\nROOT::RDataFrame completion_df(10);')
    reply = complete(host, "auto m = torchclad::M")
    assert "Mlp" in [m.rsplit("::", 1)[-1] for m in reply["matches"]], reply
    assert reply["cursor_end"] == len("auto m = torchclad::M")
    reply = complete(host, "completion_df.Fil")
    assert {"Filter"} <= set(reply["matches"]), reply
    assert reply["cursor_start"] == len("completion_df.")


def test_socketpair_channel(fresh_host):
    host = fresh_host(socket=True)
    assert host.ok('printf("over a socket\\n");') == "over a socket\n"


def test_shutdown(fresh_host):
    host = fresh_host()
    host.ok('printf("x\\n");')
    host.send({"type": "shutdown", "id": "bye"})
    reply = host.wait_for(lambda e: e.get("type") == "shutdown_reply", 10)[-1]
    assert reply["id"] == "bye"
    assert host.proc.wait(10) == 0


def test_shutdown_during_a_running_cell(fresh_host):
    host = fresh_host()
    rid = host.new_id()
    host.send({"type": "execute", "id": rid, "code": "while (true) {}"})
    time.sleep(0.3)
    host.send({"type": "shutdown", "id": "now"})
    seen = host.wait_for(lambda e: e.get("type") == "shutdown_reply", 10)
    assert any(e.get("type") == "execute_reply" and e["status"] == "aborted" for e in seen)
    assert host.proc.wait(10) == 0


def test_closing_the_channel_ends_the_host(fresh_host):
    host = fresh_host()
    import os

    os.close(host._req_w)
    assert host.proc.wait(10) == 0


def test_exit_from_a_cell_is_reported(fresh_host):
    host = fresh_host()
    rid = host.new_id()
    host.send({"type": "execute", "id": rid, "code": 'printf("bye\\n"); exit(3);'})
    seen = host.wait_for(lambda e: e.get("type") == "exit", 10)
    assert seen[-1] == {**seen[-1], "id": rid, "status": 3}
    assert stdout_of([e for e in seen if e.get("id") == rid]) == "bye\n"
    assert host.proc.wait(10) == 3


def test_meta_commands(host, tmp_path):
    macro = tmp_path / "hello_macro.C"
    macro.write_text('void hello_macro() { printf("macro ran\\n"); }\n')
    assert host.ok(f".x {macro}") == "macro ran\n"
    assert host.ok("hello_macro();") == "macro ran\n"
