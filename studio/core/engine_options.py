"""How the engine runs, as the window's Engine menu and the settings choose it, from the next generation on.

``backend``, ``openvino_weights`` and ``openvino_precision`` are checked with :mod:`studio.core.backends`.
``draft_decode``, int8 weights and OpenVINO's fast precision change pixels, so they are off by default and each
picture made with them says so in its recipe.
"""

from dataclasses import dataclass

from studio.core.backends import DEFAULT_OPENVINO_CACHE_GB, FP32, TORCH


@dataclass(frozen=True)
class EngineOptions:
    backend: str = TORCH  # "torch" or "openvino"
    draft_decode: bool = False  # the final decode by the tiny autoencoder (TAESD) instead of the VAE
    openvino_weights: str = FP32  # "fp32" or "int8" (NNCF weight compression), for the OpenVINO backend
    openvino_precision: str = FP32  # "fp32" or "fast" (bf16/fp16 where the hardware has it), for OpenVINO
    openvino_cache_gb: float = DEFAULT_OPENVINO_CACHE_GB  # the converted models' size limit on disk (0: none)
