"""A cell that closes or replaces fd 1 or 2 loses its own output only: the
host puts its capture back on fds 1 and 2 before the next cell."""

from host_client import stderr_of, stdout_of


def test_closing_stdout_breaks_only_that_cell(host, tmp_path):
    reply, events = host.execute('#include <unistd.h>\n#include <iostream>\nclose(1);\n'
                                 'printf("lost\\n"); std::cout << "lost too" << std::endl;')
    assert reply["status"] == "ok", reply
    assert stdout_of(events) == ""
    # The next file opened would take fd 1 if the host had not taken it back.
    took = tmp_path / "opened-after-close.txt"
    out = host.ok(f'FILE* opened = fopen("{took}", "w");\n'
                  'printf("printf is back\\n"); std::cout << "cout is back" << std::endl;\n'
                  'fclose(opened);')
    assert out == "printf is back\ncout is back\n"
    assert took.read_text() == ""


def test_closing_stderr_keeps_compile_errors(host):
    reply, _ = host.execute("#include <unistd.h>\nclose(2);")
    assert reply["status"] == "ok", reply
    reply, events = host.execute("int broken_after_close = ;")
    assert reply["ename"] == "CompileError"
    assert reply["evalue"] == "expected expression"
    assert any("error: expected expression" in line for line in reply["traceback"])
    assert "error: expected expression" in stderr_of(events)
    reply, events = host.execute('#include <iostream>\nfprintf(stderr, "c err\\n"); std::cerr << "cpp err" << std::endl;')
    assert stderr_of(events) == "c err\ncpp err\n"


def test_stdout_pointed_at_a_file_goes_back_at_the_next_cell(host, tmp_path):
    target = tmp_path / "redirected.txt"
    reply, events = host.execute(
        f'#include <fcntl.h>\n#include <unistd.h>\nint target_fd = open("{target}", O_WRONLY | O_CREAT | O_TRUNC, 0644);\n'
        'int saved_stdout = dup(1);\ndup2(target_fd, 1); close(target_fd);\nprintf("into the file\\n");')
    assert reply["status"] == "ok", reply
    assert stdout_of(events) == ""
    assert target.read_text() == "into the file\n"  # flushed before the capture was put back
    assert host.ok('printf("captured again\\n"); close(saved_stdout);') == "captured again\n"
