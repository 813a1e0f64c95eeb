"""Which library runs the denoiser and the VAE: PyTorch (the default) or OpenVINO (CPUs and Intel GPUs).

Plain Python, so the CLI and the settings can check a choice before torch is imported.
"""

import importlib.util

from studio.core.errors import StudioError

TORCH = "torch"
OPENVINO = "openvino"
BACKENDS = (TORCH, OPENVINO)
OPENVINO_INSTALL = "pip install 'latent-studio[openvino]'"


def check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise StudioError(f"Unknown backend '{name}'; choose one of: {', '.join(BACKENDS)}.")
    return name


def openvino_installed() -> bool:
    """Without importing it (it takes a second)."""
    return importlib.util.find_spec("openvino") is not None
