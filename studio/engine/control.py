"""ControlNets for a request's control layers: loaded once and kept while wanted, checked against the loaded model
by their tensor shapes, and turned into the pipeline call's control arguments.

The ControlNet pipelines themselves are the mode pipelines made with ``from_pipe(base, controlnet=...)`` (see
``Engine._pipeline``): they share the loaded model's components, so control adds only the ControlNets' weights.

Control modes, as A1111 names them: "Balanced" is diffusers' plain call; "ControlNet is more important" is its
``guess_mode`` (control on the conditional half only, scaled up the blocks); "My prompt is more important" scales
a ControlNet's residuals by A1111's soft weights (0.825 ** k, the deepest block least), with a forward hook.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from diffusers import (
    ControlNetModel,
    ControlNetUnionModel,
    StableDiffusionXLControlNetUnionImg2ImgPipeline,
    StableDiffusionXLControlNetUnionInpaintPipeline,
    StableDiffusionXLControlNetUnionPipeline,
)
from PIL import Image

from studio.core.control import CONTROL_MODES, ControlInput
from studio.core.control_files import is_diffusers_folder, resolve_controlnet
from studio.core.errors import StudioError
from studio.core.model_folders import LibraryFolder
from studio.core.model_header import read_header
from studio.core.model_info import ModelFamily
from studio.core.preprocessors import BUILTIN_PREPROCESSORS, builtin_map, fit
from studio.core.request import Mode
from studio.engine import annotators
from studio.engine.families.stable_diffusion import AUTO_PIPELINES

log = logging.getLogger(__name__)

SOFT_WEIGHT = 0.825  # A1111's "My prompt is more important": residual k blocks from the middle gets 0.825 ** k
_WIDTHS = {768: ModelFamily.SD1, 1024: ModelFamily.SD2, 2048: ModelFamily.SDXL}
_UNION_PIPELINES = {
    Mode.TEXT_TO_IMAGE: StableDiffusionXLControlNetUnionPipeline,
    Mode.IMAGE_TO_IMAGE: StableDiffusionXLControlNetUnionImg2ImgPipeline,
    Mode.INPAINT: StableDiffusionXLControlNetUnionInpaintPipeline,
}
# A union ControlNet's control type (xinsir's ControlNet++ order), read from the layer's preprocessor.
UNION_TYPES = {"openpose": 0, "depth_midas": 1, "softedge_hed": 2, "scribble": 2, "canny": 3, "lineart": 3,
               "lineart_anime": 3, "lineart_realistic": 3, "mlsd": 3, "normal_bae": 4}


def _family_words(width: int) -> str:
    family = _WIDTHS.get(width)
    return f"{family.label} models" if family else f"models with {width}-wide text embeddings"


def _weights_file(path: Path) -> Path | None:
    if path.is_file():
        return path
    files = sorted(path.glob("diffusion_pytorch_model*.safetensors"))
    return files[0] if files else None


def check_family(path: Path, unet, family: ModelFamily) -> None:
    """Refuse a ControlNet made for another family, from its header's cross-attention width (no weights read)."""
    weights = _weights_file(path)
    if weights is None or weights.suffix.lower() != ".safetensors":
        return  # pickled weights: the load itself checks the shapes
    shapes = read_header(weights).shapes
    width = next((shape[-1] for key, shape in sorted(shapes.items()) if key.endswith("attn2.to_k.weight")), None)
    wanted = unet.config.cross_attention_dim
    if width is not None and width != wanted:
        raise StudioError(
            f"The ControlNet '{path.stem if path.is_file() else path.name}' is for {_family_words(width)}, but the "
            f"loaded model is {family.label}; choose a ControlNet made for {family.label}."
        )


def _is_union(path: Path) -> bool:
    """An SDXL union ControlNet (one model, several control types), by its config or its keys."""
    if is_diffusers_folder(path):
        try:
            return json.loads((path / "config.json").read_text(encoding="utf-8")).get("_class_name") == \
                ControlNetUnionModel.__name__
        except (OSError, ValueError, AttributeError):
            return False
    return path.suffix.lower() == ".safetensors" and "task_embedding" in read_header(path).shapes


def _load(path: Path, unet, dtype: torch.dtype) -> ControlNetModel | ControlNetUnionModel:
    """A diffusers folder, or a single file in the original (``control_model.*``) or the diffusers key layout,
    built with the loaded UNet's architecture (so no config download is needed)."""
    if is_diffusers_folder(path):
        cls = ControlNetUnionModel if _is_union(path) else ControlNetModel
        return cls.from_pretrained(path, local_files_only=True, torch_dtype=dtype)
    from accelerate import init_empty_weights
    from diffusers.loaders.single_file_utils import convert_controlnet_checkpoint, load_state_dict

    cls = ControlNetUnionModel if _is_union(path) else ControlNetModel
    with init_empty_weights():
        model = cls.from_unet(unet, load_weights_from_unet=False)
    state = convert_controlnet_checkpoint(load_state_dict(str(path)), model.config)
    model.load_state_dict(state, strict=True, assign=True)
    return model.to(dtype)


