"""The working state (canvas image, mask, view, prompt) kept on disk as the user works.

Written under ``<root>/workspace/`` after every change (debounced by the caller) and restored on the next
start, so neither a restart nor a crash loses a canvas. Image and mask files are named after a hash of their
content and replaced atomically, and ``state.json`` is written last and names the exact files it goes with, so
a crash between writes leaves the previous complete state readable.

Nothing here is ever a reason to delete: a damaged ``state.json`` is set aside, and a save removes only files
that the state this object read or wrote itself named and that the new state no longer names. Files it does
not know (left by a crash before ``state.json`` was written, by a damaged state, by someone else) stay.
"""

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_bytes, atomic_write_text, clean_stale_temps, set_aside
from studio.core.paths import studio_home

log = logging.getLogger(__name__)

SCHEMA = 1
_BLOB_NAME = re.compile(r"^(image|mask)-([0-9a-f]{16})\.png$")


@dataclass(frozen=True)
class WorkspaceState:
    image_png: bytes | None = None
    mask_png: bytes | None = None
    data: dict[str, Any] = field(default_factory=dict)  # prompt, view, options: whatever the window keeps


@dataclass(frozen=True)
class LoadedWorkspace:
    """What :meth:`Workspace.load` found. ``state`` is None when there was nothing to restore."""

    state: WorkspaceState | None
    missing: frozenset[str] = frozenset()  # "image", "mask": named by the state but missing or damaged
    set_aside: Path | None = None  # where a damaged state.json was moved (the canvas image may still be back)
    damaged: bool = False  # state.json could not be used (set_aside is None if it could not even be moved)


class Workspace:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder else studio_home() / "workspace"
        # The image and mask files the last state read or written names, with the (size, mtime) they had then:
        # the only files a save may remove, and the only ones it trusts without reading them again.
        self._owned: dict[str, tuple[int, int]] = {}
        self._loaded: dict[str, str] = {}  # kind -> file name, as the state read by load() named them

    def save(self, state: WorkspaceState) -> None:
        image = self._blob("image", state.image_png)
        mask = self._blob("mask", state.mask_png)
        document = {"schema": SCHEMA, "image": image, "mask": mask, "data": state.data}
        atomic_write_text(self.folder / "state.json", json.dumps(document, indent=1))
        keep = {name for name in (image, mask) if name}
        for superseded in set(self._owned) - keep:
            (self.folder / superseded).unlink(missing_ok=True)
        self._owned = {name: _stamp(self.folder / name) for name in keep}

    def disown(self, kind: str) -> None:
        """The caller could not use the loaded ``kind`` ("image", "mask"): never remove its file."""
        self._owned.pop(self._loaded.get(kind, ""), None)

    def load(self) -> LoadedWorkspace:
        """The last saved state, with what could not be restored. Never raises, never deletes."""
        self._owned, self._loaded = {}, {}
        clean_stale_temps(self.folder)
        state_file = self.folder / "state.json"
        try:
            document = json.loads(state_file.read_bytes().decode("utf-8"))
            image, mask = _blob_name(document, "image"), _blob_name(document, "mask")
            data = document.get("data") or {}
            if not isinstance(data, dict):
                raise ValueError("'data' is not an object")
        except FileNotFoundError:
            return LoadedWorkspace(None)
        except (OSError, ValueError, RecursionError, AttributeError) as exc:  # AttributeError: not an object
            return self._damaged(state_file, exc)
        self._loaded = {kind: name for kind, name in (("image", image), ("mask", mask)) if name}
        image_png, mask_png = self._read(image), self._read(mask)
        missing = frozenset(kind for kind, name, png in (("image", image, image_png), ("mask", mask, mask_png))
                            if name and png is None)
        return LoadedWorkspace(WorkspaceState(image_png, mask_png, data), missing)

    def _damaged(self, state_file: Path, exc: Exception) -> LoadedWorkspace:
        """Keep the damaged file for inspection and bring back the newest intact canvas image, if any."""
        kept = set_aside(state_file)
        log.warning("The saved workspace %s is damaged (%s); set aside as %s, files kept", state_file, exc, kept)
        images = sorted(self.folder.glob("image-*.png"), key=lambda p: _stamp(p)[1], reverse=True)
        for path in images:
            if (png := _intact(path)) is not None:
                log.info("Restoring the newest intact canvas image %s", path.name)
                return LoadedWorkspace(WorkspaceState(image_png=png), set_aside=kept, damaged=True)
        return LoadedWorkspace(None, set_aside=kept, damaged=True)

    def _blob(self, kind: str, data: bytes | None) -> str | None:
        """Content-addressed file name; the file is (re)written unless it verifiably holds ``data`` already."""
        if data is None:
            return None
        name = f"{kind}-{_digest(data)}.png"
        path = self.folder / name
        trusted = name in self._owned and self._owned[name] == _stamp(path)
        if not trusted and _intact(path) != data:
            atomic_write_bytes(path, data)
        return name

    def _read(self, name: str | None) -> bytes | None:
        """The file's bytes if they are what its name says (the hash matches); None when missing or damaged."""
        if name is None:
            return None
        path = self.folder / name
        data = _intact(path)
        if data is None:
            log.warning("The saved workspace file %s is missing or damaged; it is left out (and kept)", path)
        else:
            self._owned[name] = _stamp(path)
        return data


def _blob_name(document: dict, kind: str) -> str | None:
    """The file ``document`` names for ``kind``; only our own plain names (a crafted state names nothing else)."""
    name = document.get(kind)
    if name is None:
        return None
    if not isinstance(name, str) or not (match := _BLOB_NAME.match(name)) or match[1] != kind:
        raise ValueError(f"{kind!r} is not a workspace file name: {name!r}")
    return name


def _intact(path: Path) -> bytes | None:
    """The bytes of a content-addressed file whose content still matches its name, else None."""
    match = _BLOB_NAME.match(path.name)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if match and _digest(data) == match[2] else None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)
