"""Checkpoints in fp8, bitsandbytes 4-bit (NF4) and GGUF: what loads here, and diffusers' quantization config.

What a file is comes from its header (``core.weight_formats``, ``gguf_files``). fp8 needs nothing: diffusers
upcasts each weight to the run's dtype as it loads. GGUF goes through diffusers' GGUF quantizer (kept quantized,
dequantized per layer). bitsandbytes 4-bit goes through diffusers' bitsandbytes quantizer, which needs the
``bitsandbytes`` package and a CUDA GPU; without them, or for a layout diffusers cannot read, one sentence.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import torch

from studio.core.errors import StudioError
from studio.core.model_header import read_header
from studio.core.weight_formats import StoredFormat, WeightFormat, stored_format
from studio.engine.gguf_files import GGUF_SUFFIX

log = logging.getLogger(__name__)

NF4_NEEDS = ("'{name}' holds bitsandbytes-quantized ({kind}) weights: loading them needs an NVIDIA GPU with CUDA and "
             "the bitsandbytes package (pip install 'latent-studio[nf4]'); a GGUF file of the same model (Q4_K_S is about "
             "as small) loads on any machine.")
NF4_LAYOUT = ("'{name}' is a bitsandbytes 4-bit checkpoint in the original (Forge) layout, which diffusers cannot "
              "load; use a GGUF file of the same model (Q4_K_S is about as small) or its fp8 or fp16 file.")
SCALED_FP8 = ("'{name}' is a scaled fp8 checkpoint (ComfyUI's, with a scale for each weight), which diffusers cannot "
              "load; use the model's plain fp8, fp16 or GGUF file.")


def file_format(path: Path) -> StoredFormat:
    """The weights' format of a ``.safetensors`` file (GGUF files and pickles: plain, they say nothing here)."""
    if Path(path).suffix.lower() != ".safetensors":
        return StoredFormat(WeightFormat.PLAIN)
    return stored_format(read_header(path))


def check_file(path: Path) -> StoredFormat:
    """``path``'s format; raises :class:`StudioError` for one that cannot load on this machine."""
    found = file_format(path)
    name = Path(path).name
    if found.format is WeightFormat.SCALED_FP8:
        raise StudioError(SCALED_FP8.format(name=name))
    if found.format is WeightFormat.BNB_4BIT:
        if not found.diffusers_layout:
            raise StudioError(NF4_LAYOUT.format(name=name))
        check_bitsandbytes(name, found.kind)
    if found.format is WeightFormat.FP8:
        log.info("%s stores its weights in %s; they are upcast as they load", name, found.kind)
    return found


def check_bitsandbytes(name: str, kind: str = "nf4") -> None:
    """Raises the sentence of what bitsandbytes weights need unless this machine has it."""
    if importlib.util.find_spec("bitsandbytes") is None or not torch.cuda.is_available():
        raise StudioError(NF4_NEEDS.format(name=name, kind=kind.upper()))


def quantization_config(path: Path, compute_dtype):
    """diffusers' quantization config for a single file: GGUF for ``.gguf``, bitsandbytes for 4-bit files, None
    for the others (plain and fp8 weights load as they are)."""
    if Path(path).suffix.lower() == GGUF_SUFFIX:
        from diffusers import GGUFQuantizationConfig

        return GGUFQuantizationConfig(compute_dtype=compute_dtype)
    found = file_format(path)
    if found.format is not WeightFormat.BNB_4BIT:
        return None
    from diffusers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=found.kind, bnb_4bit_compute_dtype=compute_dtype)
