"""Stable Diffusion 3.5: an MMDiT flow-matching transformer with two CLIP encoders and a T5.

Unlike Flux it has true CFG and a negative prompt (diffusers' default ``guidance_scale`` 7.0, 28 steps).
Latents are 16-channel and unpacked (the transformer patches them itself); previews use the published SD3
factors (ComfyUI ``latent_formats.SD3``). Prompts are passed as text (``plain_prompts``).

Single files are recognised by the original MMDiT keys (``joint_blocks.*``, with or without
``model.diffusion_model.``). They may hold the VAE (``first_stage_model.*``) and the text encoders
(``text_encoders.clip_l/clip_g/t5xxl.*``) too, but never the tokenizers, and the app ships no T5 vocabulary (no
config-only folder as for SD 1.x/SDXL): so every SD 3.5 file takes its configuration, its tokenizers and the components it lacks from an SD 3.5 diffusers
folder of the same architecture (Large or Medium: the number of blocks and the dual-attention blocks) in the model
library. A file that holds only the transformer (``.safetensors`` or city96's ``.gguf``) loads as Flux transformer
files do; one with more goes through ``StableDiffusion3Pipeline.from_single_file``, given the folder's components
the file does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from diffusers import (
    SD3Transformer2DModel,
    StableDiffusion3Img2ImgPipeline,
    StableDiffusion3InpaintPipeline,
    StableDiffusion3Pipeline,
)

from studio.core.errors import StudioError
from studio.core.model_info import FamilyControls, ModelFamily
from studio.core.request import Mode
from studio.engine.families.base import FamilyPlugin, file_shapes, load_transformer_file, transformer_config
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

_JOINT_KEY = "joint_blocks.0.context_block.adaLN_modulation.1.bias"  # diffusers' own SD3 marker
_LDM_PREFIX = "model.diffusion_model."
_BLOCK = re.compile(r"^(?:model\.diffusion_model\.)?joint_blocks\.(\d+)\.(x_block\.attn2\.)?")
# The components a single file may hold besides the transformer, by the key prefix of each in the original layout.
_FILE_PARTS = {"vae": "first_stage_model.", "text_encoder": "text_encoders.clip_l.",
               "text_encoder_2": "text_encoders.clip_g.", "text_encoder_3": "text_encoders.t5xxl."}


def _architecture(shapes: Mapping[str, tuple[int, ...]]) -> tuple[int, tuple[int, ...]]:
    """The number of joint blocks of a file's transformer, and those with a second (dual) attention (Medium)."""
    blocks, dual = set(), set()
    for key in shapes:
        match = _BLOCK.match(key)
        if match:
            blocks.add(int(match[1]))
            if match[2]:
                dual.add(int(match[1]))
    return max(blocks, default=-1) + 1, tuple(sorted(dual))


class StableDiffusion3(FamilyPlugin):
    families = (ModelFamily.SD3,)

    library_base = True  # its files never hold the tokenizers

    def family_of(self, pipe) -> ModelFamily | None:
        return ModelFamily.SD3 if isinstance(getattr(pipe, "transformer", None), SD3Transformer2DModel) else None

    def detect_keys(self, shapes: Mapping[str, tuple[int, ...]], name: str) -> tuple[ModelFamily, bool] | None:
        return (ModelFamily.SD3, False) if any(p + _JOINT_KEY in shapes for p in ("", _LDM_PREFIX)) else None

    def load_single_file(self, path: Path, family: ModelFamily, inpaint: bool, base: Path | None, dtype):
        if base is None or not self.fits_base(base, path, inpaint):
            raise StudioError(
                f"'{path.name}' is an SD 3.5 file, which takes its tokenizers (and the text encoders and VAE it does "
                "not hold) from an SD 3.5 diffusers folder of the same kind (Large or Medium): put one in the model "
                "library's checkpoint folders."
            )
        shapes = file_shapes(path)
        held = [name for name, prefix in _FILE_PARTS.items() if any(key.startswith(prefix) for key in shapes)]
        if not held:
            return load_transformer_file(SD3Transformer2DModel, path, base, dtype)
        rest = StableDiffusion3Pipeline.from_pretrained(base, transformer=None, local_files_only=True, dtype=dtype,
                                                        **dict.fromkeys(held))
        given = {name: module for name, module in rest.components.items() if module is not None}
        pipe = StableDiffusion3Pipeline.from_single_file(str(path), config=str(base), local_files_only=True,
                                                         dtype=dtype, **given)
        # diffusers 0.42 leaves a T5 read from a single file in training mode: its dropout would make every prompt's
        # embedding random.
        for module in pipe.components.values():
            if isinstance(module, torch.nn.Module):
                module.eval()
        return pipe

    def fits_base(self, folder: Path, path: Path, inpaint: bool) -> bool:
        """An SD 3.5 diffusers folder whose transformer has the file's blocks (38 for Large, 24 with 13 dual-attention
        ones for 3.5 Medium); its text encoders and VAE are the same for every SD 3.5 model."""
        config = transformer_config(folder, "SD3Transformer2DModel")
        if config is None:
            return False
        blocks, dual = _architecture(file_shapes(path))
        return config.get("num_layers") == blocks and tuple(config.get("dual_attention_layers") or ()) == dual

    def pipeline_class(self, mode: Mode, pipe):
        return _PIPELINES[mode]

    def controls(self, pipe) -> FamilyControls:
        return FamilyControls(default_guidance=7.0, own_sampler=FLOW_SAMPLER, default_steps=28, size_multiple=16,
                              prompt_note=PROMPT_NOTE, latent_hires=False)

    def conditioning(self, pipe, request):
        return PlainPromptConditioning(pipe, request, negative=True)

    def preview_factors(self, family: ModelFamily):
        return _FACTORS, _BIAS
