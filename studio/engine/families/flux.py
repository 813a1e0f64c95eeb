"""Flux.1 (dev, schnell, Fill, Kontext): a flow-matching transformer with CLIP and T5 encoders.

- Recognised by its ``FluxTransformer2DModel``; from a single file by the BFL transformer keys
  (``double_blocks.*``, with or without ``model.diffusion_model.``) or diffusers' own, Fill by its 384-channel
  ``img_in``. Such a file (``.safetensors``, or ``.gguf`` through diffusers' GGUF support) holds only the
  transformer: the text encoders, VAE and scheduler come from a Flux diffusers folder in the model library.
- dev and Kontext take *distilled* guidance (diffusers' ``guidance_scale``, Forge's "Distilled CFG Scale"):
  there is no true CFG and no negative prompt; schnell has no guidance embedding at all and wants ~4 steps.
- Fill is a dedicated inpainting model: every mode runs ``FluxFillPipeline``.
- Kontext is an instruction-editing model: image-to-image with it is an edit (``FluxKontextPipeline``, the image
  as reference, the prompt as the instruction, no strength), recorded as mode "edit"; text-to-image and
  inpainting run the ordinary Flux pipelines on its weights.
- Latents are 16-channel and packed in 2x2 patches (``(batch, h/2 * w/2, 64)``); previews unpack them and use
  the published Flux factors (ComfyUI ``latent_formats.Flux``). The sampler is the model's own
  FlowMatchEulerDiscreteScheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from diffusers import (
    FluxFillPipeline,
    FluxImg2ImgPipeline,
    FluxInpaintPipeline,
    FluxKontextPipeline,
    FluxPipeline,
    FluxTransformer2DModel,
)

from studio.core.errors import StudioError
from studio.core.model_info import FamilyControls, ModelFamily
from studio.core.request import Mode
from studio.engine.families.base import (
    FamilyPlugin,
    load_transformer_file,
    transformer_config,
)
from studio.engine.families.plain_prompts import PROMPT_NOTE, PlainPromptConditioning

_PIPELINES = {Mode.TEXT_TO_IMAGE: FluxPipeline, Mode.IMAGE_TO_IMAGE: FluxImg2ImgPipeline, Mode.INPAINT: FluxInpaintPipeline}

# ComfyUI latent_formats.Flux: 16 channels x RGB, and bias.
_FACTORS = np.asarray([
    [-0.0346, 0.0244, 0.0681], [0.0034, 0.0210, 0.0687], [0.0275, -0.0668, -0.0433], [-0.0174, 0.0160, 0.0617],
    [0.0859, 0.0721, 0.0329], [0.0004, 0.0383, 0.0115], [0.0405, 0.0861, 0.0915], [-0.0236, -0.0185, -0.0259],
    [-0.0245, 0.0250, 0.1180], [0.1008, 0.0755, -0.0421], [-0.0515, 0.0201, 0.0011], [0.0428, -0.0012, -0.0036],
    [0.0817, 0.0765, 0.0749], [-0.1264, -0.0522, -0.1103], [-0.0280, -0.0881, -0.0499], [-0.1262, -0.0982, -0.0778],
], np.float32)
_BIAS = np.asarray([-0.0329, -0.0718, -0.0851], np.float32)

_TRANSFORMER_KEY = "double_blocks.0.img_attn.qkv.weight"  # BFL's layout
_DIFFUSERS_KEY = "single_transformer_blocks.0.attn.to_q.weight"
_DIFFUSERS_IMG_IN = "x_embedder.weight"
_PLAIN_IN_CHANNELS = 64  # 16 latent channels x a 2x2 patch; Fill adds the masked image and the mask
_IMG_IN = "img_in.weight"
_LDM_PREFIX = "model.diffusion_model."
FLOW_SAMPLER = "Euler (flow matching)"
EDIT_MODE = "edit"  # the recipe's mode for an instruction edit (Kontext: the canvas image plus an instruction)

_DISTILLED_TIP = ("Distilled guidance (Forge's \"Distilled CFG Scale\"): Flux has no true CFG and no negative "
                  "prompt; 3.5 is the usual value.")


class Flux(FamilyPlugin):
    families = (ModelFamily.FLUX,)
    library_base = True  # its files hold only the transformer

    def family_of(self, pipe) -> ModelFamily | None:
        return ModelFamily.FLUX if isinstance(getattr(pipe, "transformer", None), FluxTransformer2DModel) else None

    def detect_keys(self, shapes: Mapping[str, tuple[int, ...]], name: str) -> tuple[ModelFamily, bool] | None:
        if _DIFFUSERS_KEY in shapes:  # a transformer saved in diffusers' layout (as some GGUF files are)
            img_in = shapes.get(_DIFFUSERS_IMG_IN, ())
        else:
            prefix = next((p for p in ("", _LDM_PREFIX) if p + _TRANSFORMER_KEY in shapes), None)
            if prefix is None:
                return None
            img_in = shapes.get(prefix + _IMG_IN, ())
        return ModelFamily.FLUX, len(img_in) == 2 and img_in[1] > _PLAIN_IN_CHANNELS

    def load_single_file(self, path: Path, family: ModelFamily, inpaint: bool, base: Path | None, dtype):
        """A transformer file (``.safetensors`` or ``.gguf``) with the text encoders, VAE and scheduler of
        ``base``, a Flux diffusers folder of the same kind (Fill for a Fill transformer)."""
        if base is None or not self.fits_base(base, path, inpaint):
            kind = "Flux Fill" if inpaint else "Flux.1"
            raise StudioError(f"'{path.name}' holds only a {kind} transformer; it needs the text encoders and VAE "
                              f"of a {kind} diffusers folder: put one in the model library's checkpoint folders.")
        return load_transformer_file(FluxTransformer2DModel, path, base, dtype)

    def fits_base(self, folder: Path, path: Path, inpaint: bool) -> bool:
        """Whether ``folder`` is a Flux diffusers folder whose transformer has a Fill's (or a plain) input."""
        config = transformer_config(folder, "FluxTransformer2DModel")
        try:
            return config is not None and (
                config["in_channels"] > (config.get("out_channels") or config["in_channels"])) == inpaint
        except (KeyError, TypeError):
            return False

    def dedicated_inpaint(self, pipe) -> bool:
        config = pipe.transformer.config
        return config.in_channels > (config.out_channels or config.in_channels)

    def edits(self, pipe) -> bool:
        return isinstance(pipe, FluxKontextPipeline)

    def pipeline_class(self, mode: Mode, pipe):
        if self.dedicated_inpaint(pipe):
            return FluxFillPipeline
        if self._editing(mode, pipe):
            return FluxKontextPipeline
        return _PIPELINES[mode]

    def controls(self, pipe) -> FamilyControls:
        common = dict(negative_prompt=False, own_sampler=FLOW_SAMPLER, size_multiple=16, prompt_note=PROMPT_NOTE,
                      latent_hires=False)
        if not pipe.transformer.config.guidance_embeds:  # schnell: timestep-distilled, guidance has no input
            return FamilyControls(guidance_label="Guidance", guidance_tip="Flux schnell takes no guidance value.",
                                  default_guidance=0.0, guidance_used=False, default_steps=4, **common)
        if self.dedicated_inpaint(pipe):
            return FamilyControls(guidance_label="Distilled CFG", guidance_tip=_DISTILLED_TIP.replace("3.5", "30"),
                                  default_guidance=30.0, default_steps=50, **common)
        return FamilyControls(guidance_label="Distilled CFG", guidance_tip=_DISTILLED_TIP, default_guidance=3.5,
                              default_steps=28, **common)

    def call_arguments(self, common: dict, request, pipe) -> dict:
        # Flux's image-to-image pipeline makes its default size (1024) unless told, not the input image's.
        arguments = common | dict(width=request.width, height=request.height)
        if self._editing(request.mode, pipe):
            arguments.pop("strength", None)  # Kontext edits the whole image: it has no strength
            arguments["max_area"] = request.width * request.height  # else it makes about a megapixel
        return arguments

    def recipe_mode(self, mode: Mode, pipe) -> str:
        return EDIT_MODE if self._editing(mode, pipe) else mode.value

    def _editing(self, mode: Mode, pipe) -> bool:
        return mode is Mode.IMAGE_TO_IMAGE and self.edits(pipe)

    def conditioning(self, pipe, request):
        return PlainPromptConditioning(pipe, request, negative=False)

    def preview_factors(self, family: ModelFamily):
        return _FACTORS, _BIAS

    def preview_latents(self, latents, pipe, width: int, height: int):
        return FluxPipeline._unpack_latents(latents, height, width, pipe.vae_scale_factor)
