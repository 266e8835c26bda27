# Loads libtorchclad once for the whole suite (its TORCH_LIBRARY blocks
# register torch.ops.torchclad.*) and seeds every test.
import os
from pathlib import Path

import pytest
import torch

_DEFAULT_LIB = Path(__file__).resolve().parents[3] / "build" / "cling-plugin" / "libtorchclad.so"
LIB = Path(os.environ.get("TORCHCLAD_LIB", _DEFAULT_LIB))


def pytest_configure(config):
    # No skipping: a missing library is a setup error, reported once.
    if not LIB.is_file():
        raise pytest.UsageError(
            f"libtorchclad not found at {LIB}. Build it first (bash scripts/build.sh), "
            "or point TORCHCLAD_LIB at the built libtorchclad.so."
        )
    torch.ops.load_library(str(LIB))


@pytest.fixture(autouse=True)
def _seed():
    # Deterministic samples: gradcheck keeps ReLU inputs off the kink, and
    # that must not depend on test order.
    torch.manual_seed(0)
