"""Families whose single files hold only the transformer (Flux, Z-Image): ``.safetensors``, or ``.gguf`` through
diffusers' GGUF support. The text encoders, VAE and scheduler come from a diffusers folder of the same family
(the "base"), which the loader finds in the model library with the plug-in's ``fits_base``."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

from diffusers import DiffusionPipeline

from studio.core.errors import StudioError
from studio.core.model_info import ModelFamily
from studio.core.request import Mode
from studio.engine.families.base import FamilyPlugin
from studio.engine.gguf_files import quantization_config


def transformer_config(folder: Path) -> dict:
    """A diffusers folder's ``transformer/config.json``; {} when it has none that can be read."""
    try:
        config = json.loads((Path(folder) / "transformer" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return config if isinstance(config, dict) else {}


class TransformerFilePlugin(FamilyPlugin):
    """A plug-in whose single files are transformers of ``transformer_class``."""

    transformer_files = True
    transformer_class: type

    def file_kind(self, inpaint: bool) -> str:
        """The model's name in the refusal sentence ("Flux Fill", "Z-Image")."""
        return self.families[0].label

    def fits_base(self, folder: Path, inpaint: bool) -> bool:
        config = transformer_config(folder)
        return config.get("_class_name") == self.transformer_class.__name__ and self.fits_transformer(config, inpaint)

    def fits_transformer(self, config: dict, inpaint: bool) -> bool:
        """Whether a base folder's transformer config suits a file of this kind (Flux: a Fill's or not)."""
        return True

    def load_single_file(self, path: Path, family: ModelFamily, inpaint: bool, base: Path | None, dtype):
        """A transformer file with the other components of ``base``, a diffusers folder of the same kind."""
        if base is None or not self.fits_base(base, inpaint):
            kind = self.file_kind(inpaint)
            raise StudioError(f"'{path.name}' holds only a {kind} transformer; it needs the other components (text "
                              f"encoders, VAE) of a {kind} diffusers folder: put one in the model library's "
                              "checkpoint folders.")
        transformer = self.transformer_class.from_single_file(
            str(path), config=str(base), subfolder="transformer", local_files_only=True, torch_dtype=dtype,
            quantization_config=quantization_config(path, dtype),
        )
        return DiffusionPipeline.from_pretrained(base, transformer=transformer, local_files_only=True, dtype=dtype)

    def make_pipeline(self, mode: Mode, pipe):
        # Built from the components, not with from_pipe: from_pipe casts every module to one dtype, which a
        # quantized (GGUF) transformer refuses.
        cls = self.pipeline_class(mode, pipe)
        wanted = inspect.signature(cls.__init__).parameters
        return cls(**{name: module for name, module in pipe.components.items() if name in wanted})
