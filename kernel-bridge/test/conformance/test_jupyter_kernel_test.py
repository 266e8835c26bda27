"""jupyter_kernel_test (the Jupyter project's kernel conformance tests) against
the torchclad kernel as Jupyter starts it: the kernelspec is installed by
scripts/install-kernelspec.sh into a temporary directory, first on
JUPYTER_PATH (the .venv's own is left alone), and jupyter_client starts the kernel from it (bridge and
real kernel host of this checkout)."""

import os
import subprocess
import tempfile
import unittest
from pathlib import Path

import jupyter_kernel_test

REPO = Path(__file__).resolve().parents[3]
HOST = Path(os.environ.get("TORCHCLAD_HOST") or REPO / "build" / "cling-plugin" / "host" / "torchclad-host")
BRIDGE = REPO / "kernel-bridge" / "dist" / "main.js"

_data_dir = tempfile.TemporaryDirectory(prefix="torchclad-kernelspec-")


def setUpModule():
    for path, how in ((HOST, "build the kernel host (scripts/build.sh)"),
                      (BRIDGE, "build the bridge (npm run build --workspace kernel-bridge)")):
        if not path.exists():
            raise RuntimeError(f"{path} is missing: {how}")
    os.environ["JUPYTER_DATA_DIR"] = _data_dir.name
    # First on Jupyter's search path: in a virtualenv the .venv's own
    # share/jupyter comes before JUPYTER_DATA_DIR (JUPYTER_PREFER_ENV_PATH).
    os.environ["JUPYTER_PATH"] = _data_dir.name
    subprocess.run(["bash", str(REPO / "scripts" / "install-kernelspec.sh")], check=True, cwd=REPO,
                   env=dict(os.environ), stdout=subprocess.DEVNULL)


def tearDownModule():
    _data_dir.cleanup()


class TorchcladKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "torchclad"
    language_name = "C++"  # language_info.name (JupyterLab highlights C++ by it)
    file_extension = ".cpp"

    code_hello_world = 'printf("hello, world\\n");'
    code_stderr = 'fprintf(stderr, "to stderr\\n");'

    completion_samples = [
        {"text": "std::vecto", "matches": {"vector"}},
        {"text": "gROOT->GetListOfCanv", "matches": {"GetListOfCanvases"}},  # a member, through a variable's type
    ]

    complete_code_samples = ["int x = 1;", "x", "void f() {}", "#include <vector>"]
    incomplete_code_samples = ["void f() {", "int y = (1 +", 'auto s = R"(raw', "/* comment"]
    invalid_code_samples = ["int z = 1; }", "%%nosuchmagic"]

    code_generate_error = 'throw std::runtime_error("conformance");'

    code_execute_result = [
        {"code": "6 * 7", "result": "(int) 42"},
        {"code": 'std::string("clad")', "result": '(std::string) "clad"'},
        {"code": "double answer = 4.25;\nanswer * 2", "result": "(double) 8.5000000"},
    ]

    code_display_data = [
        {"code": 'auto conformance_c = new TCanvas("conformance_c", "", 300, 200);\n'
                 'TH1F conformance_hist("conformance_hist", "", 5, 0, 5);\nconformance_hist.Draw();',
         "mime": "application/vnd.torchclad.root+json"},
        {"code": 'conformance_c->SetGrid(); conformance_c->Modified(); conformance_c->Update();',
         "mime": "image/png"},
    ]

    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6 * 7*"

    code_inspect_sample = "TH1F"


if __name__ == "__main__":
    unittest.main()
