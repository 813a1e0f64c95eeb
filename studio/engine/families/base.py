"""The shape of a family plug-in: everything the engine needs to know about one kind of model.

A plug-in says how to recognise its models (a loaded pipeline, a single file's keys), which diffusers pipeline
serves each mode, how a step's predicted latent becomes preview pixels, the controls the window shows and the
defaults of its pipeline, and the prompt arguments of a run. The engine asks the loaded model's plug-in and
never branches on the family itself; adding a family is one new module registered in ``families/__init__``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from diffusers import DiffusionPipeline

from studio.core.errors import StudioError
from studio.core.model_header import read_header
from studio.core.model_info import FamilyControls, ModelFamily
from studio.core.request import GenerationRequest, Mode
from studio.engine.gguf_files import GGUF_SUFFIX, read_gguf_shapes
from studio.engine.quantized import quantization_config


class FamilyPlugin:
    """Defaults are those of latent diffusion in 4 channels; a plug-in overrides what differs."""

    families: tuple[ModelFamily, ...] = ()
    # Its single files take what they lack (other components, tokenizers) from a diffusers folder of its family in
    # the model library, the first one that ``fits_base``.
    library_base = False
    controlnets = False  # ControlNet layers work with its models (the ControlNet variants of its pipelines)

    # -- recognising ---------------------------------------------------------------------------------
    def family_of(self, pipe) -> ModelFamily | None:
        """The family of a loaded pipeline, or None when it is not one of this plug-in's."""
        raise NotImplementedError

    def detect_keys(self, shapes: Mapping[str, tuple[int, ...]], name: str) -> tuple[ModelFamily, bool] | None:
        """``(family, dedicated_inpaint)`` of a single file from its tensor names and shapes, or None when the
        file is not one of this plug-in's; raises :class:`StudioError` for one it knows but cannot load."""
        return None

    def load_single_file(self, path: Path, family: ModelFamily, inpaint: bool, config: Path | None, dtype):
        """The pipeline of a single file; ``config``: the folder it takes its configuration (or, for a
        transformer-only file, its other components) from."""
        raise StudioError(f"'{path.name}' is a {family.label} file; load its diffusers folder or hub id instead.")

    def fits_base(self, folder: Path, path: Path, inpaint: bool) -> bool:
        """For ``library_base`` families: whether the diffusers ``folder`` can give what the file at ``path`` lacks."""
        return False

    def dedicated_inpaint(self, pipe) -> bool:
        """A model that only inpaints (9-channel UNet, Flux Fill): every mode runs its inpainting pipeline."""
        return False

    def edits(self, pipe) -> bool:
        """An instruction-editing model (the canvas image plus an instruction)."""
        return False

    # -- running -------------------------------------------------------------------------------------
    def pipeline_class(self, mode: Mode, pipe):
        """The class of ``mode``'s pipeline, made from the loaded ``pipe``'s components."""
        raise NotImplementedError

    def make_pipeline(self, mode: Mode, pipe):
        """``mode``'s pipeline sharing the loaded ``pipe``'s components (no copy of the weights). Built from the
        components, not with ``from_pipe``: that casts every module to one dtype (float32 unless told), which would
        double a GPU model's memory and which a quantized (GGUF) transformer refuses."""
        cls = self.pipeline_class(mode, pipe)
        wanted = inspect.signature(cls.__init__).parameters
        return cls(**{name: module for name, module in pipe.components.items() if name in wanted})

    def controls(self, pipe) -> FamilyControls:
        return FamilyControls()

    def check(self, request: GenerationRequest, pipe) -> None:
        """Refuse, in one sentence, what this family cannot do with ``request``."""
        if request.control and not self.controlnets:
            raise StudioError(f"Control layers (ControlNet) work with SD 1.x, 2.x and SDXL models, not yet with "
                              f"{self.family_of(pipe).label} models; turn the control layers off for this one.")
        controls = self.controls(pipe)
        if request.scheduler is not None and controls.own_sampler:
            raise StudioError(f"{self.family_of(pipe).label} models use their own flow-matching Euler sampler "
                              "(FlowMatchEulerDiscreteScheduler); keep the model's own sampler.")
        multiple = controls.size_multiple
        for side, value in (("Width", request.width), ("Height", request.height)):
            if value % multiple:
                low = value // multiple * multiple
                raise StudioError(
                    f"{side} must be a multiple of {multiple} for {self.family_of(pipe).label} models "
                    f"(got {value}; try {low} or {low + multiple})."
                )

    def conditioning(self, pipe, request: GenerationRequest):
        """The run's prompt arguments: an object with ``arguments()`` and ``after_step(pipe, index)``."""
        raise NotImplementedError

    def call_arguments(self, common: dict, request: GenerationRequest, pipe) -> dict:
        """The pipeline's keyword arguments: the ``common`` ones (steps, guidance, seeds, size, image, mask,
        strength) adjusted to what this family's pipelines take."""
        return common

    def recipe_mode(self, mode: Mode, pipe) -> str:
        """What the recipe records as the mode."""
        return mode.value

    # -- previews ------------------------------------------------------------------------------------
    def preview_factors(self, family: ModelFamily) -> tuple[np.ndarray, np.ndarray]:
        """The published latent->RGB factor matrix (channels x 3) and bias for ``family``'s latents."""
        raise NotImplementedError

    def preview_latents(self, latents: torch.Tensor, pipe, width: int, height: int) -> torch.Tensor:
        """A step's predicted latent as ``(batch, channels, h, w)`` (packed latents are unpacked here)."""
        return latents


def file_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes of a ``.safetensors`` or ``.gguf`` file, from its header alone."""
    return read_gguf_shapes(path) if Path(path).suffix.lower() == GGUF_SUFFIX else read_header(path).shapes


def transformer_config(folder: Path, class_name: str) -> dict | None:
    """The ``transformer/config.json`` of the diffusers ``folder`` when its class is ``class_name``, else None."""
    try:
        config = json.loads((Path(folder) / "transformer" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) and config.get("_class_name") == class_name else None


def load_transformer_file(transformer_class, path: Path, base: Path, dtype):
    """The pipeline of ``base`` (a diffusers folder) with its transformer taken from the single file at ``path``
    (``.safetensors``, or ``.gguf`` kept quantized by diffusers' GGUF support)."""
    transformer = transformer_class.from_single_file(
        str(path), config=str(base), subfolder="transformer", local_files_only=True, torch_dtype=dtype,
        quantization_config=quantization_config(path, dtype),
    )
    return DiffusionPipeline.from_pretrained(base, transformer=transformer, local_files_only=True, dtype=dtype)
