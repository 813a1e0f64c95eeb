"""A pipeline with the real SD 1.5 architecture and random weights, built from the shipped config folder."""

import torch
from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from studio.core.model_info import ModelFamily
from studio.engine.families import config_dir


def sd15_unet() -> UNet2DConditionModel:
    """The SD 1.5 UNet with random weights (from torch's current seed)."""
    root = config_dir(ModelFamily.SD1, False)
    return UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(root / "unet"))


def build_sd15(folder=None) -> StableDiffusionPipeline:
    """Random weights, real shapes: what matters for speed. Saved to ``folder`` when given."""
    root = config_dir(ModelFamily.SD1, False)
    torch.manual_seed(0)
    pipe = StableDiffusionPipeline(
        unet=sd15_unet(),
        vae=AutoencoderKL.from_config(AutoencoderKL.load_config(root / "vae")),
        text_encoder=CLIPTextModel(CLIPTextConfig.from_pretrained(root / "text_encoder")),
        tokenizer=CLIPTokenizer.from_pretrained(root / "tokenizer"),
        scheduler=PNDMScheduler.from_pretrained(root / "scheduler"),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    if folder is not None:
        pipe.save_pretrained(folder)
    return pipe
