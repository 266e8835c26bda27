"""Crashes: recovered when a cell's own code crashes on the cell thread (the
session goes on), reported with their reason when the host cannot go on."""

import re
import resource

import pytest

from host_client import stderr_of, stdout_of, wait_until_ended

# Each cell crashes in its own code; the host answers it with an error named
# after the signal and keeps every earlier variable.
RECOVERED = {
    "null dereference": ("SIGSEGV", 'printf("about to crash\\n");\nint* p = nullptr; *p = 1;'),
    "write into a freed buffer": (
        "SIGSEGV",
        # 64 MiB: malloc maps it on its own and unmaps it on delete.
        "char* freed = new char[64 << 20];\ndelete[] freed;\nfreed[1 << 20] = 1;",
    ),
    "write far out of bounds": ("SIGSEGV", "int* small = new int[4];\nsmall[1L << 36] = 1;"),
    # cling runs the initializers of top-level variables outside the cell's
    # wrapper function, while it commits the cell.
    "a top-level variable's initializer": ("SIGSEGV", "double bad_init = *(volatile double*)nullptr;"),
    "a method called on a null ROOT object": (
        "SIGSEGV", "TH1F* missing_hist = nullptr;\ndouble missing_mean = missing_hist->GetMean();"),
    "a global's constructor": (
        "SIGSEGV", "struct Crashing { Crashing() { *(volatile int*)nullptr = 1; } };\nCrashing crashing;"),
    "abort()": ("SIGABRT", "#include <cstdlib>\nstd::abort();"),
    "std::terminate()": ("SIGABRT", "#include <exception>\nstd::terminate();"),
    "a trap instruction": ("SIGILL", "__builtin_trap();"),
    "a mapped file that shrank": (
        "SIGBUS",
        "#include <sys/mman.h>\n#include <fcntl.h>\n#include <unistd.h>\n#include <cstdlib>\n"
        'char shrinking_path[] = "/tmp/torchclad-sigbus-XXXXXX";\nint shrinking = mkstemp(shrinking_path);\n'
        "ftruncate(shrinking, 8192);\n"
        "char* mapped = (char*)mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, shrinking, 0);\n"
        "ftruncate(shrinking, 0); unlink(shrinking_path); close(shrinking);\nmapped[100] = 1;",
    ),
    "integer division by zero": ("SIGFPE", '{ volatile int zero = 0; printf("%d\\n", 7 / zero); }'),
    "stack overflow": (
        "SIGSEGV",
        "int deep(int n) { volatile char pad[4096]; pad[0] = n; return deep(n + 1) + pad[0]; }\ndeep(0);",
    ),
}


@pytest.mark.parametrize("case", RECOVERED)
def test_a_crash_in_cell_code_is_an_error_and_the_session_goes_on(host, case):
    signal_name, code = RECOVERED[case]
    host.ok("int survivor = 41; std::string survivor_text = \"kept\";")
    reply, events = host.execute(code)
    assert reply["status"] == "error", (reply, events)
    assert reply["ename"] == signal_name
    assert "the session goes on" in reply["evalue"]
    assert reply["traceback"] == [f"{signal_name}: {reply['evalue']}"]
    assert host.proc.poll() is None
    assert host.ok('printf("%d %s\\n", survivor + 1, survivor_text.c_str());') == "42 kept\n"


