"""Stable Diffusion 3.5: an MMDiT flow-matching transformer with two CLIP encoders and a T5.

Unlike Flux it has true CFG and a negative prompt (diffusers' default ``guidance_scale`` 7.0, 28 steps).
Latents are 16-channel and unpacked (the transformer patches them itself); previews use the published SD3
factors (ComfyUI ``latent_formats.SD3``). Prompts are passed as text (``plain_prompts``).
"""

from __future__ import annotations

import numpy as np
from diffusers import (
    SD3Transformer2DModel,
    StableDiffusion3Img2ImgPipeline,
    StableDiffusion3InpaintPipeline,
    StableDiffusion3Pipeline,
)

from studio.core.model_info import FamilyControls, ModelFamily
from studio.core.request import Mode
from studio.engine.families.base import FamilyPlugin
from studio.engine.families.flux import FLOW_SAMPLER
from studio.engine.families.plain_prompts import PROMPT_NOTE, PlainPromptConditioning

_PIPELINES = {
    Mode.TEXT_TO_IMAGE: StableDiffusion3Pipeline,
    Mode.IMAGE_TO_IMAGE: StableDiffusion3Img2ImgPipeline,
    Mode.INPAINT: StableDiffusion3InpaintPipeline,
}

# ComfyUI latent_formats.SD3: 16 channels x RGB, and bias.
_FACTORS = np.asarray([
    [-0.0922, -0.0175, 0.0749], [0.0311, 0.0633, 0.0954], [0.1994, 0.0927, 0.0458], [0.0856, 0.0339, 0.0902],
    [0.0587, 0.0272, -0.0496], [-0.0006, 0.1104, 0.0309], [0.0978, 0.0306, 0.0427], [-0.0042, 0.1038, 0.1358],
    [-0.0194, 0.0020, 0.0669], [-0.0488, 0.0130, -0.0268], [0.0922, 0.0988, 0.0951], [-0.0278, 0.0524, -0.0542],
    [0.0332, 0.0456, 0.0895], [-0.0069, -0.0030, -0.0810], [-0.0596, -0.0465, -0.0293], [-0.1448, -0.1463, -0.1189],
], np.float32)
_BIAS = np.asarray([0.2394, 0.2135, 0.1925], np.float32)


class StableDiffusion3(FamilyPlugin):
    families = (ModelFamily.SD3,)

    def family_of(self, pipe) -> ModelFamily | None:
        return ModelFamily.SD3 if isinstance(getattr(pipe, "transformer", None), SD3Transformer2DModel) else None

    def pipeline_class(self, mode: Mode, pipe):
        return _PIPELINES[mode]

    def controls(self, pipe) -> FamilyControls:
        return FamilyControls(default_guidance=7.0, own_sampler=FLOW_SAMPLER, default_steps=28, size_multiple=16,
                              prompt_note=PROMPT_NOTE, latent_hires=False)

    def conditioning(self, pipe, request):
        return PlainPromptConditioning(pipe, request, negative=True)

    def preview_factors(self, family: ModelFamily):
        return _FACTORS, _BIAS