class ControlNets:
    """The ControlNets the last request wanted, by resolved path; others are let go (their memory freed)."""

    def __init__(self, pipe, family: ModelFamily, device) -> None:
        self._pipe = pipe
        self._family = family
        self._device = device
        self._loaded: dict[Path, ControlNetModel] = {}
        self._soft: set[int] = set()  # ids of the ControlNets whose residuals get the soft weights this call

    def models(self, controls: tuple[ControlInput, ...], folders: list[LibraryFolder]) -> list[ControlNetModel]:
        """The ControlNet of each layer (one model for layers that name the same one), loading what is new."""
        paths = [resolve_controlnet(c.model, folders).resolve() for c in controls]
        for path in dict.fromkeys(paths):
            if path not in self._loaded:
                self._loaded[path] = self._load_checked(path)
        self._loaded = {path: model for path, model in self._loaded.items() if path in paths}
        models = [self._loaded[path] for path in paths]
        check_union(models, controls)
        self._soft = {id(m) for m, c in zip(models, controls) if c.control_mode == CONTROL_MODES[1]}
        return models

    def _load_checked(self, path: Path) -> ControlNetModel:
        unet = self._pipe.unet
        check_family(path, unet, self._family)
        try:
            model = _load(path, unet, self._pipe.unet.dtype)
        except StudioError:
            raise
        except Exception as exc:  # a damaged file or another architecture; the log has the details
            log.exception("Loading ControlNet %s failed", path)
            raise StudioError(
                f"The ControlNet '{path.name}' could not be loaded: it is damaged or not a ControlNet for "
                f"{self._family.label} models; details are in the log."
            ) from exc
        model.to(self._device)
        model.register_forward_hook(self._soften)
        log.info("Loaded ControlNet %s", path)
        return model

    def _soften(self, module, _args, output):
        if id(module) not in self._soft:
            return None
        down, mid = output
        count = len(down) + 1
        return [d * SOFT_WEIGHT ** (count - 1 - i) for i, d in enumerate(down)], mid

    def clear(self) -> None:
        self._loaded = {}

    @staticmethod
    def arguments(controls: tuple[ControlInput, ...], models: list, size: tuple[int, int], image_key: str) -> dict:
        """The control keyword arguments for a pipeline call at ``size``; ``image_key`` is the call's name for
        the control image ("image" in text-to-image, "control_image" with an init image, always for a union
        ControlNet, which takes every layer's image with its control type)."""
        maps = [control_map(c, size) for c in controls]
        if isinstance(models[0], ControlNetUnionModel):
            return {
                "control_image": maps,
                "control_mode": [UNION_TYPES[c.preprocessor] for c in controls],
                "controlnet_conditioning_scale": [float(c.weight) for c in controls],
                "control_guidance_start": [float(c.start) for c in controls],
                "control_guidance_end": [float(c.end) for c in controls],
                "guess_mode": controls[0].control_mode == CONTROL_MODES[2],
            }
        single = len(controls) == 1

        def one_or_list(values):
            return values[0] if single else list(values)

        return {
            image_key: one_or_list(maps),
            "controlnet_conditioning_scale": one_or_list([float(c.weight) for c in controls]),
            "control_guidance_start": one_or_list([float(c.start) for c in controls]),
            "control_guidance_end": one_or_list([float(c.end) for c in controls]),
            "guess_mode": controls[0].control_mode == CONTROL_MODES[2],
        }


def check_union(models: list, controls: tuple[ControlInput, ...]) -> None:
    """A union ControlNet takes all the layers, each with a preprocessor that says its control type."""
    unions = [m for m in models if isinstance(m, ControlNetUnionModel)]
    if not unions:
        return
    if len({id(m) for m in models}) > 1:
        raise StudioError("A union ControlNet must be the ControlNet of every control layer; use it alone or "
                          "choose ordinary ControlNets for the others.")
    for index, control in enumerate(controls):
        if control.preprocessor not in UNION_TYPES:
            raise StudioError(
                f"Control layer {index + 1}: a union ControlNet reads the control type from the preprocessor, and "
                f"'{control.preprocessor}' names none; choose one of: {', '.join(UNION_TYPES)}."
            )


def make_pipeline(base, mode: Mode, controlnets: list):
    """The ControlNet variant of the mode's pipeline made from ``base`` (an SD 1.x/2.x/SDXL pipeline; ``from_pipe``:
    the components are shared)."""
    if isinstance(controlnets[0], ControlNetUnionModel):
        return _UNION_PIPELINES[mode].from_pipe(base, controlnet=controlnets[0], torch_dtype=base.unet.dtype)
    return AUTO_PIPELINES[mode].from_pipe(base, controlnet=controlnets[0] if len(controlnets) == 1 else controlnets)


def control_map(control: ControlInput, size: tuple[int, int]) -> Image.Image:
    """The layer's control map at ``size``: preprocessed, then fitted by its resize mode."""
    if control.preprocessor in BUILTIN_PREPROCESSORS:
        detected = builtin_map(control.image, control)
    else:
        detected = annotators.detect(control.preprocessor, control.image, control.processor_res)
    return fit(detected.convert("RGB"), size, control.resize_mode)
