"""Where ControlNet models are found: the ``controlnet`` model folders (ours, A1111's ``ControlNet/``, ComfyUI's
``controlnet/``), as single files (``.safetensors``, ``.pth``) or diffusers folders (``config.json`` beside
``diffusion_pytorch_model.safetensors``).

A ControlNet is named by its file stem or folder name (or its path below the folder, ``sdxl/canny``); a path to a
file or folder works as well.
"""

from __future__ import annotations

from pathlib import Path

from studio.core.errors import StudioError
from studio.core.model_folders import LibraryFolder, ModelKind
from studio.core.model_scan import walk_models

SUFFIXES = (".safetensors", ".pth", ".bin")


def is_diffusers_folder(path: Path) -> bool:
    return (path / "config.json").is_file()


def controlnets(folders: list[LibraryFolder]) -> dict[str, Path]:
    """Name -> file or diffusers folder, sorted by name; the first folder with a name wins."""
    return models_of_kind(folders, ModelKind.CONTROLNET)


def models_of_kind(folders: list[LibraryFolder], kind: ModelKind) -> dict[str, Path]:
    """Name -> file or diffusers folder in the ``kind`` folders, sorted by name; the first folder with a name wins
    (ControlNets, IP-Adapters and CLIP vision encoders are all laid out so)."""
    found: dict[str, Path] = {}
    for folder in folders:
        if folder.kind is kind:
            for path in walk_models(folder.path, SUFFIXES, is_diffusers_folder):
                relative = path.relative_to(folder.path)
                found.setdefault((relative if path.is_dir() else relative.with_suffix("")).as_posix(), path)
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def resolve_controlnet(name: str, folders: list[LibraryFolder]) -> Path:
    """The file or folder of the ControlNet ``name`` (a name in the ControlNet folders, or a path)."""
    path = Path(name).expanduser()
    if (path.is_file() and path.suffix.lower() in SUFFIXES) or (path.is_dir() and is_diffusers_folder(path)):
        return path
    found = controlnets(folders)
    wanted = name.replace("\\", "/").strip("/").lower()
    for known, where in found.items():
        if known.lower() == wanted or known.lower().rsplit("/", 1)[-1] == wanted:
            return where
    own = next((f.path for f in folders if f.kind is ModelKind.CONTROLNET), None)
    where = f" in {own}" if own else ""
    raise StudioError(
        f"There is no ControlNet called '{name}'; put its .safetensors file or diffusers folder{where} "
        "(see `studio models --kind controlnet`)."
    )
