"""Tiny random-weight Stable Diffusion pipelines, built offline, for tests and benchmarks.

Every builder seeds torch, constructs the components with real-model shapes scaled down (same block
layout as the real model, tiny widths), and ``save_pretrained``s a complete diffusers folder. Nothing is
downloaded. A 4-step 64x64 generation on such a pipeline takes a fraction of a second on a CPU.

- :func:`build_tiny_sd` - SD 1.x (``StableDiffusionPipeline``, PNDM, epsilon).
- :func:`build_tiny_sd_inpaint` - SD 1.x inpainting (9-channel UNet, ``StableDiffusionInpaintPipeline``).
- :func:`build_tiny_sd2` - SD 2.x (linear projections, gelu text encoder, PNDM with ``v_prediction``).
- :func:`build_tiny_sdxl` - SDXL (two text encoders, ``text_time`` embedding, Euler discrete).
- :func:`save_single_file` - any of those folders as an original LDM/SGM single-file ``.safetensors``.

The two SDXL text encoders have different widths (32 and 64, like 768 and 1280 in the real model):
diffusers' single-file loader tells them apart by the width of their position embeddings.
"""

from __future__ import annotations

from pathlib import Path

import torch

SEED = 0
# The realistic noise schedule every Stable Diffusion model ships with.
BETAS = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000}
SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")


# --------------------------------------------------------------------------------------------- tokenizer
def _byte_unicode() -> list[str]:
    """CLIP's (and GPT-2's) reversible map from the 256 byte values to printable unicode characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    keep += list(range(ord("®"), ord("ÿ") + 1))
    codes = {b: b for b in keep}
    extra = 0
    for b in range(256):
        if b not in codes:
            codes[b] = 256 + extra
            extra += 1
    return [chr(codes[b]) for b in range(256)]


def tiny_vocab() -> dict[str, int]:
    """Byte characters, their ``</w>`` variants, then the two specials: 514 tokens, no merges."""
    chars = _byte_unicode()
    tokens = chars + [c + "</w>" for c in chars] + list(SPECIAL_TOKENS)
    return {tok: i for i, tok in enumerate(tokens)}


def make_tiny_tokenizer(pad_token: str = "<|endoftext|>"):
    from transformers import CLIPTokenizer

    return CLIPTokenizer(vocab=tiny_vocab(), merges=[], pad_token=pad_token, model_max_length=77)


TINY_VOCAB_SIZE = 514


# --------------------------------------------------------------------------------------------- components
def _clip_config(hidden: int, layers: int = 2, act: str = "quick_gelu", projection: int | None = None):
    from transformers import CLIPTextConfig

    # bos/eos/pad ids as in the real configs; eos_token_id=2 selects argmax pooling (the highest id, <|endoftext|>).
    return CLIPTextConfig(
        vocab_size=TINY_VOCAB_SIZE,
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_attention_heads=4,
        num_hidden_layers=layers,
        max_position_embeddings=77,
        hidden_act=act,
        projection_dim=projection or hidden,
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=1,
    )


def _vae(scaling_factor: float = 0.18215):
    from diffusers import AutoencoderKL

    # Four levels like the real VAE, so the latent is 1/8 of the image; 4 latent channels.
    return AutoencoderKL(
        block_out_channels=(8, 16, 16, 16),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=4,
        sample_size=64,
        scaling_factor=scaling_factor,
    )


def _unet(**kwargs):
    from diffusers import UNet2DConditionModel

    # The real SD block order, cut to two levels: attention at the higher resolution, plain blocks below.
    config = dict(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=8,
    )
    config.update(kwargs)
    return UNet2DConditionModel(**config)


def _pndm(**kwargs):
    from diffusers import PNDMScheduler

    return PNDMScheduler(
        **BETAS, skip_prk_steps=True, set_alpha_to_one=False, steps_offset=1, **kwargs
    )


def _save(pipe, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    pipe.save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def _sd_components(in_channels: int = 4, sd2: bool = False) -> dict:
    from transformers import CLIPTextModel

    torch.manual_seed(SEED)
    unet = _unet(in_channels=in_channels, use_linear_projection=sd2)
    vae = _vae()
    text_encoder = CLIPTextModel(_clip_config(32, act="gelu" if sd2 else "quick_gelu"))
    scheduler = _pndm(prediction_type="v_prediction" if sd2 else "epsilon")
    return dict(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=make_tiny_tokenizer(pad_token="!" if sd2 else "<|endoftext|>"),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


# --------------------------------------------------------------------------------------------- builders
def build_tiny_sd(out_dir: Path) -> Path:
    from diffusers import StableDiffusionPipeline

    return _save(StableDiffusionPipeline(**_sd_components()), out_dir)


def build_tiny_sd_inpaint(out_dir: Path) -> Path:
    from diffusers import StableDiffusionInpaintPipeline

    return _save(StableDiffusionInpaintPipeline(**_sd_components(in_channels=9)), out_dir)


def build_tiny_sd2(out_dir: Path) -> Path:
    from diffusers import StableDiffusionPipeline

    return _save(StableDiffusionPipeline(**_sd_components(sd2=True)), out_dir)


def build_tiny_sdxl(out_dir: Path) -> Path:
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(SEED)
    te1, te2 = 32, 64
    time_dim = 8
    unet = _unet(
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        use_linear_projection=True,
        transformer_layers_per_block=(1, 2),
        cross_attention_dim=te1 + te2,
        addition_embed_type="text_time",
        addition_time_embed_dim=time_dim,
        # six micro-conditioning numbers (original size, crop, target size) plus the pooled text embedding
        projection_class_embeddings_input_dim=6 * time_dim + te2,
    )
    vae = _vae(scaling_factor=0.13025)  # SDXL's VAE scale
    text_encoder = CLIPTextModel(_clip_config(te1))
    text_encoder_2 = CLIPTextModelWithProjection(_clip_config(te2, act="gelu", projection=te2))
    scheduler = EulerDiscreteScheduler(
        **BETAS, prediction_type="epsilon", steps_offset=1, timestep_spacing="leading", interpolation_type="linear"
    )
    pipe = StableDiffusionXLPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=make_tiny_tokenizer(),
        tokenizer_2=make_tiny_tokenizer(pad_token="!"),
        scheduler=scheduler,
        force_zeros_for_empty_prompt=True,
    )
    return _save(pipe, out_dir)


BUILDERS = {
    "sd": build_tiny_sd,
    "sd_inpaint": build_tiny_sd_inpaint,
    "sd2": build_tiny_sd2,
    "sdxl": build_tiny_sdxl,
}
