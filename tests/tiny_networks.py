"""LoRA and textual-inversion files for tiny pipelines, in the layouts real files use.

:func:`kohya_lora` writes a LoRA in the kohya/A1111 key layout (``lora_unet_<module path with _>``,
``lora_te_`` or ``lora_te1_``/``lora_te2_`` for SDXL's two text encoders, ``.lora_down``/``.lora_up``/``.alpha``),
with shapes read from the pipeline's own modules, so it fits that pipeline and no other. Text-encoder keys carry
``text_model_`` as real files do (transformers 5's CLIP has no ``text_model`` attribute; diffusers strips it).
Each patched text-encoder layer has its ``out_proj`` too: diffusers only recognises the old key layout by it.

For the flow-matching transformers (Flux, SD 3.5, Chroma): :func:`transformer_lora` makes a peft LoRA on the
transformer and saves it with the pipeline's own ``save_lora_weights`` (diffusers' layout, ``transformer.*``
``lora_A``/``lora_B``); :func:`kohya_flux_lora` writes a Flux LoRA in the kohya/BFL layout (``lora_unet_double_blocks_
<i>_img_attn_qkv`` with one fused q/k/v, ``single_blocks_<i>_linear2``...), which diffusers' Flux loader converts.
"""

from __future__ import annotations

import copy
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


TRANSFORMER_TARGETS = ["attn.to_q", "attn.to_k", "attn.to_v", "attn.to_out.0", "attn.add_q_proj", "ff.net.2"]


def transformer_lora(pipe, path: Path, *, seed: int = 1, rank: int = 4) -> Path:
    """A peft LoRA (random A and B) on the transformer of ``pipe``, saved as diffusers saves LoRAs."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    transformer = copy.deepcopy(pipe.transformer)  # the pipeline's own stays without adapters
    targets = [name for name, module in transformer.named_modules()
               if name.endswith(tuple(TRANSFORMER_TARGETS)) and isinstance(module, torch.nn.Linear)]
    torch.manual_seed(seed)
    transformer.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=targets, init_lora_weights=False))
    layers = get_peft_model_state_dict(transformer)
    path.parent.mkdir(parents=True, exist_ok=True)
    type(pipe).save_lora_weights(str(path.parent), transformer_lora_layers=layers, weight_name=path.name)
    return path


def kohya_flux_lora(pipe, path: Path, *, seed: int = 1, rank: int = 4, scale: float = 0.3) -> Path:
    """A Flux LoRA in the kohya/BFL layout, shapes read from ``pipe``'s transformer (a fused qkv is three times
    as wide as one of the q, k, v it patches)."""
    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}

    def add(key: str, module: torch.nn.Linear, fused: int = 1) -> None:
        tensors[f"{key}.lora_down.weight"] = torch.randn(rank, module.in_features, generator=generator) * scale
        tensors[f"{key}.lora_up.weight"] = torch.randn(module.out_features * fused, rank, generator=generator) * scale
        tensors[f"{key}.alpha"] = torch.tensor(float(rank))

    transformer = pipe.transformer
    for i, block in enumerate(transformer.transformer_blocks):
        add(f"lora_unet_double_blocks_{i}_img_attn_qkv", block.attn.to_q, fused=3)
        add(f"lora_unet_double_blocks_{i}_txt_attn_qkv", block.attn.add_q_proj, fused=3)
        add(f"lora_unet_double_blocks_{i}_img_attn_proj", block.attn.to_out[0])
        add(f"lora_unet_double_blocks_{i}_img_mlp_0", block.ff.net[0].proj)
        add(f"lora_unet_double_blocks_{i}_img_mlp_2", block.ff.net[2])
    for i, block in enumerate(transformer.single_transformer_blocks):
        add(f"lora_unet_single_blocks_{i}_linear2", block.proj_out)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path


def kohya_sd3_lora(pipe, path: Path, *, rank: int = 4) -> Path:
    """An SD 3.5 LoRA in the kohya layout (``lora_unet_joint_blocks_<i>_x_block_attn_qkv``), which diffusers 0.42's
    SD3 loader does not convert."""
    inner = pipe.transformer.transformer_blocks[0].attn.to_q
    key = "lora_unet_joint_blocks_0_x_block_attn_qkv"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({f"{key}.lora_down.weight": torch.zeros(rank, inner.in_features),
               f"{key}.lora_up.weight": torch.zeros(inner.out_features * 3, rank),
               f"{key}.alpha": torch.tensor(float(rank))}, str(path))
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
