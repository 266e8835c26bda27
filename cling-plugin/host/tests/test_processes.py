"""Processes cells start: fork() in a cell, and what ends with the host."""

import os

from host_client import stdout_of, wait_until_ended

FORK_HEADERS = "#include <unistd.h>\n#include <sys/wait.h>\n#include <cstdlib>\n"


def replies_to(host, rid):
    return [e for e in host.all_events if e.get("type") == "execute_reply" and e.get("id") == rid]


def test_a_forked_child_runs_the_rest_of_its_cell_and_never_replies(host):
    host.ok("int fork_canary = 11;")
    reply, events = host.execute(
        FORK_HEADERS + "pid_t child = fork();\n"
        'if (child == 0) printf("in the child %d\\n", fork_canary);\n'
        'else { int status = -1; waitpid(child, &status, 0); printf("child ended: %d\\n", WEXITSTATUS(status)); }')
    assert reply["status"] == "ok", (reply, events)
    # The child's output comes through the host's capture, before the parent's.
    assert stdout_of(events) == "in the child 11\nchild ended: 0\n"
    assert host.ok('printf("%d\\n", fork_canary);') == "11\n"
    assert replies_to(host, reply["id"]) == [reply]


def test_a_forked_child_that_calls_exit_leaves_the_host_alone(host):
    reply, events = host.execute(
        FORK_HEADERS + "pid_t exiting = fork();\n"
        'if (exiting == 0) { printf("child exits\\n"); exit(3); }\n'
        'int exit_status = -1; waitpid(exiting, &exit_status, 0); printf("status %d\\n", WEXITSTATUS(exit_status));')
    assert reply["status"] == "ok", (reply, events)
    assert stdout_of(events) == "child exits\nstatus 3\n"
    assert host.ok('printf("alive\\n");') == "alive\n"
    assert [e for e in host.all_events if e.get("type") == "exit"] == []
    assert replies_to(host, reply["id"]) == [reply]
    assert host.proc.poll() is None
    assert os.path.isdir(host.hello["workdir"])


def test_a_crash_in_a_forked_child_is_the_childs_only(host):
    reply, events = host.execute(
        FORK_HEADERS + "pid_t crashing = fork();\n"
        "if (crashing == 0) *(volatile int*)nullptr = 1;\n"
        'int crash_status = -1; waitpid(crashing, &crash_status, 0);\n'
        'printf("child killed by signal %d\\n", WIFSIGNALED(crash_status) ? WTERMSIG(crash_status) : 0);')
    assert reply["status"] == "ok", (reply, events)
    assert stdout_of(events) == "child killed by signal 11\n"
    assert [e for e in host.all_events if e.get("type") == "crash"] == []
    assert replies_to(host, reply["id"]) == [reply]


def start_sleepers(host, tmp_path):
    """A forked child and a background job of a shell that has exited (adopted by init)."""
    pidfile = tmp_path / "background.pid"
    forked = int(host.ok(FORK_HEADERS + "pid_t sleeper = fork();\n"
                         'if (sleeper == 0) { execlp("sleep", "sleep", "1000", (char*)nullptr); _exit(127); }\n'
                         'printf("%d\\n", sleeper);'))
    host.ok(f'system("sleep 1000 > /dev/null 2>&1 & echo $! > {pidfile}");')
    background = int(pidfile.read_text())
    assert wait_until_ended([forked, background], timeout=0) == [forked, background]
    return [forked, background]


def test_shutdown_kills_the_processes_cells_started(fresh_host, tmp_path):
    host = fresh_host()
    pids = start_sleepers(host, tmp_path)
    host.send({"type": "shutdown", "id": "bye"})
    host.wait_for(lambda e: e.get("type") == "shutdown_reply", 10)
    assert host.proc.wait(10) == 0
    assert wait_until_ended(pids) == []


def test_exit_in_a_cell_kills_the_processes_cells_started(fresh_host, tmp_path):
    host = fresh_host()
    pids = start_sleepers(host, tmp_path)
    host.send({"type": "execute", "id": "leave", "code": "exit(0);"})
    host.wait_for(lambda e: e.get("type") == "exit", 10)
    assert host.proc.wait(10) == 0
    assert wait_until_ended(pids) == []


def test_closing_the_channel_kills_the_processes_cells_started(fresh_host, tmp_path):
    host = fresh_host()
    pids = start_sleepers(host, tmp_path)
    os.close(host._req_w)
    assert host.proc.wait(10) == 0
    assert wait_until_ended(pids) == []


def test_a_forked_child_dies_with_a_killed_host(fresh_host):
    # SIGKILL leaves the host no time to clean up: the child's parent-death
    # signal (set when the cell thread forked it) ends it.
    host = fresh_host()
    pid = int(host.ok(FORK_HEADERS + "pid_t orphan = fork();\n"
                      'if (orphan == 0) { execlp("sleep", "sleep", "1000", (char*)nullptr); _exit(127); }\n'
                      'printf("%d\\n", orphan);'))
    assert wait_until_ended([pid], timeout=0) == [pid]
    host.proc.kill()
    host.proc.wait(10)
    assert wait_until_ended([pid]) == []
