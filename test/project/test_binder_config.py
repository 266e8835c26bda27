"""The Binder configuration, checked statically (no Docker here): repo2docker
reads binder/ and picks the Dockerfile; the image builds Clad with the
setup's own script, uses the CPU-only torch wheel at the pinned version,
runs the setup command without its apt step (the image installs those
packages), and leaves nothing of the local checkout's build in the context."""
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "binder" / "Dockerfile"


def repo2docker_dockerfile():
    r2d = pathlib.Path(sys.executable).parent / "repo2docker"
    out = subprocess.run([str(r2d), "--no-build", "--no-run", "--debug", str(REPO)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout + out.stderr


def test_repo2docker_uses_the_binder_dockerfile():
    text = repo2docker_dockerfile()
    assert "FROM node:20-bookworm" in text
    assert "bash scripts/build-clad.sh" in text and "bash scripts/setup.sh" in text


def test_the_image_installs_what_setup_needs_and_runs_as_uid_1000():
    docker = DOCKERFILE.read_text()
    setup = (REPO / "scripts" / "setup.sh").read_text()
    apt = re.search(r"APT_PACKAGES=\(([^)]*)\)", setup).group(1).split()
    installed = re.search(r"apt-get install[^\n]*\\\n((?:.*\\\n)*.*)", docker).group(1)
    # The browser and the C++ formatter serve the tests only, which the image does not run.
    test_only = {"chromium", "clang-format-19"}
    missing = [p for p in apt if p not in test_only and p not in installed.split()]
    assert not missing, f"the image lacks the setup's packages {missing}"
    assert "ARG NB_UID=1000" in docker and "USER ${NB_USER}" in docker
    assert "TORCHCLAD_SETUP_APT=0" in docker


def test_torch_comes_from_the_cpu_index_at_the_pinned_version():
    docker = DOCKERFILE.read_text()
    assert "TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in docker
    setup = (REPO / "scripts" / "setup.sh").read_text()
    assert re.search(r"--index-url \"\$TORCH_INDEX_URL\" \"\$torch_pin\"", setup)
    pins = [l for l in (REPO / "requirements.txt").read_text().splitlines() if l.startswith("torch==")]
    assert len(pins) == 1


def test_local_build_products_stay_out_of_the_image():
    ignored = (REPO / ".dockerignore").read_text().split()
    for d in (".venv", "build", "node_modules"):
        assert d in ignored or f"/{d}" in ignored or f"**/{d}" in ignored, d


def test_the_setup_stops_clearly_without_a_clad_source(tmp_path):
    # Neither CLAD_SOURCE nor a reachable clone: a message that says what to do.
    env = {"PATH": "/usr/bin:/bin", "CLAD_DIR": str(tmp_path / "clad"),
           "CLAD_REPO": str(tmp_path / "no-such-repo"), "HOME": str(tmp_path)}
    out = subprocess.run(["bash", str(REPO / "scripts" / "build-clad.sh")], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "CLAD_SOURCE is not set, and cloning" in out.stderr
    assert "CLAD_SOURCE=/path/to/clad bash scripts/setup.sh" in out.stderr
    assert not (tmp_path / "clad").exists()
