"""The torchclad JupyterLab extension (prebuilt): a MIME renderer for training telemetry.

The JavaScript is in labextension/ (built by `pip install`); JupyterLab finds it
in share/jupyter/labextensions/@torchclad/lab-extension, where the wheel puts it.
"""
try:
    from ._version import __version__
except ImportError:  # a source tree that was never built
    __version__ = "dev"


def _jupyter_labextension_paths():
    # For `jupyter labextension develop`: where the build output is and its name.
    return [{"src": "labextension", "dest": "@torchclad/lab-extension"}]
