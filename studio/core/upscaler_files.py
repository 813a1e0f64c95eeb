"""Where upscaler model files (ESRGAN, Real-ESRGAN, SwinIR... as ``.pth`` or ``.safetensors``) are found.

``<root>/models/upscalers`` is ours; ``ESRGAN/`` (AUTOMATIC1111's name) and ``upscale_models/`` (ComfyUI's)
are looked in too, under our models folder and under any other models root given (such as an A1111 or
ComfyUI ``models`` folder), so existing collections work as they are.
"""

from collections.abc import Iterable
from pathlib import Path

from studio.core.errors import StudioError
from studio.core.paths import models_dir

SUFFIXES = (".safetensors", ".pth")
FOLDER_NAMES = ("upscalers", "ESRGAN", "upscale_models")


def upscaler_dirs(extra_roots: Iterable[Path] = ()) -> list[Path]:
    """The folders searched, in order: ours first."""
    roots = [models_dir(), *extra_roots]
    return [root / name for root in roots for name in FOLDER_NAMES]


def find_upscalers(extra_roots: Iterable[Path] = ()) -> dict[str, Path]:
    """Upscaler name (the file's stem) -> file; the first folder with a name wins."""
    found: dict[str, Path] = {}
    for folder in upscaler_dirs(extra_roots):
        try:
            files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
        except OSError:  # missing or unreadable: nothing there
            continue
        for path in files:
            found.setdefault(path.stem, path)
    return found


def resolve_upscaler(name: str, extra_roots: Iterable[Path] = ()) -> Path:
    """The file for ``name``: a path to a model file, or the name of one in the upscaler folders."""
    path = Path(name).expanduser()
    if path.suffix.lower() in SUFFIXES and path.is_file():
        return path
    found = find_upscalers(extra_roots)
    if name in found:
        return found[name]
    where = models_dir() / FOLDER_NAMES[0]
    known = f" (found: {', '.join(sorted(found))})" if found else ""
    raise StudioError(f"No upscaler model named '{name}'; put .pth or .safetensors files in {where}{known}.")
