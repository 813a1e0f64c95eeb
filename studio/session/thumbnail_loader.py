"""Gallery thumbnails made or read from the disk cache in background threads, newest request first.

Scrolling asks for the rows coming into view; the rows scrolled past are still waiting, so the last asked is
made first and at most :data:`MAX_WAITING` wait (the oldest are dropped: asked again if they come back into view).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from studio.core.errors import StudioError
from studio.core.thumbnails import thumbnail
from studio.workers.images import pil_to_qimage

log = logging.getLogger(__name__)

MAX_WAITING = 256
THREADS = 2


class _Outbox(QObject):
    ready = Signal(str, QImage)


class ThumbnailLoader(QObject):
    ready = Signal(str, QImage)  # the image's path and its thumbnail (a null QImage when it cannot be read)

    def __init__(self, folder: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        outbox = _Outbox(self)  # a child: the threads never hold the last reference to a QObject
        outbox.ready.connect(self.ready)
        self._queue = _Waiting()
        for i in range(THREADS):
            threading.Thread(target=_work, args=(self._queue, folder, outbox), name=f"thumbnails-{i}",
                             daemon=True).start()

    def request(self, path: Path, mtime_ns: int, size: int) -> None:
        self._queue.put(Path(path), mtime_ns, size)

    def close(self) -> None:
        self._queue.close()


class _Waiting:
    """The requests not taken yet, in asking order (the last is taken first), at most :data:`MAX_WAITING`."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[Path, int, int]] = {}
        self._wake = threading.Condition()
        self._closed = False

    def put(self, path: Path, mtime_ns: int, size: int) -> None:
        key = str(path)
        with self._wake:
            self._waiting.pop(key, None)
            self._waiting[key] = (path, mtime_ns, size)
            while len(self._waiting) > MAX_WAITING:
                del self._waiting[next(iter(self._waiting))]
            self._wake.notify()

    def take(self) -> tuple[str, tuple[Path, int, int]] | None:
        """The newest request, waiting for one; None once closed."""
        with self._wake:
            while not self._waiting and not self._closed:
                self._wake.wait()
            return None if self._closed else self._waiting.popitem()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._waiting.clear()
            self._wake.notify_all()


def _work(waiting: _Waiting, folder: Path | None, outbox: _Outbox) -> None:
    while (taken := waiting.take()) is not None:
        key, (path, mtime_ns, size) = taken
        try:
            image = pil_to_qimage(thumbnail(path, mtime_ns, size, folder))
        except StudioError as exc:
            log.info("No thumbnail for %s: %s", path, exc)
            image = QImage()
        except Exception:  # noqa: BLE001 - one odd file costs its thumbnail, not the thread
            log.exception("Making the thumbnail of %s failed", path)
            image = QImage()
        try:
            outbox.ready.emit(key, image)
        except RuntimeError:
            return  # deleted with its window