def test_a_stack_overflow_after_a_deep_cell_is_recovered(fresh_host):
    # An earlier cell that went deep (a recursion, a call into the engine)
    # leaves return addresses below the part of the stack zeroed before each
    # cell. A stack overflow's scan walks all that again, and a stale word
    # into the engine would read as a live frame there: the host would exit.
    # This cell leaves such words, made up to follow a call instruction in
    # libtorchclad.so, from the top of the stack down to 3 MB.
    host = fresh_host()
    host.ok('#include "torchclad/torchclad.h"\n#include <dlfcn.h>')
    host.ok("unsigned long engine_return_address() {\n"
            '  auto* code = (const unsigned char*)dlsym(RTLD_DEFAULT, "_ZN9torchclad10max_pool1dERKN2at6TensorEl");\n'
            "  for (int i = 0; code && i < 4096; ++i) if (code[i] == 0xE8) return (unsigned long)(code + i + 5);\n"
            "  return 0; }")
    host.ok("int leave_words(int n, unsigned long word) { volatile unsigned long pad[500];\n"
            "  for (int i = 0; i < 500; ++i) pad[i] = word;\n"
            "  return n > 0 ? leave_words(n - 1, word) + (int)(pad[0] & 1) : 0; }")
    assert host.ok('{ unsigned long word = engine_return_address(); leave_words(750, word);\n'
                   '  Dl_info where; printf("%s\\n", word && dladdr((void*)word, &where) ? where.dli_fname : "none"); }'
                   ).rstrip().endswith("/libtorchclad.so")
    reply, events = host.execute(RECOVERED["stack overflow"][1])
    crash = [e for e in events if e.get("type") == "crash"]
    assert not crash, (crash[0].get("reason"), crash[0].get("unsafe_frame"), host.log_text()[-2000:])
    assert reply["ename"] == "SIGSEGV" and "the session goes on" in reply["evalue"]
    assert host.ok('printf("alive\\n");') == "alive\n"


def test_a_stack_overflow_on_a_large_stack_is_recovered(fresh_host):
    # `ulimit -s` of 128 MiB (some clusters set more than the usual 8): the
    # overflow ends 128 MiB below the cell, and the scan covers all of it.
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    wanted = 128 << 20
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.fail(f"the hard stack limit is {hard} bytes here; this test needs {wanted}")
    resource.setrlimit(resource.RLIMIT_STACK, (wanted, hard))
    try:
        host = fresh_host()
    finally:
        resource.setrlimit(resource.RLIMIT_STACK, (soft, hard))
    assert host.ok('#include <sys/resource.h>\n{ rlimit r; getrlimit(RLIMIT_STACK, &r); printf("%lu\\n", r.rlim_cur); }'
                   ) == f"{wanted}\n"
    reply, events = host.execute(RECOVERED["stack overflow"][1])
    crash = [e for e in events if e.get("type") == "crash"]
    assert not crash, (crash[0].get("reason"), crash[0].get("unsafe_frame"))
    assert reply["ename"] == "SIGSEGV" and "the session goes on" in reply["evalue"]
    assert host.ok('printf("alive\\n");') == "alive\n"


def test_a_crash_inside_a_library_never_jumped_out_of_names_its_frame(fresh_host):
    # --no-jump-library makes libc such a library (as LibTorch and the engine
    # are): a fault inside strlen ends the host, and its crash frame names
    # the reason and the frame the scan found.
    host = fresh_host("--no-jump-library", "libc.so")
    rid = host.new_id()
    host.send({"type": "execute", "id": rid,
               "code": '#include <cstring>\nprintf("%zu\\n", strlen((const char*)16));'})
    crash = host.wait_for(lambda e: e.get("type") == "crash", 30)[-1]
    assert "LibTorch, the torchclad engine or a thread pool" in crash["reason"]
    assert re.fullmatch(r"0x[0-9a-f]+ in libc\.so[.0-9]* \(the interrupted instruction\)", crash["unsafe_frame"]), crash
    assert host.proc.wait(timeout=30) == 128 + 11


def test_output_before_the_crash_arrives_and_the_address_is_named(host):
    reply, events = host.execute('printf("about to crash\\n");\nint* p = nullptr; *p = 1;')
    assert stdout_of(events) == "about to crash\n"
    assert "at address 0x0 " in reply["evalue"]


def test_a_failed_assertion_names_the_assertion(host):
    host.ok("int asserted = 7;")
    # ROOT's cling defines NDEBUG, which turns assert() off; a cell that
    # wants it undefines NDEBUG before <cassert>.
    reply, events = host.execute("#undef NDEBUG\n#include <cassert>\nassert(asserted == 8 && \"asserted changed\");")
    assert reply["status"] == "error" and reply["ename"] == "SIGABRT"
    assert "Assertion" in stderr_of(events)
    assert "asserted == 8" in reply["evalue"]
    assert host.ok('printf("%d\\n", asserted);') == "7\n"


