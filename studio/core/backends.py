"""Which library runs the denoiser and the VAE: PyTorch (the default) or OpenVINO (CPUs and Intel GPUs).

Plain Python, so the CLI and the settings can check a choice before torch is imported.
"""

import importlib
import importlib.util

from studio.core.errors import StudioError

TORCH = "torch"
OPENVINO = "openvino"
BACKENDS = (TORCH, OPENVINO)
OPENVINO_INSTALL = "Engine › Install OpenVINO… in the window, or `studio setup --openvino`"


def check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise StudioError(f"Unknown backend '{name}'; choose one of: {', '.join(BACKENDS)}.")
    return name


def openvino_installed() -> bool:
    """Without importing it (it takes a second). The import system's caches are refreshed first, so OpenVINO
    installed while the app runs (Engine › Install OpenVINO…, the set-up) is found, and then imported, at once."""
    importlib.invalidate_caches()
    return importlib.util.find_spec("openvino") is not None
