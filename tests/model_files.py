"""Small model files for library tests, written with safetensors' numpy API (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file


def write_safetensors(path: Path, tensors: dict[str, tuple[int, ...]], metadata: dict[str, str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(tensors))
    save_file({k: np.asarray(rng.standard_normal(shape), dtype=np.float32) for k, shape in tensors.items()}, str(path), metadata)
    return path


def kohya_lora_shapes(width: int = 768, te: tuple[str, ...] = ("lora_te",)) -> dict[str, tuple[int, ...]]:
    """A kohya-layout LoRA's keys: one UNet cross-attention projection and one text-encoder projection per ``te``."""
    shapes = {
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": (4, width),
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": (320, 4),
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": (),
    }
    for prefix in te:
        shapes[f"{prefix}_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"] = (4, width)
        shapes[f"{prefix}_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight"] = (width, 4)
    return shapes


def tag_frequency(**tags: int) -> dict[str, str]:
    return {"ss_tag_frequency": json.dumps({"10_dataset": tags})}
