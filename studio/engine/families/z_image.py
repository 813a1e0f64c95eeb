"""Z-Image and Z-Image-Turbo (Tongyi-MAI): a single-stream flow-matching transformer with a Qwen3 LLM encoder.

- Recognised by its ``ZImageTransformer2DModel``; each mode runs diffusers' Z-Image pipeline of that mode. A
  transformer file (diffusers' or the original/ComfyUI layout, ``layers.0.adaLN_modulation.0``) takes its text
  encoder, VAE and scheduler from a Z-Image diffusers folder in the model library, as Flux files do.
- Guidance is true CFG written as ``pred = pos + g * (pos - neg)``: 0 turns it off (one transformer pass a step)
  and ``g`` counts from 0 where A1111's and ComfyUI's CFG count from 1, so Z-Image's 4 is their 5. The base
  model takes a negative prompt; the defaults are those of diffusers' pipeline signature (5, 50 steps).
- Turbo is distilled to run without CFG in 8 steps: its model card's 9 were written for the first diffusers
  releases, whose last step sat at sigma 0 and did nothing (diffusers 0.42's 8 give the same sigmas, without
  that wasted transformer pass). The shipped folders differ only in their scheduler's ``shift`` (Turbo 3.0,
  the base model 6.0), so that is how Turbo is told apart; it then defaults to guidance 0 and 8 steps. Its
  pipeline still takes a negative prompt, used only with CFG above 0 (as SD's is only with CFG above 1).
- The prompt reaches the LLM through its chat template, as plain text (``plain_prompts``).
- Latents are those of Flux's VAE (16 channels) but not packed (the transformer patches them 2x2 itself), so
  previews use Flux's factors on them as they are; sides are multiples of 16 (the VAE's 8 times the patch).
  The sampler is the model's own FlowMatchEulerDiscreteScheduler with Z-Image's own sigmas.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path

from diffusers import ZImageImg2ImgPipeline, ZImageInpaintPipeline, ZImagePipeline, ZImageTransformer2DModel

from studio.core.errors import StudioError
from studio.core.model_info import FamilyControls, ModelFamily
from studio.core.request import Mode
from studio.engine.families.base import (
    FamilyPlugin,
    load_transformer_file,
    transformer_config,
)
from studio.engine.families.flux import FLOW_SAMPLER, Flux
from studio.engine.families.plain_prompts import PROMPT_NOTE, PlainPromptConditioning

_PIPELINES = {Mode.TEXT_TO_IMAGE: ZImagePipeline, Mode.IMAGE_TO_IMAGE: ZImageImg2ImgPipeline,
              Mode.INPAINT: ZImageInpaintPipeline}
_DEFAULTS = inspect.signature(ZImagePipeline.__call__).parameters
_TURBO_SHIFT = 3.0  # Z-Image-Turbo's scheduler config; the base model ships 6.0
_TURBO_STEPS = 8
_TRANSFORMER_KEY = "layers.0.adaLN_modulation.0.weight"  # diffusers' own check for Z-Image transformer files
_LDM_PREFIX = "model.diffusion_model."
_FLUX = Flux()  # the preview factors are Flux's (the same VAE)

_CFG_TIP = ("Z-Image's CFG: 0 turns it off; it counts from 0 where A1111's and ComfyUI's CFG count from 1 "
            "(Z-Image's 4 is their 5).")
_TURBO_TIP = ("Z-Image-Turbo is distilled to run without CFG: keep 0 (the negative prompt is then not used). "
              "Above 0 it runs CFG counted from 0, A1111's CFG minus 1.")


class ZImage(FamilyPlugin):
    families = (ModelFamily.Z_IMAGE,)
    library_base = True  # its files hold only the transformer

    def family_of(self, pipe) -> ModelFamily | None:
        transformer = getattr(pipe, "transformer", None)
        return ModelFamily.Z_IMAGE if isinstance(transformer, ZImageTransformer2DModel) else None

    def load_single_file(self, path: Path, family: ModelFamily, inpaint: bool, base: Path | None, dtype):
        """A transformer file with the text encoder, VAE and scheduler of ``base``, a Z-Image diffusers folder."""
        if base is None or not self.fits_base(base, path, inpaint):
            raise StudioError(f"'{path.name}' holds only a Z-Image transformer; it needs the other components (text "
                              "encoder, VAE) of a Z-Image diffusers folder: put one in the model library's "
                              "checkpoint folders.")
        return load_transformer_file(ZImageTransformer2DModel, path, base, dtype)

    def fits_base(self, folder: Path, path: Path, inpaint: bool) -> bool:
        return transformer_config(folder, "ZImageTransformer2DModel") is not None

    def detect_keys(self, shapes: Mapping[str, tuple[int, ...]], name: str) -> tuple[ModelFamily, bool] | None:
        if any(prefix + _TRANSFORMER_KEY in shapes for prefix in ("", _LDM_PREFIX)):
            return ModelFamily.Z_IMAGE, False
        return None

    def pipeline_class(self, mode: Mode, pipe):
        return _PIPELINES[mode]

    def _turbo(self, pipe) -> bool:
        return pipe.scheduler.config.get("shift") == _TURBO_SHIFT

    def controls(self, pipe) -> FamilyControls:
        common = dict(own_sampler=FLOW_SAMPLER, size_multiple=pipe.vae_scale_factor * 2, prompt_note=PROMPT_NOTE,
                      latent_hires=False)
        if self._turbo(pipe):
            return FamilyControls(guidance_tip=_TURBO_TIP, default_guidance=0.0, default_steps=_TURBO_STEPS, **common)
        return FamilyControls(guidance_tip=_CFG_TIP, default_guidance=_DEFAULTS["guidance_scale"].default,
                              default_steps=_DEFAULTS["num_inference_steps"].default, **common)

    def conditioning(self, pipe, request):
        return PlainPromptConditioning(pipe, request, negative=True)

    def preview_factors(self, family: ModelFamily):
        return _FLUX.preview_factors(ModelFamily.FLUX)
