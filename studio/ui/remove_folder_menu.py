"""The Models menu's "Remove a models folder" submenu: one entry per folder the user added.

Removing a folder takes it out of the settings' ``model_folders`` and rescans: its models are no longer listed.
No file is touched (the folder and its models stay where they are; adding it again brings them back).
"""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QMenu, QWidget

from studio.core.settings import save_settings
from studio.session.library import ModelLibrary

NO_FOLDERS = "No folders added"


class RemoveFolderMenu(QMenu):
    def __init__(self, window: QMainWindow, library: ModelLibrary, parent: QWidget | None = None) -> None:
        super().__init__("Re&move a models folder", parent)
        self.setObjectName("removeModelsFolderMenu")
        self.setToolTipsVisible(True)
        self._window = window
        self._library = library
        self.aboutToShow.connect(self.fill)
        self.fill()

    def fill(self) -> None:
        """One action per added folder (the list is read when the menu opens: adding a folder needs no signal)."""
        self.clear()
        for path in self._window.settings.model_folders:
            action = self.addAction(path, lambda path=path: self.remove(path))
            action.setToolTip("Stop listing the models in this folder (no file is deleted)")
        if self.isEmpty():
            self.addAction(NO_FOLDERS).setEnabled(False)

    def remove(self, path: str) -> None:
        settings = self._window.settings
        if path not in settings.model_folders:
            return
        index = settings.model_folders.index(path)
        del settings.model_folders[index]
        try:
            save_settings(settings)  # the scan reads the folders from the settings file
        except OSError as exc:
            settings.model_folders.insert(index, path)
            self._window.show_error(f"The settings could not be saved ({exc.strerror or exc}).")
            return
        self._window.status.showMessage(f"Removed {path} from the model library; its files are untouched.", 5000)
        self._library.rescan()
        self.fill()
