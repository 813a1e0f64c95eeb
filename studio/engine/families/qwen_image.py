"""Qwen-Image and Qwen-Image-Edit: an MMDiT flow-matching transformer whose text encoder is a Qwen2.5-VL language model.

- Recognised by its ``QwenImageTransformer2DModel``. An edit model (a folder whose pipeline is
  ``QwenImageEditPipeline``, or ``QwenImageEditPlusPipeline`` for the 2509 release; its Qwen2.5-VL encoder also
  sees the image, through the folder's ``processor``) is an instruction-editing model: image-to-image with it is an
  edit (the canvas image as the reference, the prompt as the instruction, no strength), recorded as mode "edit",
  as with Flux Kontext; text-to-image and inpainting run the ordinary Qwen-Image pipelines on its weights.
- Guidance is true CFG: the window's CFG (the recipe's "CFG scale") is diffusers' ``true_cfg_scale``. Above 1 each
  step runs the prompt and the negative prompt (an empty negative prompt too, as the model card's " " does); at 1
  or less it runs the prompt alone and the negative prompt is not used. diffusers' ``guidance_scale`` is for
  guidance-distilled transformers, which no released Qwen-Image is, and is not passed. The other defaults are the
  pipeline's: 4.0 and 50 steps, sides a multiple of 16, its own FlowMatchEulerDiscreteScheduler.
- The edit pipeline conditions on the reference image resized to about a megapixel whatever the output size, as
  diffusers' ``QwenImageEditPipeline`` does. Edit folders need torchvision: transformers 5 builds the processor's
  video processor too (without it loading says a library is missing, ``loading._load_folder``).
- Latents are 16-channel, from a Wan-style video VAE (one frame), packed in 2x2 patches as Flux's are; previews
  unpack them and use ComfyUI's ``latent_formats.Wan21`` factors (the format ComfyUI's ``supported_models.QwenImage``
  uses), which apply to the normalised latents the pipeline denoises.
- Prompts go to an LLM as text: weights are read away (``plain_prompts``).
"""

from __future__ import annotations

import numpy as np
from diffusers import (
    QwenImageEditPipeline,
    QwenImageEditPlusPipeline,
    QwenImageImg2ImgPipeline,
    QwenImageInpaintPipeline,
    QwenImagePipeline,
    QwenImageTransformer2DModel,
)

from studio.core.model_info import FamilyControls, ModelFamily
from studio.core.request import Mode
from studio.engine.families.base import FamilyPlugin
from studio.engine.families.flux import EDIT_MODE, FLOW_SAMPLER
from studio.engine.families.plain_prompts import PROMPT_NOTE, PlainPromptConditioning

_PIPELINES = {Mode.TEXT_TO_IMAGE: QwenImagePipeline, Mode.IMAGE_TO_IMAGE: QwenImageImg2ImgPipeline,
              Mode.INPAINT: QwenImageInpaintPipeline}
_EDIT_PIPELINES = (QwenImageEditPipeline, QwenImageEditPlusPipeline)

# ComfyUI latent_formats.Wan21: 16 channels x RGB, and bias.
_FACTORS = np.asarray([
    [-0.1299, -0.1692, 0.2932], [0.0671, 0.0406, 0.0442], [0.3568, 0.2548, 0.1747], [0.0372, 0.2344, 0.1420],
    [0.0313, 0.0189, -0.0328], [0.0296, -0.0956, -0.0665], [-0.3477, -0.4059, -0.2925], [0.0166, 0.1902, 0.1975],
    [-0.0412, 0.0267, -0.1364], [-0.1293, 0.0740, 0.1636], [0.0680, 0.3019, 0.1128], [0.0032, 0.0581, 0.0639],
    [-0.1251, 0.0927, 0.1699], [0.0060, -0.0633, 0.0005], [0.3477, 0.2275, 0.2950], [0.1984, 0.0913, 0.1861],
], np.float32)
_BIAS = np.asarray([-0.1835, -0.0868, -0.3360], np.float32)

_CFG_TIP = ("True CFG (diffusers' true_cfg_scale) with the negative prompt; 4 is the usual value. At 1 or less each "
            "step runs once and the negative prompt is not used.")


class QwenImage(FamilyPlugin):
    families = (ModelFamily.QWEN_IMAGE,)

    def family_of(self, pipe) -> ModelFamily | None:
        transformer = getattr(pipe, "transformer", None)
        return ModelFamily.QWEN_IMAGE if isinstance(transformer, QwenImageTransformer2DModel) else None

    def edits(self, pipe) -> bool:
        return isinstance(pipe, _EDIT_PIPELINES)

    def pipeline_class(self, mode: Mode, pipe):
        if mode is Mode.IMAGE_TO_IMAGE and self.edits(pipe):
            return type(pipe)  # the edit model's own pipeline (Edit or Edit Plus)
        return _PIPELINES[mode]

    def controls(self, pipe) -> FamilyControls:
        return FamilyControls(guidance_tip=_CFG_TIP, default_guidance=4.0, own_sampler=FLOW_SAMPLER, default_steps=50,
                              size_multiple=16, prompt_note=PROMPT_NOTE, latent_hires=False)

    def conditioning(self, pipe, request):
        return PlainPromptConditioning(pipe, request, negative=True)

    def call_arguments(self, common: dict, request, pipe) -> dict:
        """``pipe`` is the mode's pipeline: the edit pipeline takes no strength."""
        arguments = {name: value for name, value in common.items() if name != "guidance_scale"}
        arguments |= dict(true_cfg_scale=common["guidance_scale"], width=request.width, height=request.height)
        if self.edits(pipe):
            arguments.pop("strength", None)
        return arguments

    def recipe_mode(self, mode: Mode, pipe) -> str:
        return EDIT_MODE if mode is Mode.IMAGE_TO_IMAGE and self.edits(pipe) else mode.value

    def preview_factors(self, family: ModelFamily):
        return _FACTORS, _BIAS

    def preview_latents(self, latents, pipe, width: int, height: int):
        # (batch, channels, frames, h, w) with one frame
        return QwenImagePipeline._unpack_latents(latents, height, width, pipe.vae_scale_factor)[:, :, 0]
