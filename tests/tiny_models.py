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
- :func:`build_tiny_flux`, :func:`build_tiny_sd3`, :func:`build_tiny_chroma` - the flow-matching families;
  :func:`save_sd3_single_file` writes the SD 3.5 folder in the original MMDiT single-file layout.

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


def build_tiny_sd3(out_dir: Path, seed: int = SEED) -> Path:
    """SD 3.5: two CLIP encoders with projections, a T5, an MMDiT ``SD3Transformer2DModel``, flow matching.

    As in the real model the two CLIP encoders differ in width (32 and 64, like 768 and 1280: diffusers' single-file
    loader tells them apart by it), the T5 is wider than both together (the CLIP embeddings are padded to its
    width), and CLIP-L's projection is the identity, which is what diffusers gives it from a single file.
    """
    from diffusers import SD3Transformer2DModel, StableDiffusion3Pipeline
    from transformers import CLIPTextModelWithProjection

    torch.manual_seed(seed)
    clip_l, clip_g, t5 = 32, 64, 128
    transformer = SD3Transformer2DModel(
        sample_size=8, patch_size=2, in_channels=16, num_layers=2, attention_head_dim=8, num_attention_heads=4,
        caption_projection_dim=32, joint_attention_dim=t5, pooled_projection_dim=clip_l + clip_g, out_channels=16,
        pos_embed_max_size=32,
    )
    text_encoder = CLIPTextModelWithProjection(_clip_config(clip_l))
    with torch.no_grad():
        text_encoder.text_projection.weight.copy_(torch.eye(clip_l))
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, vae=_flow_vae(16, scaling_factor=1.5305, shift_factor=0.0609),
        text_encoder=text_encoder, tokenizer=make_tiny_tokenizer(),
        text_encoder_2=CLIPTextModelWithProjection(_clip_config(clip_g, act="gelu")),
        tokenizer_2=make_tiny_tokenizer(pad_token="!"),
        text_encoder_3=_tiny_t5(t5), tokenizer_3=make_tiny_t5_tokenizer(),
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


# A Qwen3-style chat template, enough for what the Klein pipelines send (one user turn, thinking turned off).
_QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)


def _tiny_qwen3(hidden: int = 16):
    from transformers import Qwen3Config, Qwen3ForCausalLM

    # 27 layers: the Klein pipelines stack hidden states 9, 18 and 27, as of the real 36-layer encoder.
    config = Qwen3Config(vocab_size=QWEN_VOCAB_SIZE, hidden_size=hidden, intermediate_size=hidden * 2,
                         num_hidden_layers=27, num_attention_heads=2, num_key_value_heads=1, head_dim=8,
                         max_position_embeddings=512, tie_word_embeddings=True)
    return Qwen3ForCausalLM(config)


def build_tiny_flux2_klein(out_dir: Path, distilled: bool = False) -> Path:
    """Flux.2 Klein (``Flux2KleinPipeline``): a Qwen3 encoder, ``Flux2Transformer2DModel`` on 128-channel packed
    latents (32 VAE channels x 2x2), ``AutoencoderKLFlux2`` with batch-norm statistics of its own (random, so that
    they matter), flow matching; ``distilled``: the step-distilled kind (no CFG)."""
    from diffusers import AutoencoderKLFlux2, Flux2KleinPipeline, Flux2Transformer2DModel

    torch.manual_seed(SEED)
    latent, hidden = 32, 16
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=latent * 4, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=hidden * 3, timestep_guidance_channels=32,
        axes_dims_rope=(4, 4, 4, 4), guidance_embeds=False,
    )
    vae = AutoencoderKLFlux2(
        block_out_channels=(8, 16, 16, 16), layers_per_block=1, norm_num_groups=4, latent_channels=latent,
        sample_size=64,
    )
    vae.bn.running_mean.normal_(0.0, 0.2)
    vae.bn.running_var.uniform_(0.5, 1.5)
    pipe = Flux2KleinPipeline(transformer=transformer, vae=vae, text_encoder=_tiny_qwen3(hidden),
                              tokenizer=make_tiny_qwen_tokenizer(), scheduler=_flux_scheduler(dynamic=True),
                              is_distilled=distilled)
    return _save(pipe, out_dir)


