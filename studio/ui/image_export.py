"""Saving the picture shown (the canvas image, or a result with its recipe) to a file the user chooses, and
copying it to the clipboard. Encoding and writing run on a worker thread: a large canvas never freezes the window.

A result is exported as the PNG the app saved, byte for byte, so its ``parameters`` and recipe chunks go with it.
"""

import logging
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QObject, Signal, Slot
from PySide6.QtGui import QGuiApplication, QImage

from studio.core.atomic import atomic_write_bytes
from studio.session import Result
from studio.ui.background import start_detached

log = logging.getLogger(__name__)

Picture = QImage | Result  # what the window shows: the canvas image, or a finished result over it


def png_bytes(picture: Picture) -> bytes:
    """The PNG of ``picture``; a result's own file (with its recipe). Blocking: call it off the GUI thread."""
    if isinstance(picture, Result):
        return picture.path.read_bytes()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not picture.save(buffer, "PNG"):
        raise OSError("the image could not be encoded as PNG")
    return bytes(data)


class _Reply(QObject):
    saved = Signal(str)
    encoded = Signal(bytes, QImage)
    failed = Signal(str)


class ImageExport(QObject):
    saved = Signal(str)  # the path written
    copied = Signal()
    failed = Signal(str)  # one sentence for the user

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reply = _Reply(self)
        self._reply.saved.connect(self.saved)
        self._reply.encoded.connect(self._to_clipboard)
        self._reply.failed.connect(self.failed)

    def save(self, picture: Picture, path: str | Path) -> None:
        """Write ``picture`` to ``path`` as PNG (a path the user chose in a dialog that asked before replacing)."""
        path = Path(path)
        reply = self._reply

        def run() -> None:
            try:
                atomic_write_bytes(path, png_bytes(picture))
            except OSError as exc:
                log.exception("Saving the image as %s failed", path)
                _answer(reply.failed, f"The image could not be saved as {path.name} ({exc.strerror or exc}).")
            else:
                _answer(reply.saved, str(path))

        start_detached(run, "image-export", finish_before_exit=True)

    def copy(self, picture: Picture) -> None:
        """Put ``picture`` on the clipboard: as PNG data (a result with its recipe) and as an image."""
        image = picture.image if isinstance(picture, Result) else QImage(picture)
        reply = self._reply

        def run() -> None:
            try:
                data = png_bytes(picture)
            except OSError as exc:
                log.exception("Copying the image failed")
                _answer(reply.failed, f"The image could not be copied ({exc.strerror or exc}).")
            else:
                _answer(reply.encoded, data, image)

        start_detached(run, "image-export")

    @Slot(bytes, QImage)
    def _to_clipboard(self, data: bytes, image: QImage) -> None:
        mime = QMimeData()
        mime.setData("image/png", QByteArray(data))
        mime.setImageData(image)
        QGuiApplication.clipboard().setMimeData(mime)
        self.copied.emit()


def _answer(signal, *args) -> None:
    try:
        signal.emit(*args)
    except RuntimeError:
        pass  # the window closed while writing: nobody to tell
