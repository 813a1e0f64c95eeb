"""Flux.2 Klein: a flow-matching transformer with a Qwen3 text encoder, made for generating and editing.

- Recognised by its ``Flux2Transformer2DModel`` with a ``Qwen3ForCausalLM`` text encoder (the Klein pipelines').
  Flux.2 [dev] has the same transformer class but a 24B Mistral encoder and no inpainting pipeline in diffusers;
  it is refused in one sentence at load.
- Two kinds, told apart by the pipeline's own ``is_distilled`` setting: the *distilled* Klein runs without CFG in
  about 4 steps (diffusers ignores the guidance value); the *base* Klein has true CFG (diffusers' default 4.0,
  50 steps). diffusers' Klein call takes no negative prompt text, only ``negative_prompt_embeds`` (its own
  negative is ""): a base model's negative prompt is encoded by the pipeline's ``encode_prompt`` and passed so.
- Text-to-image runs ``Flux2KleinPipeline``. diffusers has no Klein image-to-image pipeline; image-to-image
  runs ``Flux2KleinInpaintPipeline`` with everything masked: the canvas image is the start at the chosen
  strength (as in any app's image-to-image, and what hires fix and tiled refine need) and also Klein's
  reference image, so at strength 1 the prompt re-makes the whole picture from it, as an instruction edit.
  Inpainting runs the same pipeline with the mask.
- Latents: the VAE has 32 channels; the pipeline folds 2x2 patches into 128 channels, normalises them by the
  VAE's batch-norm statistics and packs them as ``(batch, h/16 * w/16, 128)``. Previews unpack and unfold them
  to 32 channels at 1/8 size and use the published Flux.2 factors, which work on those normalised latents
  (ComfyUI ``latent_formats.Flux2``: 32 rows after its ``latent_rgb_factors_reshape`` unfolds the 128 channels;
  ComfyUI samples in the same normalised space). The sampler is the model's own FlowMatchEulerDiscreteScheduler.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import Flux2KleinInpaintPipeline, Flux2KleinPipeline, Flux2Transformer2DModel
from PIL import Image
from transformers import Qwen3ForCausalLM

from studio.core.errors import StudioError
from studio.core.model_info import FamilyControls, ModelFamily
from studio.core.request import Mode
from studio.engine.families.base import FamilyPlugin
from studio.engine.families.flux import FLOW_SAMPLER
from studio.engine.families.plain_prompts import PROMPT_NOTE, PlainPromptConditioning

_PIPELINES = {Mode.TEXT_TO_IMAGE: Flux2KleinPipeline, Mode.IMAGE_TO_IMAGE: Flux2KleinInpaintPipeline,
              Mode.INPAINT: Flux2KleinInpaintPipeline}

# ComfyUI latent_formats.Flux2: 32 channels x RGB (after unfolding the 2x2 patches), and bias.
_FACTORS = np.asarray([
    [0.0058, 0.0113, 0.0073], [0.0495, 0.0443, 0.0836], [-0.0099, 0.0096, 0.0644], [0.2144, 0.3009, 0.3652],
    [0.0166, -0.0039, -0.0054], [0.0157, 0.0103, -0.0160], [-0.0398, 0.0902, -0.0235], [-0.0052, 0.0095, 0.0109],
    [-0.3527, -0.2712, -0.1666], [-0.0301, -0.0356, -0.0180], [-0.0107, 0.0078, 0.0013], [0.0746, 0.0090, -0.0941],
    [0.0156, 0.0169, 0.0070], [-0.0034, -0.0040, -0.0114], [0.0032, 0.0181, 0.0080], [-0.0939, -0.0008, 0.0186],
    [0.0018, 0.0043, 0.0104], [0.0284, 0.0056, -0.0127], [-0.0024, -0.0022, -0.0030], [0.1207, -0.0026, 0.0065],
    [0.0128, 0.0101, 0.0142], [0.0137, -0.0072, -0.0007], [0.0095, 0.0092, -0.0059], [0.0000, -0.0077, -0.0049],
    [-0.0465, -0.0204, -0.0312], [0.0095, 0.0012, -0.0066], [0.0290, -0.0034, 0.0025], [0.0220, 0.0169, -0.0048],
    [-0.0332, -0.0457, -0.0468], [-0.0085, 0.0389, 0.0609], [-0.0076, 0.0003, -0.0043], [-0.0111, -0.0460, -0.0614],
], np.float32)
_BIAS = np.asarray([-0.0329, -0.0718, -0.0851], np.float32)

_DISTILLED_TIP = ("This Flux.2 Klein is step-distilled: it runs without CFG (the value is not used) in about 4 steps; "
                  "its base model takes CFG.")
_DEV_REFUSAL = ("This is a Flux.2 [dev] model (Mistral text encoder); Latent Studio runs Flux.2 Klein models, "
                "not yet Flux.2 [dev].")


class Flux2(FamilyPlugin):
    families = (ModelFamily.FLUX2,)

    def family_of(self, pipe) -> ModelFamily | None:
        """Raises :class:`StudioError` for Flux.2 [dev], which it recognises but does not run."""
        if not isinstance(getattr(pipe, "transformer", None), Flux2Transformer2DModel):
            return None
        if not isinstance(getattr(pipe, "text_encoder", None), Qwen3ForCausalLM):
            raise StudioError(_DEV_REFUSAL)
        return ModelFamily.FLUX2

    def pipeline_class(self, mode: Mode, pipe):
        return _PIPELINES[mode]

    def controls(self, pipe) -> FamilyControls:
        common = dict(own_sampler=FLOW_SAMPLER, size_multiple=pipe.vae_scale_factor * 2, prompt_note=PROMPT_NOTE,
                      latent_hires=False)
        if _distilled(pipe):
            return FamilyControls(guidance_label="CFG", guidance_tip=_DISTILLED_TIP, default_guidance=1.0,
                                  guidance_used=False, negative_prompt=False, default_steps=4, **common)
        return FamilyControls(default_guidance=4.0, default_steps=50, **common)

    def conditioning(self, pipe, request):
        return KleinPromptConditioning(pipe, request, negative=not _distilled(pipe))

    def call_arguments(self, common: dict, request, pipe) -> dict:
        arguments = common | dict(width=request.width, height=request.height)
        if "image" in arguments and "mask_image" not in arguments:  # image-to-image: the inpainting pipeline, all masked
            arguments["mask_image"] = Image.new("L", (request.width, request.height), 255)
        return arguments

    def preview_factors(self, family: ModelFamily):
        return _FACTORS, _BIAS

    def preview_latents(self, latents, pipe, width: int, height: int):
        grid = pipe.vae_scale_factor * 2  # one packed token per 2x2 latent patch
        patches = latents.reshape(latents.shape[0], height // grid, width // grid, -1).permute(0, 3, 1, 2)
        return Flux2KleinPipeline._unpatchify_latents(patches)


def _distilled(pipe) -> bool:
    return bool(pipe.config.get("is_distilled", False))


class KleinPromptConditioning(PlainPromptConditioning):
    """The prompt as text; a negative prompt as embeddings (the only form the Klein pipelines take it in)."""

    def __init__(self, pipe, request, *, negative: bool) -> None:
        super().__init__(pipe, request, negative=negative)
        self.negative_embeds = None
        if self.negative:  # empty: the pipeline's own negative, "", is the same
            with torch.inference_mode():
                self.negative_embeds = pipe.encode_prompt(self.negative, device=pipe._execution_device)[0]

    def arguments(self) -> dict:
        if self.negative_embeds is None:
            return dict(prompt=self.prompt)
        return dict(prompt=self.prompt, negative_prompt_embeds=self.negative_embeds)
