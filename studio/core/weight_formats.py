"""The number format of a ``.safetensors`` checkpoint's weights, from its header alone (dtypes and key names).

- ``plain``: float32, float16 or bfloat16.
- ``fp8``: ``F8_E4M3`` (float8_e4m3fn, the common "fp8" Flux and SDXL files) or ``F8_E5M2`` weights. They load
  through the ordinary single-file path, each weight upcast to the run's dtype (so in memory they take what the
  fp16/bf16 model takes; the file is half the size).
- ``scaled fp8``: ComfyUI's ``*_scaled`` files: fp8 weights, each with a ``scale_weight`` it must be multiplied by.
  diffusers has no converter for them, and upcasting without the scales gives wrong weights: refused.
- ``bitsandbytes 4-bit`` (NF4 or FP4): packed ``uint8`` weights with ``absmax``/``quant_map`` entries and a
  ``quant_state.bitsandbytes__nf4`` per weight. diffusers loads them through its bitsandbytes quantizer, which
  needs the ``bitsandbytes`` package and a GPU, and only in diffusers' own key layout (Forge's whole-checkpoint
  NF4 files in the original layout fuse and pack weights that diffusers' converter would have to split).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import Enum

from studio.core.model_header import Header

FP8_DTYPES = {"F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}  # safetensors' names -> torch's
_BNB_STATE = ".quant_state.bitsandbytes__"
_SCALED_FP8 = ("scaled_fp8", ".scale_weight")
_ORIGINAL_PREFIXES = ("model.diffusion_model.", "double_blocks.", "single_blocks.", "first_stage_model.",
                      "cond_stage_model.", "conditioner.")


class WeightFormat(str, Enum):
    PLAIN = "plain"
    FP8 = "fp8"
    SCALED_FP8 = "scaled fp8"
    BNB_4BIT = "bitsandbytes 4-bit"


@dataclass(frozen=True)
class StoredFormat:
    format: WeightFormat
    kind: str = ""  # fp8: torch's dtype name ("float8_e4m3fn"); bitsandbytes: its quant type ("nf4", "fp4")
    diffusers_layout: bool = True  # the keys are diffusers' own module names, not the original layout's


def stored_format(header: Header) -> StoredFormat:
    keys = header.shapes.keys()
    diffusers_layout = not any(key.startswith(_ORIGINAL_PREFIXES) for key in keys)
    bnb = next((key.rsplit(_BNB_STATE, 1)[1] for key in keys if _BNB_STATE in key), None)
    if bnb is not None:
        return StoredFormat(WeightFormat.BNB_4BIT, bnb, diffusers_layout)
    fp8 = Counter(FP8_DTYPES[dtype] for dtype in header.dtypes.values() if dtype in FP8_DTYPES)
    if not fp8:
        return StoredFormat(WeightFormat.PLAIN, diffusers_layout=diffusers_layout)
    if any(key == _SCALED_FP8[0] or key.endswith(_SCALED_FP8[1]) for key in keys):
        return StoredFormat(WeightFormat.SCALED_FP8, fp8.most_common(1)[0][0], diffusers_layout)
    return StoredFormat(WeightFormat.FP8, fp8.most_common(1)[0][0], diffusers_layout)
