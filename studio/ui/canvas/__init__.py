"""The central canvas: image display, zoom and pan, mask painting with undo, and bringing images in."""

from studio.ui.canvas.toolbar import CanvasToolbar
from studio.ui.canvas.widget import HINT, Canvas, Tool

__all__ = ["HINT", "Canvas", "CanvasToolbar", "Tool"]
