"""Tiny random-weight Stable Diffusion pipelines, built offline, for tests and benchmarks.

Every builder seeds torch, constructs the components with real-model shapes scaled down (same block
layout as the real model, tiny widths), and ``save_pretrained``s a complete diffusers folder. Nothing is
downloaded. A 4-step 64x64 generation on such a pipeline takes a fraction of a second on a CPU.

- :func:`build_tiny_sd` - SD 1.x (``StableDiffusionPipeline``, PNDM, epsilon).
- :func:`build_tiny_sd_inpaint` - SD 1.x inpainting (9-channel UNet, ``StableDiffusionInpaintPipeline``).
- :func:`build_tiny_sd2` - SD 2.x (linear projections, gelu text encoder, PNDM with ``v_prediction``).
- :func:`build_tiny_sdxl` - SDXL (two text encoders, ``text_time`` embedding, Euler discrete).
- :func:`save_tiny_taesd` - a tiny autoencoder (TAESD's ``AutoencoderTiny``) for previews and draft decoding.
- :func:`save_single_file` - any of those folders as an original LDM/SGM single-file ``.safetensors``;
  :func:`single_file_state_dict` does the key conversion on state dicts (also on meta tensors, full size).

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


def save_tiny_taesd(out_dir: Path, seed: int = SEED) -> Path:
    """TAESD's architecture (8x, 4 latent channels) at 8 channels wide; ``out_dir`` is where the engine looks for
    one (``<root>/models/taesd`` or ``taesdxl``)."""
    from diffusers import AutoencoderTiny

    torch.manual_seed(seed)
    AutoencoderTiny(encoder_block_out_channels=(8, 8, 8, 8),
                    decoder_block_out_channels=(8, 8, 8, 8)).save_pretrained(out_dir)
    return out_dir


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


# --------------------------------------------------------------------------------------------- single file
# diffusers folder -> original LDM (SD 1/2) / SGM (SDXL) single-file layout. The same mapping as diffusers'
# scripts/convert_diffusers_to_original_stable_diffusion.py and convert_diffusers_to_original_sdxl.py, but the
# block indices are computed from each component's config instead of being hard-coded for the full-size models.
_UNET_RESNET = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
                ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection"))
_VAE_RESNET = (("conv_shortcut", "nin_shortcut"),)
_VAE_ATTN = (("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out"))
_OPENCLIP = (("text_model.encoder.layers.", "transformer.resblocks."), ("layer_norm1", "ln_1"),
             ("layer_norm2", "ln_2"), ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj"), ("self_attn.", "attn."),
             ("text_model.final_layer_norm.", "ln_final."),
             ("text_model.embeddings.token_embedding.weight", "token_embedding.weight"),
             ("text_model.embeddings.position_embedding.weight", "positional_embedding"))


def _rename(key: str, prefixes: dict[str, tuple[str, tuple]]) -> str:
    """Swap the longest matching diffusers prefix for its LDM one, renaming parts of the rest on the way."""
    for hf in sorted(prefixes, key=len, reverse=True):
        if key.startswith(hf):
            ldm, parts = prefixes[hf]
            rest = key[len(hf):]
            for old, new in parts:
                rest = rest.replace(old, new)
            return ldm + rest
    return key


def _unet_to_ldm(sd: dict, config: dict) -> dict:
    per = config["layers_per_block"]
    levels = len(config["block_out_channels"])
    p: dict[str, tuple[str, tuple]] = {
        "time_embedding.linear_1.": ("time_embed.0.", ()), "time_embedding.linear_2.": ("time_embed.2.", ()),
        "add_embedding.linear_1.": ("label_emb.0.0.", ()), "add_embedding.linear_2.": ("label_emb.0.2.", ()),
        "conv_in.": ("input_blocks.0.0.", ()), "conv_norm_out.": ("out.0.", ()), "conv_out.": ("out.2.", ()),
        "mid_block.resnets.0.": ("middle_block.0.", _UNET_RESNET), "mid_block.attentions.0.": ("middle_block.1.", ()),
        "mid_block.resnets.1.": ("middle_block.2.", _UNET_RESNET),
    }
    for i in range(levels):
        for j in range(per):
            p[f"down_blocks.{i}.resnets.{j}."] = (f"input_blocks.{i * (per + 1) + j + 1}.0.", _UNET_RESNET)
            p[f"down_blocks.{i}.attentions.{j}."] = (f"input_blocks.{i * (per + 1) + j + 1}.1.", ())
        p[f"down_blocks.{i}.downsamplers.0.conv."] = (f"input_blocks.{(i + 1) * (per + 1)}.0.op.", ())
        for j in range(per + 1):
            p[f"up_blocks.{i}.resnets.{j}."] = (f"output_blocks.{i * (per + 1) + j}.0.", _UNET_RESNET)
            p[f"up_blocks.{i}.attentions.{j}."] = (f"output_blocks.{i * (per + 1) + j}.1.", ())
        has_attention = "CrossAttn" in config["up_block_types"][i]
        p[f"up_blocks.{i}.upsamplers.0."] = (f"output_blocks.{i * (per + 1) + per}.{2 if has_attention else 1}.", ())
    return {_rename(k, p): v for k, v in sd.items()}


def _vae_to_ldm(sd: dict, config: dict) -> dict:
    levels = len(config["block_out_channels"])
    p: dict[str, tuple[str, tuple]] = {"encoder.conv_norm_out.": ("encoder.norm_out.", ()),
                                       "decoder.conv_norm_out.": ("decoder.norm_out.", ())}
    for part in ("encoder", "decoder"):
        p[f"{part}.mid_block.attentions.0."] = (f"{part}.mid.attn_1.", _VAE_ATTN)
        for k in range(2):
            p[f"{part}.mid_block.resnets.{k}."] = (f"{part}.mid.block_{k + 1}.", _VAE_RESNET)
    for i in range(levels):
        p[f"encoder.down_blocks.{i}.resnets."] = (f"encoder.down.{i}.block.", _VAE_RESNET)
        p[f"encoder.down_blocks.{i}.downsamplers.0."] = (f"encoder.down.{i}.downsample.", ())
        p[f"decoder.up_blocks.{i}.resnets."] = (f"decoder.up.{levels - 1 - i}.block.", _VAE_RESNET)
        p[f"decoder.up_blocks.{i}.upsamplers.0."] = (f"decoder.up.{levels - 1 - i}.upsample.", ())
    out = {_rename(k, p): v for k, v in sd.items()}
    # LDM's mid-block attention uses 1x1 convolutions where diffusers uses linear layers.
    return {k: v[..., None, None] if ".mid.attn_1." in k and k.endswith("weight") and v.ndim == 2 else v
            for k, v in out.items()}


def _hf_clip(sd: dict) -> dict:
    """transformers >= 5.6 saves ``CLIPTextModel`` without the ``text_model.`` level the LDM layout has."""
    return {k if k.startswith(("text_model.", "text_projection")) else "text_model." + k: v for k, v in sd.items()}


def _clip_to_openclip(sd: dict) -> dict:
    out, qkv = {}, {}
    for k, v in _hf_clip(sd).items():
        if k == "text_projection.weight":
            out["text_projection"] = v.T.contiguous()  # OpenCLIP multiplies x @ proj
            continue
        for old, new in _OPENCLIP:
            k = k.replace(old, new)
        if ".attn." in k and k.split(".")[-2] in ("q_proj", "k_proj", "v_proj"):
            *head, which, kind = k.split(".")
            qkv.setdefault((".".join(head), kind), {})[which] = v
        else:
            out[k] = v
    for (head, kind), parts in qkv.items():
        out[f"{head}.in_proj_{kind}"] = torch.cat([parts["q_proj"], parts["k_proj"], parts["v_proj"]])
    return out


def single_file_state_dict(unet: dict, unet_config: dict, vae: dict, vae_config: dict, text: dict,
                           text_2: dict | None = None) -> dict:
    """Diffusers state dicts (and the UNet/VAE configs) -> one original-layout state dict.

    SD 1.x: ``model.diffusion_model.*``, ``first_stage_model.*``, ``cond_stage_model.transformer.*`` (HF CLIP).
    SD 2.x (a UNet with linear projections and one text encoder): ``cond_stage_model.model.*`` (OpenCLIP) plus a
    ``text_projection`` like the real checkpoints carry (diffusers ignores it).
    SDXL (``text_2`` given): ``conditioner.embedders.0.transformer.*`` (HF CLIP) and
    ``conditioner.embedders.1.model.*`` (OpenCLIP). Works on meta tensors too (for full-size layout checks).
    """
    state = {"model.diffusion_model." + k: v for k, v in _unet_to_ldm(unet, unet_config).items()}
    state.update({"first_stage_model." + k: v for k, v in _vae_to_ldm(vae, vae_config).items()})
    if text_2 is not None:
        state.update({"conditioner.embedders.0.transformer." + k: v for k, v in _hf_clip(text).items()})
        state.update({"conditioner.embedders.1.model." + k: v for k, v in _clip_to_openclip(text_2).items()})
    elif unet_config.get("use_linear_projection"):
        openclip = _clip_to_openclip(text)
        width = openclip["positional_embedding"].shape[-1]
        openclip.setdefault("text_projection", torch.eye(width, device=openclip["positional_embedding"].device))
        state.update({"cond_stage_model.model." + k: v for k, v in openclip.items()})
    else:
        state.update({"cond_stage_model.transformer." + k: v for k, v in _hf_clip(text).items()})
    return state


def save_single_file(pipeline_dir: Path, out_path: Path, *, half: bool = False) -> Path:
    """Write a diffusers SD1 / SD1-inpaint / SD2 / SDXL folder as one original-layout ``.safetensors``."""
    import json

    from safetensors.torch import load_file, save_file

    pipeline_dir = Path(pipeline_dir)

    def part(name: str) -> tuple[dict, dict]:
        folder = pipeline_dir / name
        weights = load_file(next(folder.glob("*.safetensors")))
        return weights, json.loads((folder / "config.json").read_text())

    unet, unet_cfg = part("unet")
    vae, vae_cfg = part("vae")
    text, _ = part("text_encoder")
    text_2 = part("text_encoder_2")[0] if (pipeline_dir / "text_encoder_2").is_dir() else None
    state = single_file_state_dict(unet, unet_cfg, vae, vae_cfg, text, text_2)
    if half:
        state = {k: v.half() for k, v in state.items()}
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(out_path), metadata={"format": "pt"})
    return out_path


# --------------------------------------------------------------------------------------------- flow matching
def make_tiny_t5_tokenizer():
    """A T5 (Unigram) tokenizer over single characters: transformers 5 reloads it offline, unlike a WordLevel one."""
    from transformers import T5TokenizerFast

    chars = sorted({chr(c) for c in range(ord("!"), ord("~") + 1)})
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)] + [(c, -3.0) for c in chars]
    return T5TokenizerFast(vocab=vocab, extra_ids=0)


def _tiny_t5(width: int = 32):
    from transformers import T5Config, T5EncoderModel

    config = T5Config(vocab_size=4 + 94, d_model=width, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                      relative_attention_num_buckets=8, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    return T5EncoderModel(config)


def _flow_vae(latent_channels: int = 16, scaling_factor: float = 0.3611, shift_factor: float = 0.1159):
    from diffusers import AutoencoderKL

    # Like Flux's and SD3's VAE: 16 latent channels, no quant convolutions, a scale and a shift.
    return AutoencoderKL(
        block_out_channels=(8, 16, 16, 16), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, in_channels=3, out_channels=3, latent_channels=latent_channels,
        layers_per_block=1, norm_num_groups=4, sample_size=64, use_quant_conv=False, use_post_quant_conv=False,
        scaling_factor=scaling_factor, shift_factor=shift_factor,
    )


def _flux_scheduler(dynamic: bool = True):
    from diffusers import FlowMatchEulerDiscreteScheduler

    # Flux.1-dev's shipped config (schnell: no dynamic shifting, shift 1).
    if dynamic:
        return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True,
                                               base_shift=0.5, max_shift=1.15, base_image_seq_len=256,
                                               max_image_seq_len=4096)
    return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False)


FLUX_VARIANTS = ("dev", "schnell", "fill", "kontext")


def build_tiny_flux(out_dir: Path, variant: str = "dev") -> Path:
    """Flux.1 ``dev`` (distilled guidance), ``schnell`` (no guidance embedding), ``fill`` (a 384-channel
    ``x_embedder``: image, masked image and mask latents) or ``kontext`` (dev's shapes, an editing pipeline)."""
    import diffusers
    from diffusers import FluxTransformer2DModel
    from transformers import CLIPTextModel

    torch.manual_seed(SEED)
    latent = 16
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=latent * 4 * (6 if variant == "fill" else 1), out_channels=latent * 4,
        num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2, joint_attention_dim=32,
        pooled_projection_dim=32, guidance_embeds=variant != "schnell", axes_dims_rope=[4, 4, 8],
    )
    cls = {"dev": "FluxPipeline", "schnell": "FluxPipeline", "fill": "FluxFillPipeline",
           "kontext": "FluxKontextPipeline"}[variant]
    pipe = getattr(diffusers, cls)(
        transformer=transformer, vae=_flow_vae(latent), text_encoder=CLIPTextModel(_clip_config(32)),
        tokenizer=make_tiny_tokenizer(), text_encoder_2=_tiny_t5(), tokenizer_2=make_tiny_t5_tokenizer(),
        scheduler=_flux_scheduler(dynamic=variant != "schnell"),
    )
    return _save(pipe, out_dir)


