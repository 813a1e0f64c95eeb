"""Small model files for library tests, written with safetensors' numpy API (no torch needed), and GGUF files."""

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


def write_q8_0_gguf(path: Path, arrays: dict[str, np.ndarray], arch: str) -> int:
    """``arrays`` written by the ``gguf`` package as city96's conversions are: 2-D weights of more than 1024 values
    whose rows hold whole 32-value blocks as Q8_0, the rest (biases, norms, pad tokens) as they are. Returns how
    many were quantized."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    quantized = 0
    for name, array in arrays.items():
        if array.ndim == 2 and array.size > 1024 and array.shape[-1] % 32 == 0:  # Q8_0 blocks hold 32 values
            writer.add_tensor(name, gguf.quants.quantize(array, gguf.GGMLQuantizationType.Q8_0),
                              raw_dtype=gguf.GGMLQuantizationType.Q8_0)
            quantized += 1
        else:
            writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return quantized
