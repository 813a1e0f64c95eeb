"""Which library runs the denoiser and the VAE: PyTorch (the default) or OpenVINO (CPUs and Intel GPUs), the
precision of OpenVINO's weights: fp32 (PyTorch's pictures) or int8 (NNCF weight compression: smaller, other pixels),
and the precision it computes in: fp32 (PyTorch's pictures) or "fast" (what the hardware computes fastest: bf16 on
CPUs with AMX or AVX-512 BF16, fp16 on Intel GPUs, fp32 elsewhere; other pixels where it is not fp32).

Plain Python, so the CLI and the settings can check a choice before torch is imported.
"""

import importlib
import importlib.util

from studio.core.errors import StudioError

TORCH = "torch"
OPENVINO = "openvino"
BACKENDS = (TORCH, OPENVINO)
# What OpenVINO gains on a CPU, as the window and the set-up say it (README, Benchmarks: whole runs of the SD 1.5
# architecture at 512x512, 20 steps, on a 2-core Xeon with AMX, against the app's PyTorch path).
OPENVINO_GAIN = ("in fp32 about as fast as PyTorch, with the same pictures; in its fast precision, on CPUs that "
                 "compute bf16, about 3x faster, with slightly different pictures")
OPENVINO_INSTALL = "Engine › Install OpenVINO… in the window, or `studio setup --openvino`"
# The size limit of OpenVINO's converted models on disk (GB; 0: none). One SD 1.5 set (UNet, VAE, text encoder)
# takes about 4 GB and an SDXL one about 14 GB (on a GPU, compiled blobs about as large come with each size and
# precision): 20 GB keeps four SD 1.5 model or LoRA sets, or an SDXL and an SD 1.5 one, so switching between them
# does not convert again, and evicts past that.
DEFAULT_OPENVINO_CACHE_GB = 20.0
FP32 = "fp32"
INT8 = "int8"
OPENVINO_WEIGHTS = (FP32, INT8)
FAST = "fast"
OPENVINO_PRECISIONS = (FP32, FAST)
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


def check_openvino_precision(name: str) -> str:
    if name not in OPENVINO_PRECISIONS:
        raise StudioError(f"Unknown OpenVINO precision '{name}'; choose one of: {', '.join(OPENVINO_PRECISIONS)}.")
    return name


def openvino_installed() -> bool:
    """Without importing it (it takes a second). The import system's caches are refreshed first, so OpenVINO
    installed while the app runs (Engine › Install OpenVINO…, the set-up) is found, and then imported, at once."""
    importlib.invalidate_caches()
    return importlib.util.find_spec("openvino") is not None


def nncf_installed() -> bool:
    """NNCF compresses OpenVINO's weights to int8 (only when converting: a cached int8 model runs without it)."""
    return importlib.util.find_spec("nncf") is not None