def build_tiny_sd3(out_dir: Path) -> Path:
    """SD 3.5: two CLIP encoders with projections, a T5, an MMDiT ``SD3Transformer2DModel``, flow matching."""
    from diffusers import SD3Transformer2DModel, StableDiffusion3Pipeline
    from transformers import CLIPTextModelWithProjection

    torch.manual_seed(SEED)
    transformer = SD3Transformer2DModel(
        sample_size=8, patch_size=2, in_channels=16, num_layers=2, attention_head_dim=8, num_attention_heads=4,
        caption_projection_dim=32, joint_attention_dim=32, pooled_projection_dim=64, out_channels=16,
        pos_embed_max_size=32,
    )
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, vae=_flow_vae(16, scaling_factor=1.5305, shift_factor=0.0609),
        text_encoder=CLIPTextModelWithProjection(_clip_config(32)), tokenizer=make_tiny_tokenizer(),
        text_encoder_2=CLIPTextModelWithProjection(_clip_config(32)), tokenizer_2=make_tiny_tokenizer(),
        text_encoder_3=_tiny_t5(), tokenizer_3=make_tiny_t5_tokenizer(),
        scheduler=_flux_scheduler(dynamic=False).from_config({"shift": 3.0}),
    )
    return _save(pipe, out_dir)


def build_tiny_chroma(out_dir: Path) -> Path:
    """Chroma: Flux's layout with a T5 encoder only and a small modulation approximator."""
    from diffusers import ChromaPipeline, ChromaTransformer2DModel

    torch.manual_seed(SEED)
    transformer = ChromaTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=32, axes_dims_rope=[4, 4, 8], approximator_num_channels=8, approximator_hidden_dim=32,
        approximator_layers=1,
    )
    pipe = ChromaPipeline(transformer=transformer, vae=_flow_vae(16), text_encoder=_tiny_t5(),
                          tokenizer=make_tiny_t5_tokenizer(), scheduler=_flux_scheduler(dynamic=True))
    return _save(pipe, out_dir)


BUILDERS.update({f"flux_{v}": (lambda out, v=v: build_tiny_flux(out, v)) for v in FLUX_VARIANTS})
BUILDERS["sd3"] = build_tiny_sd3
BUILDERS["chroma"] = build_tiny_chroma
