"""The model families, each a plug-in (``base.FamilyPlugin``), and what is found out about a model file.

:data:`PLUGINS` lists them; :func:`plugin_for` finds the one for a loaded pipeline and :func:`detect_keys` the
family of a single file from its header alone (key layout and a few shapes, never the weights, so it is instant
on a 20 GB file and works the same on tiny test files):

- SD 1.x/2.x/SDXL checkpoints in the original LDM/SGM layout (``core.model_header.detect_keys``);
- a Flux.1 transformer file in the BFL layout (``double_blocks.*``); Fill by its wider ``img_in``;
- an SD 3.5 file in the original layout (``joint_blocks.*``, with or without its text encoders and VAE).
- a Z-Image transformer file (``layers.0.adaLN_modulation.0``, with or without ``model.diffusion_model.``).

:func:`config_dir` (``configs``) gives the config-only diffusers folders shipped for single-file checkpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from studio.core.errors import StudioError
from studio.core.model_info import ModelFamily
from studio.engine.families.base import FamilyPlugin, file_shapes
from studio.engine.families.chroma import Chroma
from studio.engine.families.configs import MODEL_CONFIGS, config_dir
from studio.engine.families.flux import Flux
from studio.engine.families.flux2 import Flux2
from studio.engine.families.qwen_image import QwenImage
from studio.engine.families.sd3 import StableDiffusion3
from studio.engine.families.stable_diffusion import StableDiffusion
from studio.engine.families.z_image import ZImage

__all__ = ["MODEL_CONFIGS", "PLUGINS", "FamilyPlugin", "config_dir", "detect_checkpoint", "detect_keys", "plugin_for",
           "plugin_of_family"]

PLUGINS: tuple[FamilyPlugin, ...] = (StableDiffusion(), Flux(), StableDiffusion3(), Chroma(), Flux2(), QwenImage(),
                                     ZImage())


def plugin_for(pipe, name: str) -> tuple[FamilyPlugin, ModelFamily]:
    """The plug-in serving a loaded pipeline, and its family; ``name`` is for the error sentence."""
    for plugin in PLUGINS:
        family = plugin.family_of(pipe)
        if family is not None:
            return plugin, family
    labels = ", ".join(family.label for plugin in PLUGINS for family in plugin.families)
    raise StudioError(f"'{name}' is not a model of a supported family ({labels}).")


def plugin_of_family(family: ModelFamily) -> FamilyPlugin:
    return next(plugin for plugin in PLUGINS if family in plugin.families)


def detect_keys(shapes: Mapping[str, tuple[int, ...]], name: str) -> tuple[ModelFamily, bool]:
    """``(family, dedicated_inpaint)`` from a file's tensor names and shapes; raises :class:`StudioError`."""
    for plugin in PLUGINS:
        found = plugin.detect_keys(shapes, name)
        if found is not None:
            return found
    raise StudioError(f"'{name}' is not a Stable Diffusion 1.x, 2.x or SDXL checkpoint, nor a Flux.1 or SD 3.5 model.")


def detect_checkpoint(path: Path) -> tuple[ModelFamily, bool]:
    """``(family, dedicated_inpaint)`` of a ``.safetensors`` or ``.gguf`` file, from its header alone.

    Raises :class:`StudioError` for files that are not safetensors (corrupt, truncated, empty) and for
    safetensors files of no supported family. Pickle checkpoints (``.ckpt``, ``.pt``, ``.pth``) are not read here.
    """
    path = Path(path)
    return detect_keys(file_shapes(path), path.name)