BUILDERS["flux2_klein"] = build_tiny_flux2_klein


# --------------------------------------------------------------------------------------------- Qwen-Image
QWEN_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                       "<|image_pad|>", "<|video_pad|>")
QWEN_VOCAB_SIZE = 256 + len(QWEN_SPECIAL_TOKENS)
QWEN_EDIT_NEEDS = "Qwen-Image-Edit's Qwen2VLProcessor needs torchvision (transformers 5 builds its video processor too)"


def make_tiny_qwen_tokenizer():
    """A byte-level ``Qwen2Tokenizer`` (Qwen2.5-VL's and Qwen3's): the 256 byte characters, no merges, then the chat
    and vision specials, with a chat template; it saves and reloads offline."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    vocab = {c: i for i, c in enumerate(_byte_unicode())} | {t: 256 + i for i, t in enumerate(QWEN_SPECIAL_TOKENS)}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], chat_template=_QWEN_CHAT_TEMPLATE)
    tokenizer.add_tokens([AddedToken(t, special=True) for t in QWEN_SPECIAL_TOKENS])
    return tokenizer


def _tiny_qwen_vl(tokenizer):
    """Qwen2.5-VL with a 2-layer, 32-wide language model and a 1-block, 16-wide vision tower."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=QWEN_VOCAB_SIZE, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
                         rope_scaling={"rope_type": "default", "mrope_section": [2, 2, 4]}, rope_theta=1000000.0,
                         bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|im_end|>")),
        vision_config=dict(depth=1, hidden_size=16, intermediate_size=16, num_heads=2, out_hidden_size=32,
                           fullatt_block_indexes=[0]),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )
    return Qwen2_5_VLForConditionalGeneration(config)


def build_tiny_qwen_image(out_dir: Path, edit: bool = False) -> Path:
    """Qwen-Image (``QwenImagePipeline``) or, with ``edit``, Qwen-Image-Edit (``QwenImageEditPipeline``: the same
    components plus a ``Qwen2VLProcessor``, its vision tower reading the reference image at a few patches)."""
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImageEditPipeline,
        QwenImagePipeline,
        QwenImageTransformer2DModel,
    )
    from transformers import Qwen2VLImageProcessorPil, Qwen2VLProcessor, Qwen2VLVideoProcessor

    torch.manual_seed(SEED)
    tokenizer = make_tiny_qwen_tokenizer()
    # 16 latent channels in 2x2 patches, as the real model's; the VAE's three downsamplings make latents 1/8.
    transformer = QwenImageTransformer2DModel(patch_size=2, in_channels=64, out_channels=16, num_layers=2,
                                              attention_head_dim=16, num_attention_heads=2, joint_attention_dim=32,
                                              axes_dims_rope=(8, 4, 4))
    vae = AutoencoderKLQwenImage(base_dim=8, z_dim=16, dim_mult=[1, 2, 2, 2], num_res_blocks=1,
                                 temperal_downsample=[False, True, True])
    # Qwen/Qwen-Image's shipped scheduler config.
    scheduler = FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=0.9,
        base_image_seq_len=256, max_image_seq_len=8192, shift_terminal=0.02, time_shift_type="exponential",
    )
    components = dict(transformer=transformer, vae=vae, text_encoder=_tiny_qwen_vl(tokenizer), tokenizer=tokenizer,
                      scheduler=scheduler)
    if not edit:
        return _save(QwenImagePipeline(**components), out_dir)
    # The reference image seen as 4x4 patches; the video processor is unused by the pipeline but required (torchvision).
    images = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=56 * 56)
    videos = Qwen2VLVideoProcessor(min_pixels=56 * 56, max_pixels=56 * 56)
    processor = Qwen2VLProcessor(image_processor=images, tokenizer=tokenizer, video_processor=videos)
    return _save(QwenImageEditPipeline(**components, processor=processor), out_dir)


BUILDERS["qwen_image"] = build_tiny_qwen_image
BUILDERS["qwen_image_edit"] = lambda out: build_tiny_qwen_image(out, edit=True)


