# Loads libtorchclad_gw once (its TORCH_LIBRARY block registers
# torch.ops.torchclad_gw.*). ctest passes the built library in TORCHCLAD_GW_LIB.
import os
from pathlib import Path

import pytest
import torch

_DEFAULT_LIB = Path(__file__).resolve().parents[4] / "build" / "cling-plugin" / "gw" / "libtorchclad_gw.so"
LIB = Path(os.environ.get("TORCHCLAD_GW_LIB", _DEFAULT_LIB))


def pytest_configure(config):
    if not LIB.is_file():
        raise pytest.UsageError(
            f"libtorchclad_gw not found at {LIB}. Build the target torchclad_gw, "
            "or point TORCHCLAD_GW_LIB at the built libtorchclad_gw.so."
        )
    torch.ops.load_library(str(LIB))


@pytest.fixture(scope="session")
def gw():
    return torch.ops.torchclad_gw
