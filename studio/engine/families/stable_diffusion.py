"""Stable Diffusion 1.x, 2.x and SDXL: UNet models with CLIP encoders, the first family plug-in.

Recognised from a loaded pipeline by its components (a second text encoder: SDXL; a UNet with linear
projections: SD 2.x), from a single file by its original LDM/SGM keys (``core.model_header.detect_keys``).
Each mode is served by diffusers' ``AutoPipelineFor*``; prompts go through A1111's emphasis and chunking
(``engine.prompt_encoding``); the preview factors are the published SD and SDXL ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from diffusers import (
    AutoPipelineForImage2Image,
    AutoPipelineForInpainting,
    AutoPipelineForText2Image,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLInpaintPipeline,
    StableDiffusionXLPipeline,
)

from studio.core.model_header import UNET_CONV_IN, detect_keys
from studio.core.model_info import ModelFamily
from studio.core.request import Mode
from studio.engine.families.base import FamilyPlugin
from studio.engine.families.configs import config_dir
from studio.engine.prompt_encoding import PromptConditioning

AUTO_PIPELINES = {
    Mode.TEXT_TO_IMAGE: AutoPipelineForText2Image,
    Mode.IMAGE_TO_IMAGE: AutoPipelineForImage2Image,
    Mode.INPAINT: AutoPipelineForInpainting,
}

_SINGLE_FILE_CLASSES = {
    (False, False): StableDiffusionPipeline,
    (False, True): StableDiffusionInpaintPipeline,
    (True, False): StableDiffusionXLPipeline,
    (True, True): StableDiffusionXLInpaintPipeline,
}

# Published 4x3 factor matrices (and bias) mapping UNet-space latents to RGB in [-1, 1].
_SD_FACTORS = [
    [0.3512, 0.2297, 0.3227],
    [0.3250, 0.4974, 0.2350],
    [-0.2829, 0.1762, 0.2721],
    [-0.2120, -0.2616, -0.7177],
]
_SDXL_FACTORS = [
    [0.3651, 0.4232, 0.4341],
    [-0.2533, -0.0042, 0.1068],
    [0.1076, 0.1111, -0.0362],
    [-0.3165, -0.2492, -0.2188],
]
_SDXL_BIAS = [0.1084, -0.0175, -0.0011]

_FACTORS: dict[ModelFamily, tuple[np.ndarray, np.ndarray]] = {
    family: (np.asarray(factors, np.float32), np.asarray(bias, np.float32))
    for family, factors, bias in (
        (ModelFamily.SD1, _SD_FACTORS, [0.0, 0.0, 0.0]),
        (ModelFamily.SD2, _SD_FACTORS, [0.0, 0.0, 0.0]),
        (ModelFamily.SDXL, _SDXL_FACTORS, _SDXL_BIAS),
    )
}

_INPAINT_CHANNELS = 9


class StableDiffusion(FamilyPlugin):
    families = (ModelFamily.SD1, ModelFamily.SD2, ModelFamily.SDXL)
    controlnets = True

    def family_of(self, pipe) -> ModelFamily | None:
        if not hasattr(pipe, "unet"):
            return None
        if getattr(pipe, "text_encoder_2", None) is not None:
            return ModelFamily.SDXL
        if pipe.unet.config.get("use_linear_projection"):
            return ModelFamily.SD2
        return ModelFamily.SD1

    def detect_keys(self, shapes: Mapping[str, tuple[int, ...]], name: str) -> tuple[ModelFamily, bool] | None:
        if UNET_CONV_IN not in shapes:
            return None
        return detect_keys(shapes, name)

    def load_single_file(self, path: Path, family: ModelFamily, inpaint: bool, config: Path | None, dtype):
        cls = _SINGLE_FILE_CLASSES[(family is ModelFamily.SDXL, inpaint)]
        config = config or config_dir(family, inpaint)
        return cls.from_single_file(str(path), config=str(config), local_files_only=True, dtype=dtype)

    def dedicated_inpaint(self, pipe) -> bool:
        return pipe.unet.config.in_channels == _INPAINT_CHANNELS

    def pipeline_class(self, mode: Mode, pipe):
        return AUTO_PIPELINES[mode]

    def make_pipeline(self, mode: Mode, pipe):
        # The AutoPipeline picks the class for the loaded one (SD or SDXL) and, unlike DiffusionPipeline.from_pipe,
        # builds it without casting the shared modules.
        return AUTO_PIPELINES[mode].from_pipe(pipe)

    def conditioning(self, pipe, request):
        return PromptConditioning(pipe, request)

    def preview_factors(self, family: ModelFamily):
        return _FACTORS[family]
