"""The menu bar and its commands: File (new, open an image, save or copy the picture shown, save and load the
mask, open the outputs folder, quit), Edit (undo, redo, paste an image) and Help (keyboard shortcuts, about).

The shortcuts are window-wide, yet a text field keeps its own Ctrl+Z and Ctrl+V, and so does the canvas:
both claim those keys (ShortcutOverride) before a window shortcut fires.
"""

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from studio.core.errors import StudioError
from studio.core.paths import outputs_dir
from studio.session import Result
from studio.ui.canvas import Canvas
from studio.ui.help_dialogs import APP_NAME, AboutDialog, ShortcutsDialog
from studio.ui.image_export import ImageExport, Picture

StandardKey = QKeySequence.StandardKey
IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif);;All files (*)"


class Menus:
    def __init__(self, window: QMainWindow, canvas: Canvas, *, show_error: Callable[[str], None],
                 show_status: Callable[[str], None], picture: Callable[[], Picture | None],
                 device: Callable[[], str | None]) -> None:
        """``picture`` gives what the window shows (a result over the canvas, or the canvas image);
        ``device`` what the loaded model runs on (None before one is loaded)."""
        self._window = window
        self._canvas = canvas
        self._show_error = show_error
        self._show_status = show_status
        self._picture = picture
        self._device = device
        self.export = ImageExport(window)
        self.export.saved.connect(lambda path: show_status(f"Saved {Path(path).name}."))
        self.export.copied.connect(lambda: show_status("Copied the image."))
        self.export.failed.connect(show_error)
        bar = window.menuBar()
        file = bar.addMenu("&File")
        self.new_action = _action(file, "newAction", "&New", self.new, StandardKey.New)
        self.new_action.setToolTip("Clear the canvas (Ctrl+Z brings it back)")
        self.open_image_action = _action(file, "openImageAction", "&Open image…", self.open_image, StandardKey.Open)
        file.addSeparator()
        self.save_image_action = _action(file, "saveImageAction", "Save image &as…", self.save_image, "Ctrl+Shift+S")
        self.copy_image_action = _action(file, "copyImageAction", "&Copy image", self.copy_image, "Ctrl+Shift+C")
        file.addSeparator()
        self.save_mask_action = _action(file, "saveMaskAction", "&Save mask…", self.save_mask)
        self.load_mask_action = _action(file, "loadMaskAction", "&Load mask…", self.load_mask)
        file.addSeparator()
        self.outputs_action = _action(file, "openOutputsAction", "Open &outputs folder", self.open_outputs)
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

        self.help_menu = bar.addMenu("&Help")
        self.shortcuts_action = _action(self.help_menu, "shortcutsAction", "&Keyboard shortcuts", self.show_shortcuts,
                                        StandardKey.HelpContents)
        self.help_menu.addSeparator()
        self.about_action = _action(self.help_menu, "aboutAction", f"&About {APP_NAME}", self.show_about)

    def set_has_image(self, has_image: bool) -> None:
        self.save_mask_action.setEnabled(has_image)
        self.load_mask_action.setEnabled(has_image)
        self.new_action.setEnabled(has_image)

    # -- commands --------------------------------------------------------------------------------
    def new(self) -> None:
        """An empty canvas (text to image); undoable, so nothing is lost."""
        if self._canvas.image() is not None:
            self._canvas.clear_overlay()
            self._canvas.set_image(None)
            self._show_status("New canvas (Ctrl+Z brings the image back).")

    def save_image(self) -> None:
        picture = self._picture()
        if picture is None:
            self._show_status("There is no image to save.")
            return
        chosen = self.ask_save_image(picture.path.name if isinstance(picture, Result) else "image.png")
        if not chosen:
            return
        path = Path(chosen)
        if path.suffix.lower() != ".png":
            path = path.with_name(f"{path.name}.png")
            if path.exists():  # the dialog asked about replacing the name typed, not this one
                self._show_error(f"{path.name} already exists; choose another name.")
                return
        self.export.save(picture, path)

    def copy_image(self) -> None:
        picture = self._picture()
        if picture is None:
            self._show_status("There is no image to copy.")
        else:
            self.export.copy(picture)

    def open_outputs(self) -> None:
        self.open_url(QUrl.fromLocalFile(str(outputs_dir())))

    def show_shortcuts(self) -> None:
        self.show_dialog(ShortcutsDialog(self._window.menuBar(), self._window))

    def show_about(self) -> None:
        self.show_dialog(AboutDialog(self._device(), self._window))

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

    # -- asking the user and the desktop (replaced in tests) --------------------------------------
    def ask_save_image(self, name: str) -> str | None:
        dialog = QFileDialog(self._window, "Save the image", str(outputs_dir() / name), "PNG images (*.png)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("png")  # so that the dialog's own "replace?" question is about the real name
        return dialog.selectedFiles()[0] if dialog.exec() and dialog.selectedFiles() else None

    def open_url(self, url: QUrl) -> None:
        if not QDesktopServices.openUrl(url):
            self._show_error(f"The folder {url.toLocalFile()} could not be opened.")

    def show_dialog(self, dialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

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
