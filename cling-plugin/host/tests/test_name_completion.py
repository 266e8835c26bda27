"""Completing a plain name (`gSys`, `THn`, `Double`) offers what ROOT's prompt
offers, from a list a child process writes once per ROOT installation
(root_names.hpp), and never loads ROOT's list of globals into the host: once
loaded, every later cell is slower."""
import os
import subprocess
import time
from pathlib import Path

import pytest

from test_protocol import complete

GLOBALS_LOADED = 'printf("%d\\n", (int)((TListOfDataMembers*)gROOT->GetListOfGlobals())->IsLoaded());'


def cached_lists(cache: Path) -> list:
    return sorted((cache / "torchclad").glob("root-names-*.txt"))


def complete_until(host, code, wanted, timeout=60):
    """The first completion that offers all of `wanted`: ROOT's names come
    from a child process, and a completion does not wait for it."""
    deadline = time.monotonic() + timeout
    while True:
        reply = complete(host, code)
        if set(wanted) <= set(reply["matches"]) or time.monotonic() > deadline:
            return reply
        time.sleep(0.2)


def test_plain_names_complete_as_roots_prompt_does(fresh_host, tmp_path):
    host = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    host.ok("int plain_name_target = 1;")
    assert {"gSystem"} <= set(complete(host, "gSys")["matches"])
    assert {"gROOT", "gRandom"} <= set(complete(host, "gR")["matches"])
    assert {"THnD", "THnF", "THnSparseD"} <= set(complete_until(host, "THn", {"THnD"})["matches"])  # typedefs
    assert {"Double_t", "Double32_t"} <= set(complete(host, "Double")["matches"])
    assert "priority_queue" in complete(host, "x = pri")["matches"]  # std's, as `using namespace std` has it
    assert complete(host, "int y = plain_name_ta")["matches"] == ["plain_name_target"]
    assert complete(host, "zzz_nothing_like_this")["matches"] == []
    assert len(cached_lists(tmp_path)) == 1
    assert host.ok(GLOBALS_LOADED) == "0\n"


def test_the_cached_list_is_reused_and_a_broken_one_is_replaced(fresh_host, tmp_path):
    first = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    assert "THnD" in complete_until(first, "THn", {"THnD"})["matches"]
    [cached] = cached_lists(tmp_path)
    # Unsorted, with a name only this file has: the next host reads it as it is.
    cached.write_text("zzFromTheCache\n" + cached.read_text())
    second = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    assert complete(second, "zzFrom")["matches"] == ["zzFromTheCache"]
    assert "gSystem" in complete(second, "gSys")["matches"]
    # An empty file (a full disk, an interrupted write) is listed again.
    cached.write_text("")
    third = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    assert "THnD" in complete_until(third, "THn", {"THnD"})["matches"]
    assert "THnD" in cached.read_text().split()


def test_completion_without_a_writable_cache(fresh_host, tmp_path):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    host = fresh_host(env={"XDG_CACHE_HOME": str(blocked)})
    assert "THnD" in complete_until(host, "THn", {"THnD"})["matches"]
    assert "gSystem" in complete(host, "gSys")["matches"]
    assert host.ok('printf("still here\\n");') == "still here\n"


def test_member_and_scope_completion_do_not_load_the_globals(fresh_host, tmp_path):
    host = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    host.ok('TH1F name_completion_h("h", "h", 10, 0, 1);')
    assert "Fill" in complete(host, "name_completion_h.Fi")["matches"]
    assert "vector" in complete(host, "std::vec")["matches"]
    assert host.ok(GLOBALS_LOADED) == "0\n"


def test_members_of_a_chain_and_their_signatures_without_running_it(fresh_host, tmp_path):
    host = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    host.ok('struct ChainHolder { TH1F hist{"ch", "ch", 10, 0, 1}; int calls = 0; TH1F& get() { ++calls; return hist; } };\n'
            'ChainHolder holder; int plain_int = 1;')
    assert {"SetRange", "SetTitle"} <= set(complete(host, "holder.hist.GetXaxis()->Set")["matches"])
    assert "Fill" in complete(host, "holder.get().Fi")["matches"]
    assert "Gaus" in complete(host, "double r = gRandom->Ga")["matches"]
    reply = complete(host, "holder.hist.GetXaxis()->SetRange(")
    assert reply["matches"] == [] and "void SetRange(Int_t first = 0, Int_t last = 0)" in reply["signatures"]
    assert "Int_t Fill(Double_t x)" in complete(host, "holder.hist.Fill(")["signatures"]
    # Nothing to offer on an int; a call in the chain is never run.
    assert complete(host, "plain_int.")["matches"] == []
    assert host.ok('printf("%d\\n", holder.calls);') == "0\n"
    assert host.ok(GLOBALS_LOADED) == "0\n"


