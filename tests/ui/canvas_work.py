"""Helpers for window tests that work on the canvas: test pictures, mouse strokes, pixel arrays."""

import numpy as np
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage

from studio.workers.images import qimage_to_pil
from tests.ui.test_canvas_drops import drop, file_mime


def noise_picture(path, size=(96, 64), seed=3) -> str:
    """A PNG of random pixels: any change to any pixel shows."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return str(path)


def drop_file(qtbot, canvas, path) -> None:
    with qtbot.waitSignal(canvas.image_dropped, timeout=10_000):
        assert drop(canvas, file_mime(path))


def paint(qtbot, canvas, *points: tuple[float, float], size=12) -> None:
    """One hard-brush mouse stroke through ``points`` (image coordinates), on a canvas that has the focus
    (the click that focuses it does not paint)."""
    canvas.setFocus()
    canvas.brush_size = size
    canvas.brush_hardness = 1.0
    at = [canvas.map_from_image(QPointF(x, y)).toPoint() for x, y in points]
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=at[0])
    for p in at[1:]:
        qtbot.mouseMove(canvas, p)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=at[-1])


def array(image: QImage | Image.Image | None) -> np.ndarray | None:
    """Pixels as numpy (HxWx3 RGB, or HxW for a mask); QImages through the app's own exact conversion."""
    if image is None:
        return None
    return np.asarray(qimage_to_pil(image) if isinstance(image, QImage) else image)
