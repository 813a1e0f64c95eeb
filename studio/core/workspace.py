"""The working state (canvas image, mask, view, prompt) kept on disk as the user works.

Written under ``<root>/workspace/`` after every change (debounced by the caller) and restored on the next
start, so neither a restart nor a crash loses a canvas. Each file is replaced atomically, and
``state.json`` is written last and names the exact image and mask files it goes with, so a crash between
writes leaves the previous complete state readable.
"""

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_bytes, atomic_write_text
from studio.core.paths import studio_home

log = logging.getLogger(__name__)

SCHEMA = 1


@dataclass(frozen=True)
class WorkspaceState:
    image_png: bytes | None = None
    mask_png: bytes | None = None
    data: dict[str, Any] = field(default_factory=dict)  # prompt, view, options: whatever the window keeps


class Workspace:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder else studio_home() / "workspace"

    def _blob(self, kind: str, data: bytes | None) -> str | None:
        """Content-addressed file name, written only if it is not there yet."""
        if data is None:
            return None
        name = f"{kind}-{hashlib.sha256(data).hexdigest()[:16]}.png"
        path = self.folder / name
        if not path.exists():
            atomic_write_bytes(path, data)
        return name

    def save(self, state: WorkspaceState) -> None:
        image = self._blob("image", state.image_png)
        mask = self._blob("mask", state.mask_png)
        document = {"schema": SCHEMA, "image": image, "mask": mask, "data": state.data}
        atomic_write_text(self.folder / "state.json", json.dumps(document, indent=1))
        keep = {image, mask, "state.json"}
        for old in self.folder.glob("*.png"):
            if old.name not in keep:
                old.unlink(missing_ok=True)

    def load(self) -> WorkspaceState | None:
        """The last saved state, or None when there is none or it cannot be read (logged, never raised)."""
        state_file = self.folder / "state.json"
        if not state_file.exists():
            return None
        try:
            document = json.loads(state_file.read_text(encoding="utf-8"))
            return WorkspaceState(
                image_png=self._read(document.get("image")),
                mask_png=self._read(document.get("mask")),
                data=dict(document.get("data") or {}),
            )
        except (OSError, ValueError, TypeError, AttributeError):
            log.exception("The saved workspace in %s could not be read; starting empty", self.folder)
            return None

    def _read(self, name: str | None) -> bytes | None:
        return (self.folder / name).read_bytes() if name else None