def test_a_crash_while_printing_leaves_stdout_usable(host):
    # The fault is inside printf, which holds stdout's lock: the landing
    # releases it, or the next printf would block for ever.
    reply, _ = host.execute('printf("%s\\n", (const char*)16);')
    assert reply["ename"] == "SIGSEGV"
    assert host.ok('#include <thread>\nstd::thread([] { printf("from a thread\\n"); }).join();\n'
                   'printf("and the cell\\n");') == "from a thread\nand the cell\n"


def test_after_a_crash_in_an_initializer_roots_lock_is_free(host):
    # The initializer ran while ProcessLine held ROOT's lock: the landing
    # releases it, or another thread taking it would wait for ever.
    reply, _ = host.execute("double init_crash = *(volatile double*)nullptr;")
    assert reply["ename"] == "SIGSEGV"
    # (Each in a cell of statements only: this thread in a cell that also
    # declares a top-level variable deadlocks on ROOT's lock with or without
    # a crash before, a matter of cling's.)
    assert host.ok('#include <thread>\n'
                   'std::thread([] { printf("%s\\n", TClass::GetClass("TH1F")->GetName()); }).join();') == "TH1F\n"
    assert host.ok('{ ROOT::EnableImplicitMT(2); ROOT::RDataFrame frame(1000);\n'
                   '  printf("%g\\n", *frame.Define("x", "(double)rdfentry_").Sum<double>("x"));\n'
                   "  ROOT::DisableImplicitMT(); }") == "499500\n"
    assert host.ok("int declared_after(int a) { return 2 * a; }\n"
                   'double initialized_after = declared_after(3); printf("%g\\n", initialized_after);') == "6\n"


def test_crashes_again_and_again(host):
    host.ok("int rounds = 0;")
    for _ in range(5):
        reply, _ = host.execute("++rounds; int* p = nullptr; *p = rounds;")
        assert reply["ename"] == "SIGSEGV"
    assert host.ok('printf("%d\\n", rounds);') == "5\n"


# --- crashes the host cannot go on after ----------------------------------------


def crash(host, code, signal_name, exit_code):
    rid = host.new_id()
    host.send({"type": "execute", "id": rid, "code": code})
    seen = host.wait_for(lambda e: e.get("type") == "crash", 20)
    frame = seen[-1]
    assert frame["id"] == rid
    assert frame["signal_name"] == signal_name
    assert signal_name in frame["message"]
    assert frame["reason"] and frame["reason"] in frame["message"]
    assert frame["traceback"]
    assert host.proc.wait(10) == exit_code
    assert host.events.get(timeout=5) is None  # nothing after the crash frame
    return frame, [e for e in seen if e.get("id") == rid]


def test_a_crash_in_another_thread_ends_the_host_and_says_why(fresh_host):
    host = fresh_host()
    frame, events = crash(host, '#include <thread>\nprintf("about to crash\\n");\n'
                                "std::thread([] { *(volatile int*)nullptr = 1; }).join();", "SIGSEGV", 139)
    assert frame["address"] == "0x0"
    assert "thread other than the one that runs cells" in frame["reason"]
    assert "cannot go on" in frame["message"]
    assert any("interpreted code" in line for line in frame["traceback"])
    assert stdout_of(events) == "about to crash\n"  # output written before the crash is not lost


def test_a_corrupt_heap_ends_the_host_and_says_why(fresh_host):
    # glibc finds the double free inside free() and aborts there: the heap's
    # state is unknown, so the host does not jump out of it.
    host = fresh_host()
    frame, _ = crash(host, "#include <cstdlib>\nchar* twice = (char*)malloc(32);\nfree(twice);\nfree(twice);",
                     "SIGABRT", 134)
    assert "inside malloc/free" in frame["reason"]


def test_a_crash_the_host_cannot_go_on_after_kills_the_processes_cells_started(fresh_host):
    host = fresh_host()
    pid = int(host.ok('#include <unistd.h>\npid_t sleeper = fork();\n'
                      'if (sleeper == 0) { execlp("sleep", "sleep", "1000", (char*)nullptr); _exit(127); }\n'
                      'printf("%d\\n", sleeper);'))
    assert wait_until_ended([pid], timeout=0) == [pid]
    crash(host, "#include <thread>\nstd::thread([] { *(volatile int*)nullptr = 1; }).join();", "SIGSEGV", 139)
    assert wait_until_ended([pid]) == []
