"""What the kernel benchmarks share: a kernel started as a notebook server
starts it (jupyter_client), and cells timed one after another, from
execute_request sent to status idle received."""
import contextlib
import os
import time

from jupyter_client.manager import KernelManager


@contextlib.contextmanager
def running_kernel(kernel: str = "torchclad", env: dict | None = None, **start_options):
    """Yields (client, seconds from the start to the first kernel_info_reply);
    shuts the kernel down afterwards. env: added to this process's environment."""
    km = KernelManager(kernel_name=kernel)
    t0 = time.perf_counter()
    km.start_kernel(env={**os.environ, **(env or {})}, **start_options)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)  # sends kernel_info_request, waits for the reply
        yield kc, time.perf_counter() - t0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def time_calls(call, runs: int) -> list:
    """Milliseconds of each of runs calls; call() returns the reply's content,
    whose status must be ok."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        reply = call()
        times.append((time.perf_counter() - t) * 1e3)
        assert reply["status"] == "ok", reply
    return times


def time_cells(kc, code: str, runs: int) -> list:
    """Round trip of each of runs cells of code, in ms."""
    return time_calls(lambda: kc.execute_interactive(code, timeout=30, output_hook=lambda msg: None)["content"], runs)
