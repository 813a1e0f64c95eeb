"""Where IP-Adapters and their image encoders are found: adapters in the ``ipadapter`` model folders (ComfyUI's
``ipadapter/``) as single files (``.safetensors``, ``.bin``), named by their file stem or a path; image encoders
(CLIP vision) as transformers folders (``config.json`` beside the weights) in the ``clip_vision`` folders, or the
``image_encoder`` folder beside an adapter file (h94/IP-Adapter's layout).
"""

from __future__ import annotations

from pathlib import Path

from studio.core.control_files import is_diffusers_folder, models_of_kind
from studio.core.errors import StudioError
from studio.core.model_folders import LibraryFolder, ModelKind

SUFFIXES = (".safetensors", ".bin")


def ipadapters(folders: list[LibraryFolder]) -> dict[str, Path]:
    """Name -> adapter file, sorted by name."""
    return {name: path for name, path in models_of_kind(folders, ModelKind.IPADAPTER).items()
            if path.is_file() and path.suffix.lower() in SUFFIXES}


def resolve_ipadapter(name: str, folders: list[LibraryFolder]) -> Path:
    """The file of the IP-Adapter ``name`` (a name in the ipadapter folders, or a path)."""
    path = Path(name).expanduser()
    if path.is_file() and path.suffix.lower() in SUFFIXES:
        return path
    wanted = name.replace("\\", "/").strip("/").lower()
    for known, where in ipadapters(folders).items():
        if known.lower() == wanted or known.lower().rsplit("/", 1)[-1] == wanted:
            return where
    own = next((f.path for f in folders if f.kind is ModelKind.IPADAPTER), None)
    raise StudioError(
        f"There is no IP-Adapter called '{name}'; put its .safetensors file{f' in {own}' if own else ''} "
        "(see `studio models --kind ipadapter`)."
    )


def image_encoders(adapter: Path, folders: list[LibraryFolder]) -> list[Path]:
    """The image encoder folders an adapter may use: the one beside it first, then the clip_vision folders'."""
    beside = adapter.parent / "image_encoder"
    found = [beside] if is_diffusers_folder(beside) else []
    return found + [path for path in models_of_kind(folders, ModelKind.CLIP_VISION).values()
                    if path.is_dir() and is_diffusers_folder(path)]