def test_variables_of_a_namespace_a_cell_uses(fresh_host, tmp_path):
    host = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    host.ok('namespace usedns { TH1F used_hist("used_hist", "", 10, -3, 3); }\nusing namespace usedns;')
    assert {"GetMean", "GetMeanError"} <= set(complete(host, "used_hist.GetMe")["matches"])
    assert "Int_t Fill(Double_t x)" in complete(host, "used_hist.Fill(")["signatures"]
    rid = host.new_id()
    host.send({"type": "inspect", "id": rid, "code": "used_hist", "cursor_pos": 4, "detail_level": 0})
    reply = host.wait_for(lambda e: e.get("id") == rid and e["type"] == "inspect_reply")[-1]
    assert reply["found"] is True
    assert reply["data"]["text/plain"].startswith("TH1F used_hist\n")
    # A directive inside a string or a comment names nothing.
    host.ok('const char* not_a_directive = "using namespace nowhere;"; // using namespace neither;')
    assert complete(host, "used_hist.GetMeanE")["matches"] == ["GetMeanError"]


def test_a_broken_or_hostile_cache_is_never_trusted(fresh_host, tmp_path):
    first = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    assert "THnD" in complete_until(first, "THn", {"THnD"})["matches"]
    [cached] = cached_lists(tmp_path)
    # Lines that are no identifiers are dropped (a symlink to /etc/passwd,
    # binary bytes, a NUL).
    cached.write_bytes(b"root:x:0:0:root:/root:/bin/bash\nTHn\0NUL\n\xff\xfe\nzzGoodName\n")
    second = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    assert complete(second, "zz")["matches"] == ["zzGoodName"]
    assert all(":" not in m for m in complete(second, "roo")["matches"])
    assert all("\0" not in m for m in complete(second, "THn")["matches"])
    # A FIFO (reading it would block) and a directory: listed again, and
    # the completion answers at once.
    for kind in ("fifo", "directory"):
        if cached.is_dir():
            os.rmdir(cached)
        elif os.path.lexists(cached):
            cached.unlink()
        os.mkfifo(cached) if kind == "fifo" else cached.mkdir()
        host = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
        started = time.monotonic()
        assert "gSystem" in complete(host, "gSys")["matches"]
        assert time.monotonic() - started < 10, kind
        assert "THnD" in complete_until(host, "THn", {"THnD"})["matches"], kind
        assert host.ok('printf("alive\\n");') == "alive\n"


LISTER_PRELOAD = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void init(void) {
  FILE* f = fopen("/proc/self/cmdline", "r");
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
    if (!strcmp(buf + i, "--list-root-names")) {
      if (!strcmp(getenv("LISTER"), "hang")) for (;;) pause();
      _exit(3);
    }
}
"""


@pytest.mark.parametrize("lister", ["hang", "fail"])
def test_a_lister_that_hangs_or_fails_blocks_nothing(fresh_host, tmp_path, lister):
    source = tmp_path / "lister_preload.c"
    source.write_text(LISTER_PRELOAD)
    library = tmp_path / "lister_preload.so"
    subprocess.run(["clang-19", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    host = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "LD_PRELOAD": str(library),
                           "LISTER": lister})
    started = time.monotonic()
    reply = complete(host, "gSys")
    assert "gSystem" in reply["matches"]  # ROOT's globals the host knows itself
    assert time.monotonic() - started < 10
    assert host.ok('printf("cells run\\n");') == "cells run\n"
    if lister == "fail":
        deadline = time.monotonic() + 30
        while "failed (exit status 3)" not in host.log_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "the process that lists ROOT's names failed (exit status 3)" in host.log_text()
    assert cached_lists(tmp_path / "cache") == []


def test_file_names_still_complete_as_roots_prompt_does(fresh_host, tmp_path):
    host = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    macro = tmp_path / "completion_macro_file.C"
    macro.write_text("void completion_macro_file() {}\n")
    assert any(m.endswith(".h") for m in complete(host, "#include <TH1")["matches"])
    assert any("completion_macro_file.C" in m for m in complete(host, f".L {tmp_path}/completion_macro_fi")["matches"])
    assert any("completion_macro_file.C" in m
               for m in complete(host, f'TFile f("{tmp_path}/completion_macro_fi')["matches"])
    # A chain's continuation line is no meta-command.
    assert complete(host, "  .Fil")["matches"] == []
    assert host.ok(GLOBALS_LOADED) == "0\n"


def test_a_call_inside_a_call_does_not_load_the_globals(fresh_host, tmp_path):
    host = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    host.ok('TH1F nested_call_h("nch", "", 10, 0, 1);')
    complete(host, "nested_call_h.Fill((")
    complete(host, "x = ((")
    assert host.ok(GLOBALS_LOADED) == "0\n"


def test_completing_inside_a_title_string_does_not_load_the_globals(fresh_host, tmp_path):
    # As in ROOT's own tutorials: a completion inside a histogram's title.
    host = fresh_host(env={"XDG_CACHE_HOME": str(tmp_path)})
    assert complete(host, 'TH1D h1d("h1d", "Test ra')["matches"] == []
    assert host.ok(GLOBALS_LOADED) == "0\n"
