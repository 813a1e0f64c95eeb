"""The window's side of the model library: a Models menu, the browser dialog, the VAE choice per model.

Kept out of ``main_window.py``: the window makes the :class:`ModelLibrary` and the :class:`VaePicker` (it lays
the picker out), and this binding connects them to the session, the prompt and the settings.
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from studio.core.model_folders import ModelKind, layout_folders
from studio.core.settings import save_settings

from studio.session.library import ModelLibrary
from studio.ui.download_binding import DownloadBinding
from studio.ui.model_browser import ModelBrowser
from studio.ui.remove_folder_menu import RemoveFolderMenu
from studio.ui.vae_picker import VaePicker


class LibraryBinding:
    def __init__(self, window: QMainWindow, before: QMenu, library: ModelLibrary, vae_picker: VaePicker) -> None:
        """The Models menu goes in front of ``before`` (the View menu: View and Help stay the last two)."""
        self._window = window
        self._library = library
        self._vae_picker = vae_picker
        self.browser: ModelBrowser | None = None
        menu = QMenu("&Models", window, objectName="modelsMenu")
        window.menuBar().insertMenu(before.menuAction(), menu)
        self.browser_action = QAction("Model &library…", window, objectName="modelLibraryAction")
        self.browser_action.setShortcut("Ctrl+Shift+L")
        self.browser_action.triggered.connect(self.show_browser)
        menu.addAction(self.browser_action)
        self.add_folder_action = QAction("&Add a models folder…", window, objectName="addModelsFolderAction")
        self.add_folder_action.setToolTip("An AUTOMATIC1111/Forge or ComfyUI models folder, or any folder of models")
        self.add_folder_action.triggered.connect(self.add_folder)
        menu.addAction(self.add_folder_action)
        self.remove_folder_menu = RemoveFolderMenu(window, library, menu)
        menu.addMenu(self.remove_folder_menu)
        self.downloads = DownloadBinding(window, library, menu)
        rescan = QAction("&Rescan the model folders", window, objectName="rescanModelsAction")
        rescan.triggered.connect(library.rescan)
        menu.addAction(rescan)
        session = window.session
        session.model_source_changed.connect(self._model_changed)
        vae_picker.chosen.connect(self._vae_chosen)
        window.closed.connect(library.close)
        library.entries_changed.connect(self._entries_changed)
        self._model_changed(session.model_source)
        library.rescan()

    def show_browser(self) -> ModelBrowser:
        if self.browser is None:
            self.browser = ModelBrowser(self._library, self._window)
            self.browser.use_checkpoint.connect(self._window.session.load_model)
            self.browser.use_vae.connect(self._use_vae)
            self.browser.insert_text.connect(self._insert)
        self.browser.show()
        self.browser.raise_()
        return self.browser

    def _entries_changed(self, entries) -> None:
        usable = [e for e in entries if not e.problem]
        self._window.model_picker.set_library([str(e.path) for e in usable if e.kind is ModelKind.CHECKPOINT])
        self._window.prompts.set_network_names([e.name for e in usable if e.kind is ModelKind.LORA],
                                               [e.path.stem for e in usable if e.kind is ModelKind.EMBEDDING])

    def add_folder(self) -> None:
        """Ask for a folder, keep it in the settings' ``model_folders`` and scan it."""
        path = self.ask_folder()
        if not path:
            return
        settings = self._window.settings
        if path not in settings.model_folders:
            settings.model_folders.append(path)
            try:
                save_settings(settings)  # the scan reads the folders from the settings file
            except OSError as exc:
                self._window.show_error(f"The settings could not be saved ({exc.strerror or exc}).")
                return
        kinds = sorted({f.kind.label if f.kind else "mixed" for f in layout_folders(path)})
        self._window.status.showMessage(f"Added {path} ({', '.join(kinds)}); scanning it.", 5000)
        self._library.rescan()

    def ask_folder(self) -> str | None:
        """Replaced in tests."""
        return QFileDialog.getExistingDirectory(self._window, "Add a models folder") or None

    def _insert(self, text: str) -> None:
        edit = self._window.prompts.prompt_edit
        before = edit.toPlainText()
        cursor = edit.textCursor()
        if cursor.position() == 0 and before:  # never focused yet: add at the end, where a tag usually goes
            cursor.movePosition(cursor.MoveOperation.End)
        at = cursor.position()
        separator = ", " if at and before[:at].rstrip() and not before[:at].rstrip().endswith(",") else ""
        cursor.insertText(separator + text)
        edit.setTextCursor(cursor)

    def _use_vae(self, name: str) -> None:
        self._vae_picker.set_choice(name)
        self._vae_chosen(name)

    def _vae_chosen(self, name: str) -> None:
        source = self._window.session.model_source
        vaes = self._window.settings.model_vaes
        if name:
            vaes[source] = name
        else:
            vaes.pop(source, None)

    def _model_changed(self, source: str) -> None:
        self._vae_picker.set_choice(self._window.settings.model_vaes.get(source, ""))
