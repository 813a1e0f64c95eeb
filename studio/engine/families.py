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

import json
from collections.abc import Mapping
from pathlib import Path

from studio.core.errors import StudioError
from studio.core.model_info import ModelFamily

MODEL_CONFIGS = Path(__file__).resolve().parent / "model_configs"
UNET_CONV_IN = "model.diffusion_model.input_blocks.0.0.weight"
_TEXT_ENCODER_LAYOUTS = (  # checked in this order: an SDXL file has no cond_stage_model, SD1/SD2 no conditioner
    ("conditioner.embedders.1.", ModelFamily.SDXL),
    ("cond_stage_model.model.", ModelFamily.SD2),
    ("cond_stage_model.transformer.", ModelFamily.SD1),
)
_INPAINT_CHANNELS = 9
_PLAIN_CHANNELS = 4


def detect_keys(shapes: Mapping[str, tuple[int, ...]], name: str) -> tuple[ModelFamily, bool]:
    """``(family, inpaint_unet)`` from a checkpoint's tensor names and shapes (original LDM/SGM layout);
    ``name`` is the file's name, for the error sentences."""
    not_sd = StudioError(f"'{name}' is not a Stable Diffusion 1.x, 2.x or SDXL checkpoint.")
    conv_in = shapes.get(UNET_CONV_IN)
    if conv_in is None or len(conv_in) != 4:
        raise not_sd
    family = next((fam for prefix, fam in _TEXT_ENCODER_LAYOUTS if any(k.startswith(prefix) for k in shapes)), None)
    if family is None:
        raise not_sd
    channels = conv_in[1]
    if channels not in (_PLAIN_CHANNELS, _INPAINT_CHANNELS):
        raise StudioError(
            f"'{name}' is a {family.label} model with a {channels}-channel UNet (an edit or depth model); "
            "only text-to-image and inpainting models are supported."
        )
    return family, channels == _INPAINT_CHANNELS


def read_header_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a ``.safetensors`` header; no tensor data is read."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise StudioError(f"There is no file at '{path}'.")
    try:
        _check_header_bounds(path)
        with safe_open(str(path), framework="pt") as f:
            return {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}
    except StudioError:
        raise
    except OSError as exc:
        raise StudioError(f"'{path.name}' could not be read ({exc.strerror or exc}).") from exc
    except Exception as exc:  # safetensors raises its own SafetensorError (and ValueError/TypeError on odd headers)
        raise StudioError(f"'{path.name}' is not a valid .safetensors file.") from exc


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


def _check_header_bounds(path: Path) -> None:
    """Reject empty and truncated files up front (8-byte little-endian header length, JSON header, then data)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError("too short")
        header_len = int.from_bytes(head, "little")
        if header_len < 2 or 8 + header_len > size:
            raise ValueError("header length out of range")
        header = json.loads(f.read(header_len))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    if 8 + header_len + max(ends, default=0) > size:
        raise ValueError("truncated")
