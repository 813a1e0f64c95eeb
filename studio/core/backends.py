"""Which library runs the denoiser and the VAE: PyTorch (the default) or OpenVINO (CPUs and Intel GPUs), and the
precision of OpenVINO's weights: fp32 (PyTorch's pictures) or int8 (NNCF weight compression: smaller, other pixels).

Plain Python, so the CLI and the settings can check a choice before torch is imported.
"""

import importlib.util

from studio.core.errors import StudioError

TORCH = "torch"
OPENVINO = "openvino"
BACKENDS = (TORCH, OPENVINO)
OPENVINO_INSTALL = "pip install 'latent-studio[openvino]'"
FP32 = "fp32"
INT8 = "int8"
OPENVINO_WEIGHTS = (FP32, INT8)
# NNCF brings scipy and scikit-learn (~45 MB of wheels): its own extra, not part of "openvino".
INT8_INSTALL = "pip install 'latent-studio[openvino-int8]'"


def check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise StudioError(f"Unknown backend '{name}'; choose one of: {', '.join(BACKENDS)}.")
    return name


def check_openvino_weights(name: str) -> str:
    if name not in OPENVINO_WEIGHTS:
        raise StudioError(f"Unknown OpenVINO weights '{name}'; choose one of: {', '.join(OPENVINO_WEIGHTS)}.")
    return name


def openvino_installed() -> bool:
    """Without importing it (it takes a second)."""
    return importlib.util.find_spec("openvino") is not None


def nncf_installed() -> bool:
    """NNCF compresses OpenVINO's weights to int8 (only when converting: a cached int8 model runs without it)."""
    return importlib.util.find_spec("nncf") is not None
