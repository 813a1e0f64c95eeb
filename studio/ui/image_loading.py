"""Decoding image files for the viewers in a background thread (a large output takes a while to decode)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QImageReader

from studio.ui.background import start_detached


class ImageFiles(QObject):
    loaded = Signal(str, QImage)  # the path and its image (null when it could not be read)

    def load(self, path: Path) -> None:
        def run() -> None:
            reader = QImageReader(str(path))
            reader.setAutoTransform(True)
            image = reader.read()
            try:
                self.loaded.emit(str(path), image)
            except RuntimeError:
                pass  # the viewer closed meanwhile

        start_detached(run, "image-viewer-load")
