"""Telling what kind of model source a user gave: a path on disk or a Hugging Face hub id."""

import re
from pathlib import Path

from studio.core.errors import StudioError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def is_hub_id(source: str) -> bool:
    """"owner/name", with no file suffix, and not something that exists on disk."""
    path = Path(source).expanduser()
    return bool(_HUB_ID.match(source)) and not path.suffix and not path.exists()


SINGLE_FILE_SUFFIXES = (".safetensors", ".gguf")  # .gguf: a quantized transformer (Flux)
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")


def check_source(source: str, *, allow_pickle: bool = False) -> None:
    """Raise :class:`StudioError` for a source that cannot be a model, before anything heavy is imported:
    nothing at that path (and not a hub id), a pickle file not explicitly allowed, a file of another kind."""
    path = Path(source).expanduser()
    if path.is_dir() or is_hub_id(source):
        return
    if not path.is_file():
        raise StudioError(f"No model found at '{source}': give a diffusers folder, a .safetensors file or a hub id.")
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES and not allow_pickle:
        raise StudioError(
            f"'{path.name}' is a pickle checkpoint, which can run code when loaded; convert it to .safetensors, "
            "or allow pickle files explicitly if you trust its source."
        )
    if suffix not in SINGLE_FILE_SUFFIXES + PICKLE_SUFFIXES:
        raise StudioError(f"'{path.name}' is not a model file (expected .safetensors or .gguf).")