# --------------------------------------------------------------------------------------------- SD 3.5 single file
# diffusers' SD3Transformer2DModel -> the original MMDiT layout (``joint_blocks.*``): the inverse of diffusers'
# convert_sd3_transformer_checkpoint_to_diffusers (q/k/v concatenated into qkv; the last block, which has no context
# output, and the final layer with their modulation halves in the original shift-then-scale order).
_SD3_PLAIN = (("pos_embed.pos_embed", "pos_embed"), ("pos_embed.proj.", "x_embedder.proj."),
              ("time_text_embed.timestep_embedder.linear_1.", "t_embedder.mlp.0."),
              ("time_text_embed.timestep_embedder.linear_2.", "t_embedder.mlp.2."),
              ("context_embedder.", "context_embedder."),
              ("time_text_embed.text_embedder.linear_1.", "y_embedder.mlp.0."),
              ("time_text_embed.text_embedder.linear_2.", "y_embedder.mlp.2."), ("proj_out.", "final_layer.linear."))
_SD3_BLOCK = (("attn.to_out.0.", "x_block.attn.proj."), ("attn.to_add_out.", "context_block.attn.proj."),
              ("attn2.to_out.0.", "x_block.attn2.proj."), ("norm1.linear.", "x_block.adaLN_modulation.1."),
              ("ff.net.0.proj.", "x_block.mlp.fc1."), ("ff.net.2.", "x_block.mlp.fc2."),
              ("ff_context.net.0.proj.", "context_block.mlp.fc1."), ("ff_context.net.2.", "context_block.mlp.fc2."),
              ("attn.norm_q.", "x_block.attn.ln_q."), ("attn.norm_k.", "x_block.attn.ln_k."),
              ("attn.norm_added_q.", "context_block.attn.ln_q."), ("attn.norm_added_k.", "context_block.attn.ln_k."),
              ("attn2.norm_q.", "x_block.attn2.ln_q."), ("attn2.norm_k.", "x_block.attn2.ln_k."))
_SD3_QKV = (("attn.to_", "x_block.attn.qkv."), ("attn.add_", "context_block.attn.qkv."),
            ("attn2.to_", "x_block.attn2.qkv."))


def _swap_halves(tensor: torch.Tensor) -> torch.Tensor:
    first, second = tensor.chunk(2, dim=0)
    return torch.cat([second, first])


def sd3_transformer_to_original(sd: dict, num_layers: int) -> dict:
    """An SD3 transformer state dict in the original layout (every tensor used once, or it raises)."""
    sd, out = dict(sd), {}
    for hf, original in _SD3_PLAIN:
        for key in [k for k in sd if k.startswith(hf)]:
            out[original + key[len(hf):]] = sd.pop(key)
    for i in range(num_layers):
        block = f"transformer_blocks.{i}."
        for hf, original in _SD3_QKV:
            suffix = "_proj" if hf == "attn.add_" else ""
            for kind in ("weight", "bias"):
                parts = [f"{block}{hf}{x}{suffix}.{kind}" for x in "qkv"]
                if parts[0] in sd:
                    out[f"joint_blocks.{i}.{original}{kind}"] = torch.cat([sd.pop(k) for k in parts])
        last = i == num_layers - 1
        for kind in ("weight", "bias"):
            tensor = sd.pop(f"{block}norm1_context.linear.{kind}")
            out[f"joint_blocks.{i}.context_block.adaLN_modulation.1.{kind}"] = _swap_halves(tensor) if last else tensor
        for hf, original in _SD3_BLOCK:
            for key in [k for k in sd if k.startswith(block + hf)]:
                out[f"joint_blocks.{i}.{original}{key[len(block + hf):]}"] = sd.pop(key)
    for kind in ("weight", "bias"):
        out[f"final_layer.adaLN_modulation.1.{kind}"] = _swap_halves(sd.pop(f"norm_out.linear.{kind}"))
    if sd:
        raise ValueError(f"SD3 keys left unconverted: {sorted(sd)[:5]}")
    return out


