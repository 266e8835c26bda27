import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from host_client import Host  # noqa: E402

# Short grace period: forced interrupts come 0.5 s after the request.
HOST_ARGS = ("--interrupt-grace", "0.5")


@pytest.fixture(scope="module")
def host():
    """One host for a module's tests: they also check that it stays usable."""
    h = Host(*HOST_ARGS)
    yield h
    h.close()


@pytest.fixture
def fresh_host():
    hosts = []

    def make(*args, **kwargs):
        h = Host(*(HOST_ARGS + args), **kwargs)
        hosts.append(h)
        return h

    yield make
    for h in hosts:
        h.close()
