"""The window's side of model downloads: the Models menu's "Get a model…" and "Download a model…", and the
model list's "Get a model…" for newcomers. A finished download is announced in the status bar and rescanned."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from studio.core.downloads import DownloadResult
from studio.core.model_folders import ModelKind
from studio.session.downloads import ModelDownloads
from studio.session.library import ModelLibrary
from studio.ui.download_dialog import DownloadDialog
from studio.ui.starter_models_dialog import StarterModelsDialog


class DownloadBinding:
    def __init__(self, window: QMainWindow, library: ModelLibrary, menu: QMenu) -> None:
        self._window = window
        self._library = library
        self.downloads = ModelDownloads(window)
        self.dialog: DownloadDialog | None = None
        self.starters: StarterModelsDialog | None = None
        self.get_model_action = QAction("&Get a model…", window, objectName="getModelAction")
        self.get_model_action.setToolTip("Well-known models to start with (SD 1.5, SDXL), with their sizes")
        self.get_model_action.triggered.connect(self.show_starters)
        self.download_action = QAction("&Download a model…", window, objectName="downloadModelAction")
        self.download_action.setToolTip("Paste a Hugging Face id (org/repo), a file in it or a download link")
        self.download_action.triggered.connect(self.show_dialog)
        menu.addAction(self.get_model_action)
        menu.addAction(self.download_action)
        window.model_picker.get_model.connect(self.show_starters)
        self.downloads.finished.connect(self._finished)
        window.closed.connect(self.downloads.cancel)  # what arrived stays in its .part for the next start

    def show_dialog(self) -> DownloadDialog:
        if self.dialog is None:
            self.dialog = DownloadDialog(self.downloads, self._window)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def show_starters(self) -> StarterModelsDialog:
        if self.starters is None:
            self.starters = StarterModelsDialog(self._window)
            self.starters.download.connect(self._download_starter)
        self.starters.show()
        self.starters.raise_()
        return self.starters

    def _download_starter(self, source: str, kind: ModelKind) -> None:
        dialog = self.show_dialog()
        if not self.downloads.busy:
            dialog.set_request(source, kind)
            dialog.start()

    def _finished(self, result: DownloadResult) -> None:
        self._window.status.showMessage(f"Downloaded {result.path.name}.", 8000)
        self._library.rescan()  # the folder watcher would too, half a second later
