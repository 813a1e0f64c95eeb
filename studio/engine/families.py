"""Which Stable Diffusion family a single-file checkpoint belongs to, and the config folders shipped for each.

Detection looks only at the key layout (and one tensor shape) in the file's header, never at the weights, so it
is instant on a 7 GB file and works the same on tiny test checkpoints and real ones:

- SDXL: an SGM ``conditioner.embedders.1.*`` (the OpenCLIP ViT-bigG text encoder);
- SD 2.x: an OpenCLIP text encoder at ``cond_stage_model.model.*``;
- SD 1.x: a Hugging Face CLIP text encoder at ``cond_stage_model.transformer.*``;
- a dedicated inpainting UNet has 9 input channels in ``model.diffusion_model.input_blocks.0.0.weight``.

:func:`config_dir` gives the config-only diffusers folder (``model_index.json``, component configs and tokenizer
files, no weights) that ``from_single_file(..., config=...)`` needs to build the pipeline without the network.
"""

from __future__ import annotations

from pathlib import Path

from studio.core.errors import StudioError
from studio.core.model_header import detect_keys, read_header
from studio.core.model_info import ModelFamily

__all__ = ["config_dir", "detect_checkpoint", "detect_keys", "read_header_shapes"]

MODEL_CONFIGS = Path(__file__).resolve().parent / "model_configs"


def read_header_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a ``.safetensors`` header; no tensor data is read."""
    return read_header(path).shapes


def detect_checkpoint(path: Path) -> tuple[ModelFamily, bool]:
    """``(family, inpaint_unet)`` of a ``.safetensors`` checkpoint, from its header alone.

    Raises :class:`StudioError` for files that are not safetensors (corrupt, truncated, empty) and for
    safetensors files that are not a Stable Diffusion 1.x, 2.x or SDXL checkpoint in the original layout.
    Pickle checkpoints (``.ckpt``, ``.pt``, ``.pth``) are not handled here.
    """
    path = Path(path)
    return detect_keys(read_header_shapes(path), path.name)


def config_dir(family: ModelFamily, inpaint: bool = False) -> Path:
    """The shipped config-only diffusers folder for ``family`` (the inpainting variant if ``inpaint``).

    Folders and the hub repos they reproduce: ``sd1`` stable-diffusion-v1-5, ``sd1_inpaint``
    stable-diffusion-inpainting, ``sd2`` stabilityai/stable-diffusion-2-1 (768, v-prediction), ``sd2_inpaint``
    stabilityai/stable-diffusion-2-inpainting, ``sdxl`` stabilityai/stable-diffusion-xl-base-1.0, ``sdxl_inpaint``
    diffusers/stable-diffusion-xl-1.0-inpainting-0.1. See ``model_configs/README.md`` for the one deliberate
    difference (no safety checker / feature extractor entries).
    """
    folder = MODEL_CONFIGS / (ModelFamily(family).value + ("_inpaint" if inpaint else ""))
    if not (folder / "model_index.json").is_file():
        raise StudioError(f"The app's configuration for {ModelFamily(family).label} models is missing; reinstall it.")
    return folder
