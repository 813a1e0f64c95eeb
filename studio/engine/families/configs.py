"""The config-only diffusers folders (``model_index.json``, component configs and tokenizer files, no weights)
shipped for single-file checkpoints: ``from_single_file(..., config=...)`` builds the pipeline from them offline."""

from __future__ import annotations

from pathlib import Path

from studio.core.errors import StudioError
from studio.core.model_info import ModelFamily

MODEL_CONFIGS = Path(__file__).resolve().parent.parent / "model_configs"


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
