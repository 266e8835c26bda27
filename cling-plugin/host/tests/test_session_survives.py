"""One session through every mistake of the issue, in sequence: the state
defined first is still there at the end, on the same host process."""

from host_client import stdout_of


def test_a_session_survives_a_sequence_of_mistakes(fresh_host):
    host = fresh_host()
    pid = host.proc.pid
    host.ok("int canary = 7;")

    reply, _ = host.execute("int* p = nullptr; *p = 1;")
    assert reply["ename"] == "SIGSEGV", reply

    reply, _ = host.execute("#include <cstdlib>\nstd::abort();")
    assert reply["ename"] == "SIGABRT", reply

    name = "i" * 60000
    assert host.ok(f"int {name} = canary;\n" f'printf("%d\\n", {name});') == "7\n"

    reply, _ = host.execute("#include <unistd.h>\nclose(1);")
    assert reply["status"] == "ok", reply

    reply, events = host.execute(
        "#include <sys/wait.h>\npid_t forked = fork();\n"
        'if (forked == 0) printf("child sees %d\\n", canary);\n'
        "else waitpid(forked, nullptr, 0);")
    assert reply["status"] == "ok", reply
    assert stdout_of(events) == "child sees 7\n"

    assert host.ok('printf("canary %d\\n", canary);') == "canary 7\n"
    replies = [e for e in host.all_events if e.get("type") == "execute_reply"]
    assert len(replies) == 7  # one per cell: none from the forked child
    assert not [e for e in host.all_events if e.get("type") in ("crash", "exit")]
    assert host.proc.poll() is None and host.proc.pid == pid


def test_a_variable_whose_cell_failed_gives_an_error_not_a_crash(fresh_host):
    # Shift+Enter past a failed cell: cling keeps the variable's name, its
    # memory holds whatever it held; using it must not take the session down.
    host = fresh_host()
    pid = host.proc.pid
    host.ok("int canary = 7;")
    reply, _ = host.execute('#include "torchclad/model.h"\nauto early = torchclad::model("no_such_model");')
    assert reply["status"] == "error" and "no model definition named 'no_such_model'" in reply["evalue"], reply
    reply, _ = host.execute('printf("%s", early.describe().c_str());')
    assert reply["status"] == "error", reply
    assert "this Model was never made" in reply["evalue"], reply
    reply, _ = host.execute('auto ds = torchclad::Dataset::from_idx("/no/such/dir", "train");')
    assert reply["status"] == "error", reply
    reply, _ = host.execute('printf("%lld", ds.size());')
    assert reply["status"] == "error" and "this Dataset was never made" in reply["evalue"], reply
    # The other objects a cell makes (trial 2: a failed stream, then size()).
    failed_then_used = [
        ('#include "torchclad/stream.h"\n'
         'torchclad::StreamDataset stream_bad({"/no/such/file.root"}, "events", {"x"}, "label");',
         "stream_bad.size()", "StreamDataset"),
        ('#include "torchclad/cnn.h"\n'
         'auto binary_bad = torchclad::BinaryDataset::from_tree("/no/such/file.root", "windows");',
         "binary_bad.size()", "BinaryDataset"),
        ("torchclad::Cnn cnn_bad(0, {}, 0);", "cnn_bad.describe().size()", "Cnn"),
    ]
    for make, use, kind in failed_then_used:
        reply, _ = host.execute(make)
        assert reply["status"] == "error", (make, reply)
        reply, _ = host.execute(f'printf("%lld", (long long){use});')
        assert reply["status"] == "error" and f"this {kind} was never made" in reply["evalue"], (use, reply)
    assert host.ok('printf("canary %d\\n", canary);') == "canary 7\n"
    assert not [e for e in host.all_events if e.get("type") in ("crash", "exit")]
    assert host.proc.poll() is None and host.proc.pid == pid
