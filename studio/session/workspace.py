"""Keeping the working canvas on disk as the artist works, so a restart or a crash loses nothing.

Changes are gathered for a moment (:data:`DELAY_MS`) and then written as one snapshot through
:class:`studio.core.workspace.Workspace`. Encoding a large image as PNG takes seconds, so it happens in a
thread of its own, and an image that has not changed since the last write (only the mask or the prompt did)
is not encoded again.
"""

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from studio.core.workspace import LoadedWorkspace, Workspace, WorkspaceState
from studio.workers.images import qimage_to_png

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
        self.notice: str | None = None  # one sentence after restore() when not everything could be restored

    def restore(self) -> CanvasState | None:
        """The state saved last time; None when there is none. Parts that cannot be restored are left out (and
        said in :attr:`notice`), never raised, and their files are never removed."""
        loaded = self._workspace.load()
        saved, lost = loaded.state, set(loaded.missing)
        if saved is None:
            self.notice = _restore_notice(loaded, lost, image_back=False)
            return None
        image = _decode(saved.image_png, QImage.Format.Format_RGB32)
        mask = _decode(saved.mask_png, QImage.Format.Format_Grayscale8)
        lost |= {kind for kind, png, qimage in (("image", saved.image_png, image), ("mask", saved.mask_png, mask))
                 if png and qimage is None}
        if mask is not None and (image is None or mask.size() != image.size()):
            log.warning("The saved mask does not fit the saved image; it is left out")
            mask = None
            lost.add("mask")
        for kind in lost:
            self._workspace.disown(kind)  # what the artist did not get back stays on disk
        if image is not None:
            self._image_png = (image.cacheKey(), saved.image_png)
        self.notice = _restore_notice(loaded, lost, image_back=image is not None)
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
            mask = None if state.mask is None else qimage_to_png(state.mask)
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
            self._image_png = (image.cacheKey(), qimage_to_png(image))
        return self._image_png[1]


def _restore_notice(loaded: LoadedWorkspace, lost: set[str], image_back: bool) -> str | None:
    if loaded.damaged:
        kept = f" and was set aside as {loaded.set_aside.name}" if loaded.set_aside else ""
        back = ("the newest canvas image is back, without its mask and prompt" if image_back
                else "the canvas starts empty")
        return f"The saved workspace was damaged{kept}; {back}."
    if lost:
        what = " and ".join("canvas image" if kind == "image" else kind for kind in sorted(lost))
        return (f"The saved {what} could not be restored and {'were' if len(lost) > 1 else 'was'} left out; "
                "the workspace files were kept.")
    return None


def _decode(data: bytes | None, fmt: QImage.Format) -> QImage | None:
    image = QImage.fromData(data, "PNG") if data else QImage()
    if data and image.isNull():
        log.warning("A saved workspace image could not be decoded; it is left out")
    return None if image.isNull() else image.convertToFormat(fmt)
