"""Whether a finished download is the model file it claims to be, before it gets its name in a model folder.

A web page (a login or licence page served in place of the file), an empty or cut-short file, a ``.safetensors``
file whose header does not hold, a "PyTorch" file that is neither a zip nor a pickle: each is refused with one
sentence. A good file may still come with a note: a pickle file is loaded only as the app's pickle rule allows
(see ``core.sources``), and a header that says "LoRA" in the checkpoints folder is pointed out.
"""

from __future__ import annotations

from pathlib import Path

from studio.core.errors import StudioError
from studio.core.model_folders import ModelKind
from studio.core.model_header import guess_kind, read_header
from studio.core.sources import PICKLE_SUFFIXES

MODEL_FILE_SUFFIXES = (".safetensors",) + PICKLE_SUFFIXES
_ZIP = b"PK\x03\x04"  # torch.save since PyTorch 1.6
_PICKLE = b"\x80"  # the PROTO opcode older torch.save files start with
_PAGE_STARTS = (b"<!doctype", b"<html", b"<?xml", b"{\"error", b"{\"detail")
# Kinds whose pickle files the engine reads with torch.load(weights_only=True), which refuses code.
_WEIGHTS_ONLY_KINDS = (ModelKind.EMBEDDING, ModelKind.VAE, ModelKind.UPSCALER)


def check_downloaded(path: Path, name: str, kind: ModelKind | None) -> str | None:
    """Raise :class:`StudioError` when ``path`` (to be called ``name``) is no usable model file; else a note for
    the user, or None."""
    with open(path, "rb") as f:
        head = f.read(512)
    if not head:
        raise StudioError(f"The server sent an empty file for '{name}'.")
    if head.lstrip()[:16].lower().startswith(_PAGE_STARTS):
        raise StudioError(f"The server sent a web page instead of '{name}': the link may need a login or a "
                          "licence accepted on its page, or it leads to a page rather than to the file.")
    suffix = Path(name).suffix.lower()
    if suffix == ".safetensors":
        try:
            header = read_header(path)
        except StudioError:
            raise StudioError(f"'{name}' arrived damaged: it is not a valid .safetensors file.") from None
        guessed = guess_kind(header.shapes)
        if kind is not None and guessed is not None and guessed != kind.value:
            found = ModelKind(guessed)
            return f"Its contents look like a {found.label}, not a {kind.label}: move it to the {found.value} folder."
        return None
    if not head.startswith((_ZIP, _PICKLE)):
        raise StudioError(f"'{name}' arrived damaged: it is not a PyTorch file.")
    return pickle_note(name, kind)


def pickle_note(name: str, kind: ModelKind | None) -> str:
    """What the app's pickle rule means for a downloaded ``.ckpt``/``.pt``/``.pth``/``.bin`` file."""
    if kind in _WEIGHTS_ONLY_KINDS:
        more = " (an upscaler holding more than weights only when you allow pickle files)" if kind is ModelKind.UPSCALER else ""
        return f"'{name}' is a pickle file: the app reads only its weights, refusing any code in it{more}."
    return (f"'{name}' is a pickle file, which can run code: the app loads it only when you allow pickle files; "
            "a .safetensors version is safer.")
