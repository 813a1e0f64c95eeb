"""What a ``.safetensors`` file is, from its JSON header alone (never the tensor data, so 7 GB files are instant).

The format: 8 bytes little-endian header length, a JSON object ``{name: {dtype, shape, data_offsets}, ...,
"__metadata__": {str: str}}``, then the tensor bytes. :func:`read_header` checks the bounds (empty, truncated
and garbage files are refused with one sentence); the rest are plain functions of the header:

- :func:`detect_keys`: family and inpainting UNet of a checkpoint in the original LDM/SGM layout;
- :func:`guess_kind` and :func:`guess_family`: what a file is (checkpoint, LoRA, embedding, VAE) and for which
  family, from key names and the training metadata, for the model library.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.errors import StudioError
from studio.core.model_info import ModelFamily

UNET_CONV_IN = "model.diffusion_model.input_blocks.0.0.weight"
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors library's own limit
_TEXT_ENCODER_LAYOUTS = (  # checked in this order: an SDXL file has no cond_stage_model, SD1/SD2 no conditioner
    ("conditioner.embedders.1.", ModelFamily.SDXL),
    ("cond_stage_model.model.", ModelFamily.SD2),
    ("cond_stage_model.transformer.", ModelFamily.SD1),
)
_INPAINT_CHANNELS = 9
_PLAIN_CHANNELS = 4


@dataclass(frozen=True)
class Header:
    shapes: dict[str, tuple[int, ...]]
    metadata: dict[str, str] = field(default_factory=dict)
    data_start: int = 0  # byte offset of the tensor data (what A1111's "addnet" LoRA hash covers)
    dtypes: dict[str, str] = field(default_factory=dict)  # safetensors' names: "F16", "BF16", "F8_E4M3", "U8"...


def read_header(path: Path) -> Header:
    """The tensor shapes and ``__metadata__`` of a ``.safetensors`` file; raises :class:`StudioError`."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ValueError("too short")
            length = int.from_bytes(head, "little")
            if length < 2 or length > MAX_HEADER_BYTES or 8 + length > size:
                raise ValueError("header length out of range")
            raw = json.loads(f.read(length))
        if not isinstance(raw, dict):
            raise ValueError("header is not a JSON object")
        metadata = raw.pop("__metadata__", None) or {}
        shapes, dtypes, end = {}, {}, 0
        for key, entry in raw.items():
            shapes[key] = tuple(int(n) for n in entry["shape"])
            dtypes[key] = str(entry["dtype"])
            end = max(end, int(entry["data_offsets"][1]))
        if 8 + length + end > size:
            raise ValueError("truncated")
    except FileNotFoundError:
        raise StudioError(f"There is no file at '{path}'.") from None
    except OSError as exc:
        raise StudioError(f"'{path.name}' could not be read ({exc.strerror or exc}).") from exc
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise StudioError(f"'{path.name}' is not a valid .safetensors file.") from exc
    if not isinstance(metadata, dict):
        metadata = {}
    return Header(shapes, {str(k): str(v) for k, v in metadata.items()}, 8 + length, dtypes)


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


# -- the model library's reading of any file ---------------------------------------------------------------
_LORA_MARKERS = (".lora_down.", ".lora_up.", ".lora_A.", ".lora_B.", ".lora.down.", ".hada_w1", ".lokr_w1")
_SDXL_LORA_PREFIXES = ("lora_te1_", "lora_te2_", "text_encoder_2.", "te2.")
_EMBEDDING_KEYS = ("emb_params", "clip_l", "clip_g", "string_to_param")
# Widths of the real text encoders: only for labelling files in the library (loading checks real shapes).
_SD1_WIDTH, _SD2_WIDTH = 768, 1024
_BASE_MODEL_WORDS = (("xl", ModelFamily.SDXL), ("v2", ModelFamily.SD2), ("sd_2", ModelFamily.SD2),
                     ("2-1", ModelFamily.SD2), ("v1", ModelFamily.SD1), ("sd_1", ModelFamily.SD1), ("1.5", ModelFamily.SD1))


def guess_kind(shapes: Mapping[str, tuple[int, ...]]) -> str | None:
    """``"checkpoints"``, ``"loras"``, ``"embeddings"``, ``"vae"`` or None, from the key names."""
    keys = list(shapes)
    if any(k.startswith("model.diffusion_model.") for k in keys):
        return "checkpoints"
    if any(marker in k for k in keys for marker in _LORA_MARKERS):
        return "loras"
    if any(k in _EMBEDDING_KEYS for k in keys) or (len(keys) == 1 and len(shapes[keys[0]]) == 2):
        return "embeddings"
    if any(k.startswith(("encoder.conv_in.", "first_stage_model.encoder.")) for k in keys) and any(
        "decoder." in k for k in keys
    ):
        return "vae"
    return None


def guess_family(kind: str | None, header: Header) -> ModelFamily | None:
    """The family a file is for, when its keys (or its training metadata) say so; None when they don't."""
    shapes = header.shapes
    if kind == "checkpoints":
        try:
            return detect_keys(shapes, "the file")[0]
        except StudioError:
            return None
    if kind == "embeddings":
        if "clip_g" in shapes:
            return ModelFamily.SDXL
        vectors = shapes.get("emb_params") or (next(iter(shapes.values())) if len(shapes) == 1 else None)
        return _family_of_width(vectors[-1] if vectors else None)
    if kind == "loras":
        if any(k.startswith(_SDXL_LORA_PREFIXES) for k in shapes):
            return ModelFamily.SDXL
        declared = _declared_family(header.metadata)
        if declared is not None:
            return declared
        cross = next((s for k, s in shapes.items() if "attn2_to_k" in k and "lora_down" in k and len(s) == 2), None)
        return _family_of_width(cross[1] if cross else None)
    return _declared_family(header.metadata)


def _family_of_width(width: int | None) -> ModelFamily | None:
    return {_SD1_WIDTH: ModelFamily.SD1, _SD2_WIDTH: ModelFamily.SD2}.get(width)


def _declared_family(metadata: Mapping[str, str]) -> ModelFamily | None:
    """kohya's ``ss_base_model_version`` (``sdxl_base_v1-0``, ``sd_v1``...) or ``modelspec.architecture``."""
    text = (metadata.get("ss_base_model_version") or metadata.get("modelspec.architecture") or "").lower()
    if not text:
        return None
    return next((fam for word, fam in _BASE_MODEL_WORDS if word in text), None)
