"""A small client for torchclad-host's channel (PROTOCOL.md), used by the tests.

Spawns the host with two pipes (their numbers given by --in-fd/--out-fd) or a
socketpair (--fd), reads frames on a thread and queues them.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def host_binary() -> str:
    return os.environ.get("TORCHCLAD_HOST") or str(REPO / "build" / "cling-plugin" / "host" / "torchclad-host")


def encode(message) -> bytes:
    payload = message if isinstance(message, (bytes, bytearray)) else json.dumps(message).encode()
    return struct.pack(">I", len(payload)) + payload


class Host:
    def __init__(self, *args: str, env: dict | None = None, cwd: str | None = None, socket: bool = False):
        """Starts the host: two pipes (--in-fd/--out-fd), or one socketpair (--fd)."""
        child_env = dict(os.environ, **(env or {}))
        if not os.path.exists(host_binary()):
            raise FileNotFoundError(f"no torchclad-host at {host_binary()}: build it (scripts/build.sh) "
                                    "or set TORCHCLAD_HOST to the binary")
        if socket:
            import socket as _socket

            parent, child = _socket.socketpair()
            self._sock = parent
            self._req_w = self._ev_r = parent.fileno()
            child_fds = (child.fileno(),)
            fd_args = ["--fd", str(child.fileno())]
        else:
            self._sock = None
            req_r, self._req_w = os.pipe()
            self._ev_r, ev_w = os.pipe()
            child_fds = (req_r, ev_w)
            fd_args = ["--in-fd", str(req_r), "--out-fd", str(ev_w)]
        self.started = time.monotonic()
        # The host's own log (not cell output, which comes as stream events).
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [host_binary(), *fd_args, *args],
            pass_fds=child_fds,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=child_env,
            cwd=cwd,
            # As the bridge spawns it (detached): its own session and process
            # group, whose members the host kills when it ends.
            start_new_session=True,
        )
        if socket:
            child.close()
        else:
            os.close(req_r)
            os.close(ev_w)
        self.events: queue.Queue = queue.Queue()
        self.all_events: list = []
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self.hello = self.next_event(timeout=60)
        self.hello_seconds = time.monotonic() - self.started
        assert self.hello is not None, f"no hello; host log: {self.log_text()}"
        assert self.hello["type"] == "hello", self.hello

    def log_text(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    # -- frames ---------------------------------------------------------------
    def _read_exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = os.read(self._ev_r, n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def _read_loop(self):
        while True:
            head = self._read_exact(4)
            if head is None:
                self.events.put(None)
                return
            (n,) = struct.unpack(">I", head)
            payload = self._read_exact(n)
            if payload is None:
                self.events.put(None)
                return
            message = json.loads(payload.decode("utf-8"))
            message["_t"] = time.monotonic()
            self.all_events.append(message)
            self.events.put(message)

    def send(self, message) -> None:
        os.write(self._req_w, encode(message))

    def send_raw(self, data: bytes) -> None:
        os.write(self._req_w, data)

    def next_event(self, timeout: float = 30):
        return self.events.get(timeout=timeout)

    # -- requests -------------------------------------------------------------
    _counter = 0

    def new_id(self) -> str:
        Host._counter += 1
        return f"r{Host._counter}"

    def wait_for(self, predicate, timeout: float = 30):
        """Events until (and including) the first that satisfies predicate."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching event in {timeout} s; seen: {seen}")
            event = self.events.get(timeout=left)
            if event is None:
                raise EOFError(f"the host closed its channel; seen: {seen}")
            seen.append(event)
            if predicate(event):
                return seen

    def execute(self, code: str, timeout: float = 60, **fields):
        """Runs a cell; returns (reply, events of this request before it)."""
        rid = self.new_id()
        self.send({"type": "execute", "id": rid, "code": code, **fields})
        seen = self.wait_for(lambda e: e.get("type") == "execute_reply" and e.get("id") == rid, timeout)
        return seen[-1], [e for e in seen[:-1] if e.get("id") == rid]

    def ok(self, code: str, timeout: float = 60) -> str:
        """Runs a cell that must succeed; returns its stdout."""
        reply, events = self.execute(code, timeout)
        assert reply["status"] == "ok", (reply, events)
        return stdout_of(events)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send({"type": "shutdown", "id": "bye"})
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        # A host that crashed or was killed leaves its work directory.
        shutil.rmtree(self.hello.get("workdir", ""), ignore_errors=True)
        if self._sock is not None:
            self._sock.close()
            return
        for fd in (self._req_w, self._ev_r):
            try:
                os.close(fd)
            except OSError:
                pass


def process_ended(pid: int) -> bool:
    """True if pid is gone or a zombie (killed, not yet reaped by whoever adopted it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_until_ended(pids, timeout: float = 10) -> list:
    """The pids still running after timeout seconds (SIGKILL takes effect asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        running = [pid for pid in pids if not process_ended(pid)]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.05)


def stdout_of(events) -> str:
    return "".join(e["text"] for e in events if e.get("type") == "stream" and e["name"] == "stdout")


def stderr_of(events) -> str:
    return "".join(e["text"] for e in events if e.get("type") == "stream" and e["name"] == "stderr")
