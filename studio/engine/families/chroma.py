"""Chroma: a Flux-derived flow-matching transformer with a T5 encoder only, true CFG and a negative prompt.

It shares Flux's VAE and 2x2 latent packing (so its previews unpack them and use the Flux factors), and runs its
own flow-matching Euler sampler; diffusers' defaults are guidance 5 and 35 steps.
"""

from __future__ import annotations

from diffusers import ChromaImg2ImgPipeline, ChromaInpaintPipeline, ChromaPipeline, ChromaTransformer2DModel

from studio.core.model_info import FamilyControls, ModelFamily
from studio.core.request import Mode
from studio.engine.families.base import FamilyPlugin
from studio.engine.families.flux import FLOW_SAMPLER, Flux
from studio.engine.families.plain_prompts import PROMPT_NOTE, PlainPromptConditioning

_PIPELINES = {Mode.TEXT_TO_IMAGE: ChromaPipeline, Mode.IMAGE_TO_IMAGE: ChromaImg2ImgPipeline,
              Mode.INPAINT: ChromaInpaintPipeline}
_FLUX = Flux()  # the latent layout and preview factors are Flux's


class Chroma(FamilyPlugin):
    families = (ModelFamily.CHROMA,)

    def family_of(self, pipe) -> ModelFamily | None:
        return ModelFamily.CHROMA if isinstance(getattr(pipe, "transformer", None), ChromaTransformer2DModel) else None

    def pipeline_class(self, mode: Mode, pipe):
        return _PIPELINES[mode]

    def make_pipeline(self, mode: Mode, pipe):
        if "guidance_embeds" not in pipe.transformer.config:
            # diffusers 0.42's ChromaInpaintPipeline reads this Flux setting; Chroma has no guidance embedding.
            pipe.transformer.register_to_config(guidance_embeds=False)
        return super().make_pipeline(mode, pipe)

    def controls(self, pipe) -> FamilyControls:
        return FamilyControls(default_guidance=5.0, own_sampler=FLOW_SAMPLER, default_steps=35, size_multiple=16,
                              prompt_note=PROMPT_NOTE, latent_hires=False)

    def conditioning(self, pipe, request):
        return PlainPromptConditioning(pipe, request, negative=True)

    def call_arguments(self, common: dict, request, pipe) -> dict:
        return common | dict(width=request.width, height=request.height)  # as Flux: img2img needs the size

    def preview_factors(self, family: ModelFamily):
        return _FLUX.preview_factors(ModelFamily.FLUX)

    def preview_latents(self, latents, pipe, width: int, height: int):
        return _FLUX.preview_latents(latents, pipe, width, height)
