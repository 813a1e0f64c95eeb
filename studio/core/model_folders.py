"""Where the model library looks: the app's own ``<root>/models/<kind>/`` folders and the folders a user adds.

A folder the user adds is read by its layout, so an existing install just works:

- AUTOMATIC1111 / Forge: its ``models/`` folder (``Stable-diffusion/``, ``Lora/``, ``VAE/``, ``ControlNet/``,
  ``ESRGAN/``...) with ``embeddings/`` beside it; the web UI's own folder (holding ``models/``) works too;
- ComfyUI: its ``models/`` folder (``checkpoints/``, ``loras/``, ``vae/``, ``controlnet/``, ``upscale_models/``,
  ``embeddings/``...), or the ComfyUI folder holding it;
- anything else is a folder of mixed files, each one's kind read from its header (see ``model_scan``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from studio.core.paths import models_dir
from studio.core.settings import load_settings


class ModelKind(str, Enum):
    CHECKPOINT = "checkpoints"
    LORA = "loras"
    EMBEDDING = "embeddings"
    VAE = "vae"
    CONTROLNET = "controlnet"
    UPSCALER = "upscalers"
    IPADAPTER = "ipadapter"
    CLIP_VISION = "clip_vision"
    DIFFUSION_MODEL = "diffusion_models"
    TEXT_ENCODER = "text_encoders"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ModelKind.CHECKPOINT: "checkpoint", ModelKind.LORA: "LoRA", ModelKind.EMBEDDING: "embedding",
    ModelKind.VAE: "VAE", ModelKind.CONTROLNET: "ControlNet", ModelKind.UPSCALER: "upscaler",
    ModelKind.IPADAPTER: "IP-Adapter", ModelKind.CLIP_VISION: "CLIP vision", ModelKind.DIFFUSION_MODEL: "diffusion model",
    ModelKind.TEXT_ENCODER: "text encoder",
}

# Sub-folder name -> kind, per layout. A layout is recognised when at least two of its names are present.
A1111_LAYOUT = {
    "Stable-diffusion": ModelKind.CHECKPOINT, "Lora": ModelKind.LORA, "LyCORIS": ModelKind.LORA,
    "VAE": ModelKind.VAE, "ControlNet": ModelKind.CONTROLNET, "ESRGAN": ModelKind.UPSCALER,
    "RealESRGAN": ModelKind.UPSCALER, "embeddings": ModelKind.EMBEDDING,
}
COMFYUI_LAYOUT = {
    "checkpoints": ModelKind.CHECKPOINT, "loras": ModelKind.LORA, "vae": ModelKind.VAE,
    "controlnet": ModelKind.CONTROLNET, "upscale_models": ModelKind.UPSCALER, "embeddings": ModelKind.EMBEDDING,
    "ipadapter": ModelKind.IPADAPTER, "clip_vision": ModelKind.CLIP_VISION, "diffusion_models": ModelKind.DIFFUSION_MODEL,
    "unet": ModelKind.DIFFUSION_MODEL, "text_encoders": ModelKind.TEXT_ENCODER, "clip": ModelKind.TEXT_ENCODER,
}
OWN_LAYOUT = {kind.value: kind for kind in ModelKind}


@dataclass(frozen=True)
class LibraryFolder:
    """A folder to scan. ``kind=None``: mixed files, each one's kind read from its header."""

    path: Path
    kind: ModelKind | None


def own_folders() -> list[LibraryFolder]:
    """``<root>/models/<kind>/`` for every kind, created when missing (the first start makes them)."""
    root = models_dir()
    folders = []
    for kind in ModelKind:
        (root / kind.value).mkdir(exist_ok=True)
        folders.append(LibraryFolder(root / kind.value, kind))
    return folders


def layout_folders(path: Path) -> list[LibraryFolder]:
    """The folders inside a user-added ``path``, read by its layout (see the module docstring)."""
    path = Path(path).expanduser()
    if not path.is_dir():
        return []
    if not _recognised(path) and _recognised(path / "models"):
        path = path / "models"  # the web UI's or ComfyUI's own folder, holding models/
    a1111 = _matches(path, A1111_LAYOUT)
    comfy = _matches(path, COMFYUI_LAYOUT)
    layout = A1111_LAYOUT if len(a1111) > len(comfy) else COMFYUI_LAYOUT if len(comfy) >= 2 else None
    if layout is None:
        return [LibraryFolder(path, None)]
    found = [LibraryFolder(path / name, layout[name]) for name in _matches(path, layout)]
    beside = path.parent / "embeddings"  # A1111 keeps embeddings next to models/, not inside it
    if layout is A1111_LAYOUT and beside.is_dir() and not (path / "embeddings").is_dir():
        found.append(LibraryFolder(beside, ModelKind.EMBEDDING))
    return found


def library_folders(extra: list[str] | tuple[str, ...] = ()) -> list[LibraryFolder]:
    """The app's own folders, then every folder in ``extra`` (the settings' ``model_folders``), without repeats."""
    seen: set[Path] = set()
    result = []
    for folder in own_folders() + [f for path in extra for f in layout_folders(Path(path))]:
        key = folder.path.resolve()
        if key not in seen:
            seen.add(key)
            result.append(folder)
    return result


def configured_folders() -> list[LibraryFolder]:
    """:func:`library_folders` with the extra folders from the user's settings."""
    return library_folders(load_settings().settings.model_folders)


def _matches(path: Path, layout: dict[str, ModelKind]) -> list[str]:
    return [name for name in layout if (path / name).is_dir()]


def _recognised(path: Path) -> bool:
    return len(_matches(path, A1111_LAYOUT)) >= 2 or len(_matches(path, COMFYUI_LAYOUT)) >= 2
