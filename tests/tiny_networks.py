"""LoRA and textual-inversion files for tiny pipelines, in the layouts real files use.

:func:`kohya_lora` writes a LoRA in the kohya/A1111 key layout (``lora_unet_<module path with _>``,
``lora_te_`` or ``lora_te1_``/``lora_te2_`` for SDXL's two text encoders, ``.lora_down``/``.lora_up``/``.alpha``),
with shapes read from the pipeline's own modules, so it fits that pipeline and no other. Text-encoder keys carry
``text_model_`` as real files do (transformers 5's CLIP has no ``text_model`` attribute; diffusers strips it).
Each patched text-encoder layer has its ``out_proj`` too: diffusers only recognises the old key layout by it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

UNET_TARGETS = ("attn1.to_q", "attn1.to_k", "attn2.to_k", "attn2.to_v", "attn1.to_out.0")
TEXT_TARGETS = ("self_attn.q_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1")


def kohya_lora(pipe, path: Path, *, seed: int = 1, rank: int = 4, scale: float = 0.5,
               text_encoders: bool = True, metadata: dict[str, str] | None = None) -> Path:
    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}

    def add(prefix: str, name: str, module: torch.nn.Linear) -> None:
        key = prefix + name.replace(".", "_")
        tensors[f"{key}.lora_down.weight"] = torch.randn(rank, module.in_features, generator=generator) * scale
        tensors[f"{key}.lora_up.weight"] = torch.randn(module.out_features, rank, generator=generator) * scale
        tensors[f"{key}.alpha"] = torch.tensor(float(rank))

    for name, module in pipe.unet.named_modules():
        if name.endswith(UNET_TARGETS) and isinstance(module, torch.nn.Linear):
            add("lora_unet_", name, module)
    encoders = [("text_encoder", "lora_te1_" if getattr(pipe, "text_encoder_2", None) else "lora_te_"),
                ("text_encoder_2", "lora_te2_")]
    for attribute, prefix in encoders if text_encoders else ():
        encoder = getattr(pipe, attribute, None)
        if encoder is None:
            continue
        for name, module in encoder.named_modules():
            if name.endswith(TEXT_TARGETS) and isinstance(module, torch.nn.Linear):
                add(prefix + ("" if name.startswith("text_model") else "text_model_"), name, module)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata)
    return path


def loha_lora(path: Path) -> Path:
    """A LyCORIS LoHa file (``hada_w1_a``...), which diffusers cannot convert."""
    key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({f"{key}.hada_w1_a": torch.zeros(32, 4), f"{key}.hada_w1_b": torch.zeros(4, 32),
               f"{key}.hada_w2_a": torch.zeros(32, 4), f"{key}.hada_w2_b": torch.zeros(4, 32),
               f"{key}.alpha": torch.tensor(4.0)}, str(path))
    return path


def embedding_vectors(encoder, count: int, seed: int = 3) -> torch.Tensor:
    """``count`` random vectors as wide as ``encoder``'s token embeddings, at their scale."""
    weight = encoder.get_input_embeddings().weight
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, weight.shape[1], generator=generator) * weight.std().item() * 3


def sd_embedding(pipe, path: Path, count: int = 2, seed: int = 3) -> Path:
    """A textual-inversion file as SD 1.x/2.x trainers write it: ``{"emb_params": (count, width)}``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"emb_params": embedding_vectors(pipe.text_encoder, count, seed)}, str(path))
    return path


def sdxl_embedding(pipe, path: Path, count: int = 2, seed: int = 3) -> Path:
    """An SDXL embedding: ``clip_l`` for the first text encoder, ``clip_g`` for the second."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"clip_l": embedding_vectors(pipe.text_encoder, count, seed),
               "clip_g": embedding_vectors(pipe.text_encoder_2, count, seed + 1)}, str(path))
    return path


def ldm_vae(pipe, path: Path, seed: int = 5) -> tuple[Path, object]:
    """Another VAE of ``pipe``'s architecture (other random weights), saved in the original LDM layout as A1111
    VAE files are; returns the file and the diffusers module with the same weights."""
    from diffusers import AutoencoderKL

    from tests.tiny_models import _vae_to_ldm

    torch.manual_seed(seed)
    vae = AutoencoderKL.from_config(pipe.vae.config)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = _vae_to_ldm({k: v.contiguous() for k, v in vae.state_dict().items()}, dict(pipe.vae.config))
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path, vae