def save_sd3_single_file(pipeline_dir: Path, out_path: Path, *, text_encoders: bool = True, vae: bool = True) -> Path:
    """A tiny SD 3.5 folder as one original-layout ``.safetensors``: ``model.diffusion_model.*`` (the MMDiT), and
    unless told otherwise ``first_stage_model.*`` (the VAE, LDM layout) and ``text_encoders.clip_l/clip_g/t5xxl.
    transformer.*`` (the encoders in transformers' own layout). With neither, the transformer keys have no prefix,
    as transformer-only files ship."""
    import json

    from safetensors.torch import load_file, save_file

    pipeline_dir = Path(pipeline_dir)

    def part(name: str) -> tuple[dict, dict]:
        folder = pipeline_dir / name
        return load_file(next(folder.glob("*.safetensors"))), json.loads((folder / "config.json").read_text())

    weights, config = part("transformer")
    transformer = sd3_transformer_to_original(weights, config["num_layers"])
    prefix = "model.diffusion_model." if text_encoders or vae else ""
    state = {prefix + k: v for k, v in transformer.items()}
    if vae:
        state.update({"first_stage_model." + k: v for k, v in _vae_to_ldm(*part("vae")).items()})
    if text_encoders:
        for name, key in (("text_encoder", "clip_l"), ("text_encoder_2", "clip_g")):
            state.update({f"text_encoders.{key}.transformer." + k: v for k, v in _hf_clip(part(name)[0]).items()})
        t5 = part("text_encoder_3")[0]
        t5.setdefault("encoder.embed_tokens.weight", t5["shared.weight"].clone())  # tied: saved once in the folder
        state.update({"text_encoders.t5xxl.transformer." + k: v for k, v in t5.items()})
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(out_path), metadata={"format": "pt"})
    return out_path
# --------------------------------------------------------------------------------------------- Z-Image
def build_tiny_z_image(out_dir: Path, turbo: bool = False) -> Path:
    """Z-Image: a Qwen3 text encoder, the single-stream ``ZImageTransformer2DModel``, Flux's 16-channel VAE and
    the shipped scheduler (shift 6.0; Turbo's 3.0, the only difference between their folders)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, ZImagePipeline, ZImageTransformer2DModel
    from transformers import Qwen3Config, Qwen3Model

    torch.manual_seed(SEED)
    width = 32
    text_encoder = Qwen3Model(Qwen3Config(
        vocab_size=QWEN_VOCAB_SIZE, hidden_size=width, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=1024,
    ))
    # head width 16 = the three rope axes' 8 + 4 + 4; the first axis numbers up to 512 caption tokens and a frame
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,), all_f_patch_size=(1,), in_channels=16, dim=32, n_layers=2, n_refiner_layers=1,
        n_heads=2, n_kv_heads=2, cap_feat_dim=width, axes_dims=[8, 4, 4], axes_lens=[1024, 32, 32],
    )
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, use_dynamic_shifting=False,
                                                shift=3.0 if turbo else 6.0)
    pipe = ZImagePipeline(transformer=transformer, vae=_flow_vae(16), text_encoder=text_encoder,
                          tokenizer=make_tiny_qwen_tokenizer(), scheduler=scheduler)
    return _save(pipe, out_dir)


BUILDERS["z_image"] = build_tiny_z_image
BUILDERS["z_image_turbo"] = lambda out: build_tiny_z_image(out, turbo=True)


def z_image_original_layout(state: dict, prefix: str = "model.diffusion_model.") -> dict:
    """A diffusers Z-Image transformer state dict in the original (Tongyi's, ComfyUI's) layout, the inverse of
    diffusers' ``convert_z_image_transformer_checkpoint_to_diffusers``: fused ``attention.qkv``, ``out``,
    ``q_norm``/``k_norm``, single ``x_embedder``/``final_layer``, each key under ``prefix``."""
    renames = (("all_final_layer.2-1.", "final_layer."), ("all_x_embedder.2-1.", "x_embedder."),
               (".attention.to_out.0.", ".attention.out."), (".attention.norm_q.", ".attention.q_norm."),
               (".attention.norm_k.", ".attention.k_norm."))
    out = {}
    for key, value in state.items():
        if ".attention.to_k." in key or ".attention.to_v." in key:
            continue
        if ".attention.to_q." in key:
            parts = [state[key.replace(".to_q.", f".to_{name}.")] for name in "qkv"]
            key, value = key.replace(".to_q.", ".qkv."), torch.cat(parts)
        for old, new in renames:
            key = key.replace(old, new)
        out[prefix + key] = value
    return out
