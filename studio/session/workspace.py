"""Keeping the working canvas on disk as the artist works, so a restart or a crash loses nothing.

Changes are gathered for a moment (:data:`DELAY_MS`) and then written as one snapshot through
:class:`studio.core.workspace.Workspace`. Encoding a large image as PNG takes seconds, so it happens in a
thread of its own, and an image that has not changed since the last write (only the mask or the prompt did)
is not encoded again.
"""

import io
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from studio.core.workspace import Workspace, WorkspaceState
from studio.workers.images import qimage_to_pil

log = logging.getLogger(__name__)

DELAY_MS = 1500


@dataclass(frozen=True)
class CanvasState:
    # Snapshots as the canvas hands them out: later edits never change them, so a thread may read them.
    image: QImage | None = None  # RGB32
    mask: QImage | None = None  # Grayscale8, the image's size
    data: dict[str, Any] = field(default_factory=dict)  # prompt, view, options: plain JSON values


class WorkspaceKeeper(QObject):
    failed = Signal(str)  # one sentence, once per run of failing writes

    def __init__(self, workspace: Workspace, snapshot: Callable[[], CanvasState], parent: QObject | None = None):
        """``snapshot`` is called on the GUI thread whenever a write is due."""
        super().__init__(parent)
        self._workspace = workspace
        self._snapshot = snapshot
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DELAY_MS)
        self._timer.timeout.connect(self.save)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workspace")
        self._image_png: tuple[int, bytes] | None = None  # QImage.cacheKey() and PNG of the last image written
        self._failing = False
        self._closed = False

    def restore(self) -> CanvasState | None:
        """The state saved last time; None when there is none. Damaged parts are left out, never raised."""
        saved = self._workspace.load()
        if saved is None:
            return None
        image = _decode(saved.image_png, QImage.Format.Format_RGB32)
        mask = _decode(saved.mask_png, QImage.Format.Format_Grayscale8)
        if mask is not None and (image is None or mask.size() != image.size()):
            log.warning("The saved mask does not fit the saved image; it is left out")
            mask = None
        if image is not None:
            self._image_png = (image.cacheKey(), saved.image_png)
        return CanvasState(image, mask, saved.data)

    def changed(self) -> None:
        """Something worth keeping changed: write a snapshot once changes pause for DELAY_MS."""
        if not self._closed:
            self._timer.start()

    def save(self) -> Future:
        """Write a snapshot now (in the background)."""
        self._timer.stop()
        return self._io.submit(self._write, self._snapshot())

    def close(self) -> None:
        """Write the current state and wait until every write is on disk; later changes are not kept."""
        if not self._closed:
            self.save()
            self._closed = True
            self._io.shutdown(wait=True)

    def _write(self, state: CanvasState) -> None:
        try:
            image = None if state.image is None else self._encoded_image(state.image)
            mask = None if state.mask is None else _png(state.mask)
            self._workspace.save(WorkspaceState(image, mask, state.data))
        except OSError as exc:
            log.exception("The workspace could not be saved in %s", self._workspace.folder)
            if not self._failing:
                self.failed.emit(f"The canvas could not be kept for the next start ({exc.strerror or exc}).")
            self._failing = True
        else:
            self._failing = False

    def _encoded_image(self, image: QImage) -> bytes:
        if self._image_png is None or self._image_png[0] != image.cacheKey():
            self._image_png = (image.cacheKey(), _png(image))
        return self._image_png[1]


def _png(image: QImage) -> bytes:
    out = io.BytesIO()
    qimage_to_pil(image).save(out, "PNG", compress_level=1)  # fast: this is a working copy, not an output
    return out.getvalue()


def _decode(data: bytes | None, fmt: QImage.Format) -> QImage | None:
    image = QImage.fromData(data, "PNG") if data else QImage()
    if data and image.isNull():
        log.warning("A saved workspace image could not be decoded; it is left out")
    return None if image.isNull() else image.convertToFormat(fmt)
