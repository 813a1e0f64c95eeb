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
# The size limit of OpenVINO's converted models on disk (GB; 0: none). One SD 1.5 set (UNet, VAE, text encoder,
# each with a compiled blob for one size) takes about 9 GB and an SDXL one about 28 GB: 20 GB keeps two SD 1.5
# model or LoRA sets, so switching between two does not convert again, and evicts past that.
DEFAULT_OPENVINO_CACHE_GB = 20.0


def check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise StudioError(f"Unknown backend '{name}'; choose one of: {', '.join(BACKENDS)}.")
    return name


def openvino_installed() -> bool:
    """Without importing it (it takes a second). The import system's caches are refreshed first, so OpenVINO
    installed while the app runs (Engine › Install OpenVINO…, the set-up) is found, and then imported, at once."""
    importlib.invalidate_caches()
    return importlib.util.find_spec("openvino") is not None
