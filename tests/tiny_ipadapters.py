"""Tiny random-weight IP-Adapters and CLIP vision encoders for the tiny pipelines, built offline in diffusers'
IP-Adapter format: ``image_proj.*`` for the plain ImageProjection, ``ip_adapter.N.to_k_ip/to_v_ip.weight`` for
the cross-attention processors, numbered 1, 3, 5... as diffusers reads them."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

TOKENS = 4  # image tokens the projection makes


def build_tiny_encoder(out_dir: Path, projection_dim: int = 16, seed: int = 0) -> Path:
    """A transformers ``CLIPVisionModelWithProjection`` folder with ``projection_dim``-wide image embeddings."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    config = CLIPVisionConfig(hidden_size=32, projection_dim=projection_dim, intermediate_size=37, num_hidden_layers=2,
                              num_attention_heads=4, image_size=32, patch_size=8)
    CLIPVisionModelWithProjection(config).save_pretrained(out_dir, safe_serialization=True)
    return Path(out_dir)


def build_tiny_ipadapter(model_dir: Path, out_file: Path, image_width: int = 16, seed: int = 1) -> Path:
    """An IP-Adapter ``.safetensors`` for the tiny pipeline in ``model_dir``, reading ``image_width``-wide image
    embeddings; weights large enough that the image prompt visibly matters."""
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(model_dir, subfolder="unet", local_files_only=True)
    cross = unet.config.cross_attention_dim
    generator = torch.Generator().manual_seed(seed)

    def random(*shape):
        return torch.randn(*shape, generator=generator) * 0.5

    state = {"image_proj.proj.weight": random(TOKENS * cross, image_width), "image_proj.proj.bias": random(TOKENS * cross),
             "image_proj.norm.weight": torch.ones(cross), "image_proj.norm.bias": torch.zeros(cross)}
    modules = dict(unet.named_modules())
    cross_names = [name for name in unet.attn_processors if not name.endswith("attn1.processor")]
    for index, name in enumerate(cross_names):  # diffusers numbers the cross-attention processors 1, 3, 5...
        hidden = modules[name.removesuffix(".processor")].to_k.weight.shape[0]
        state[f"ip_adapter.{2 * index + 1}.to_k_ip.weight"] = random(hidden, cross)
        state[f"ip_adapter.{2 * index + 1}.to_v_ip.weight"] = random(hidden, cross)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(out_file))
    return out_file
