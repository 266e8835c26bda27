"""One version, from one place: the root package.json. The workspaces, their
dependencies on each other, the C++ build (CMake's project version, compiled
into the tools) and the kernel's kernel_info all say the same."""
import json
import pathlib
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]
VERSION = json.loads((REPO / "package.json").read_text())["version"]


def test_every_workspace_has_the_root_version():
    for ws in json.loads((REPO / "package.json").read_text())["workspaces"]:
        package = json.loads((REPO / ws / "package.json").read_text())
        assert package["version"] == VERSION, ws
        for dep, want in {**package.get("dependencies", {}), **package.get("devDependencies", {})}.items():
            if dep.startswith("@torchclad/"):
                assert want == VERSION, f"{ws} depends on {dep} {want}"


def test_the_cpp_build_and_the_kernel_report_it(tmp_path):
    cache = (REPO / "build" / "cling-plugin" / "CMakeCache.txt").read_text()
    assert f"CMAKE_PROJECT_VERSION:STATIC={VERSION}" in cache
    gwsim = REPO / "build" / "cling-plugin" / "gw" / "torchclad-gwsim"
    out = subprocess.run([str(gwsim), "--out", str(tmp_path / "w.root"), "--train", "2", "--test", "2"],
                         capture_output=True, text=True, timeout=60)
    assert f"torchclad-gw {VERSION}" in out.stdout + out.stderr
    kernel = subprocess.run(["node", str(REPO / "kernel-bridge" / "dist" / "main.js"), "--version"],
                            capture_output=True, text=True, timeout=60)
    assert kernel.stdout.strip().endswith(VERSION), kernel.stdout
