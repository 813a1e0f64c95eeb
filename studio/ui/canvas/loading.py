"""Bringing images in from drops, the clipboard and files, decoding off the GUI thread."""

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from studio.core.errors import StudioError
from studio.ui.canvas.decoding import decode_bytes, decode_file
from studio.ui.background import start_detached

# Encoded image data as browsers and image editors put it on drags and the clipboard, best first.
log = logging.getLogger(__name__)
IMAGE_MIME_TYPES = ("image/png", "image/webp", "image/jpeg", "image/bmp", "image/tiff", "image/gif")


def offers_image(mime: QMimeData) -> bool:
    """Whether a drag is worth accepting: files (checked on drop) or image data."""
    return mime.hasUrls() or mime.hasImage() or any(mime.hasFormat(f) for f in IMAGE_MIME_TYPES)


def mime_source(mime: QMimeData) -> str | bytes | QImage:
    """What a drop or paste brings: a local file path, encoded image bytes, or an already decoded image."""
    local = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
    if local:
        return local[0]
    for fmt in IMAGE_MIME_TYPES:
        data = bytes(mime.data(fmt)) if mime.hasFormat(fmt) else b""
        if data:
            return data
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QPixmap):
            image = image.toImage()
        if isinstance(image, QImage) and not image.isNull():
            return image  # the canvas flattens transparency
    if mime.hasUrls():
        raise StudioError("Only files on this computer can be opened: save the image first, then drop the file.")
    raise StudioError("There is no image in what was dropped or pasted.")


class _Reply(QObject):
    """Carries one result from a worker thread back to the GUI thread (a queued connection)."""

    done = Signal(int, QImage, str)
    failed = Signal(int, str)


class ImageLoader(QObject):
    """Decodes on a private thread pool. Only the newest request is reported: a slow decode that
    finishes after a newer drop is dropped silently."""

    loaded = Signal(QImage, str)  # image, source file path ("" for raw data)
    failed = Signal(str)  # one sentence for the user
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reply = _Reply(self)
        self._reply.done.connect(self._on_done)
        self._reply.failed.connect(self._on_failed)
        self._ticket = 0
        self._busy = False

    def busy(self) -> bool:
        return self._busy

    def load_file(self, path: str | Path) -> None:
        path = str(path)
        self._start(lambda: decode_file(path), path)

    def load_bytes(self, data: bytes, name: str) -> None:
        self._start(lambda: decode_bytes(data, name), "")

    def _start(self, decode: Callable[[], QImage], source: str) -> None:
        self._ticket += 1
        ticket, reply = self._ticket, self._reply

        def run() -> None:
            try:
                image = decode()
            except StudioError as err:
                answer = (reply.failed, ticket, str(err))
            except Exception as err:  # noqa: BLE001 - a worker must always answer
                log.exception("Decoding an image failed")
                answer = (reply.failed, ticket, f"The image could not be opened ({type(err).__name__}).")
            else:
                answer = (reply.done, ticket, image, source)
            try:
                answer[0].emit(*answer[1:])
            except RuntimeError:
                pass  # the canvas was deleted (or the app closed) while decoding: nobody to tell

        self._set_busy(True)
        start_detached(run, "image-decode")

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    @Slot(int, QImage, str)
    def _on_done(self, ticket: int, image: QImage, source: str) -> None:
        if ticket == self._ticket:
            self._set_busy(False)
            self.loaded.emit(image, source)

    @Slot(int, str)
    def _on_failed(self, ticket: int, message: str) -> None:
        if ticket == self._ticket:
            self._set_busy(False)
            self.failed.emit(message)
