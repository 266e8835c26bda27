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
