"""The menu bar and its commands: File (open an image, save and load the mask, quit) and Edit (undo, redo,
paste an image).

The shortcuts are window-wide, yet a text field keeps its own Ctrl+Z and Ctrl+V, and so does the canvas:
both claim those keys (ShortcutOverride) before a window shortcut fires.
"""

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from studio.core.errors import StudioError
from studio.core.paths import outputs_dir
from studio.ui.canvas import Canvas

StandardKey = QKeySequence.StandardKey
IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif);;All files (*)"


class Menus:
    def __init__(self, window: QMainWindow, canvas: Canvas, *, show_error: Callable[[str], None],
                 show_status: Callable[[str], None]) -> None:
        self._window = window
        self._canvas = canvas
        self._show_error = show_error
        self._show_status = show_status
        bar = window.menuBar()
        file = bar.addMenu("&File")
        self.open_image_action = _action(file, "openImageAction", "&Open image…", self.open_image, StandardKey.Open)
        file.addSeparator()
        self.save_mask_action = _action(file, "saveMaskAction", "&Save mask…", self.save_mask)
        self.load_mask_action = _action(file, "loadMaskAction", "&Load mask…", self.load_mask)
        file.addSeparator()
        self.quit_action = _action(file, "quitAction", "&Quit", window.close, StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        self.undo_action = _action(edit, "undoAction", "&Undo", canvas.undo, StandardKey.Undo)
        self.redo_action = _action(edit, "redoAction", "&Redo", canvas.redo, "Ctrl+Shift+Z", StandardKey.Redo)
        edit.addSeparator()
        self.paste_action = _action(edit, "pasteAction", "&Paste image", canvas.paste_from_clipboard, StandardKey.Paste)
        stack = canvas.undo_stack()
        self.undo_action.setEnabled(stack.canUndo())
        self.redo_action.setEnabled(stack.canRedo())
        stack.canUndoChanged.connect(self.undo_action.setEnabled)
        stack.canRedoChanged.connect(self.redo_action.setEnabled)

    def set_has_image(self, has_image: bool) -> None:
        self.save_mask_action.setEnabled(has_image)
        self.load_mask_action.setEnabled(has_image)

    # -- commands --------------------------------------------------------------------------------
    def open_image(self) -> None:
        path = self.ask_open_image()
        if path:
            self._canvas.open_file(path)

    def save_mask(self) -> None:
        path = self.ask_save_mask()
        if path:
            self._try(lambda: self._show_status(f"Saved the mask to {self._canvas.save_mask(path)}"))

    def load_mask(self) -> None:
        path = self.ask_load_mask()
        if path:
            self._try(lambda: self._load_mask(path))

    def _load_mask(self, path: str) -> None:
        self._canvas.load_mask(path)
        if self._canvas.mask() is None:  # said, because the mode then stays image-to-image
            self._show_error(f"{Path(path).name} is all black: it marks nothing to repaint, so this is not inpainting.")

    # -- asking the user (replaced in tests) -----------------------------------------------------
    def ask_open_image(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self._window, "Open an image", str(outputs_dir()), IMAGE_FILES)
        return path or None

    def ask_save_mask(self) -> str | None:
        suggested = str(outputs_dir() / "mask.png")
        path, _ = QFileDialog.getSaveFileName(self._window, "Save the mask", suggested, "PNG images (*.png)")
        return path or None

    def ask_load_mask(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self._window, "Load a mask", str(outputs_dir()), IMAGE_FILES)
        return path or None

    def _try(self, act: Callable[[], None]) -> None:
        try:
            act()
        except StudioError as exc:
            self._show_error(str(exc))
        except OSError as exc:
            self._show_error(f"The mask could not be saved ({exc.strerror or exc}).")


def _action(menu: QMenu, name: str, text: str, slot: Callable[[], None], *keys: str | StandardKey) -> QAction:
    action = menu.addAction(text)
    action.setObjectName(name)
    shortcuts: list[QKeySequence] = []
    for key in keys:
        for sequence in QKeySequence.keyBindings(key) if isinstance(key, StandardKey) else [QKeySequence(key)]:
            if sequence not in shortcuts:
                shortcuts.append(sequence)
    action.setShortcuts(shortcuts)
    action.triggered.connect(slot)
    return action
