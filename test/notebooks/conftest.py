"""Every notebook test runs this checkout's kernel (bridge and host), not the
one a kernelspec installed elsewhere names: the kernelspec is installed once
per session into a temporary directory put first on JUPYTER_PATH. The
kernel's PATH starts with this Python's directory, as `npm start` does."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def this_checkouts_kernel(tmp_path_factory):
    kernels = tmp_path_factory.mktemp("kernelspec")
    env = dict(os.environ, JUPYTER_DATA_DIR=str(kernels))
    subprocess.run(["bash", str(REPO / "scripts" / "install-kernelspec.sh")], check=True, cwd=REPO, env=env,
                   stdout=subprocess.DEVNULL)
    spec = kernels / "kernels" / "torchclad" / "kernel.json"
    assert spec.is_file(), f"install-kernelspec.sh wrote no {spec}"
    assert str(REPO / "kernel-bridge") in spec.read_text(), f"{spec} names another checkout's kernel"
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "PATH")}
    os.environ["JUPYTER_PATH"] = str(kernels) + ("" if saved["JUPYTER_PATH"] is None else os.pathsep + saved["JUPYTER_PATH"])
    # cells that run python3 (pretrained.ipynb) get this environment's, as `npm start` gives them
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + (saved["PATH"] or "")
    yield spec
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k)
        else:
            os.environ[k] = v
