"""The History dock's contents: search and filters over the gallery, and what can be done with its images.

Search matches every word typed in the prompts; the filters are the model, the mode, how recent, and starred
only. The actions (context menu and keys): Open (Enter, double-click) in the viewer, Compare two, Star (F),
Move to trash (Del, undoable), Copy (Ctrl+C), Use as input, Restore recipe, Show in folder (the picture selected).
Those that need the window (the canvas, the prompt, the clipboard's export) are signals; the others are done here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QToolButton, QVBoxLayout, QWidget

from studio.core.history_index import HistoryFilter
from studio.session.history import History
from studio.session.thumbnail_loader import ThumbnailLoader
from studio.ui.compare_view import CompareView
from studio.ui.file_reveal import reveal_file
from studio.ui.history_view import HistoryModel, HistoryView
from studio.ui.image_viewer import ImageViewer

ALL_MODELS = "All models"
MODES = (("Any mode", ""), ("Text to image", "txt2img"), ("Image to image", "img2img"), ("Inpaint", "inpaint"))
DAY_S = 24 * 3600
DATES = (("Any time", None), ("Today", 0), ("Last 7 days", 7), ("Last 30 days", 30))


class HistoryPanel(QWidget):
    picked = Signal(Path)  # an image chosen in the gallery: show it over the canvas
    use_as_input = Signal(Path)
    restore_recipe = Signal(Path)
    copy_image = Signal(Path)
    notice = Signal(str)  # a hint for the status bar

    def __init__(self, history: History, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.history = history
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl  # replaced in tests
        self.reveal: Callable[[Path], object] = reveal_file  # likewise
        self.search = QLineEdit(objectName="historySearch", placeholderText="Search prompts",
                                clearButtonEnabled=True)
        self.model_filter = QComboBox(objectName="historyModelFilter")
        self.model_filter.addItem(ALL_MODELS, "")
        self.mode_filter = QComboBox(objectName="historyModeFilter")
        for label, mode in MODES:
            self.mode_filter.addItem(label, mode)
        self.date_filter = QComboBox(objectName="historyDateFilter")
        for label, days in DATES:
            self.date_filter.addItem(label, days)
        self.favourites_only = QToolButton(objectName="historyFavouritesOnly", text="★", checkable=True)
        self.favourites_only.setToolTip("Only starred images")
        self.count_label = QLabel(objectName="historyCountLabel")
        self.view = HistoryView()
        self.model = HistoryModel(history, loader, self)
        self.view.setModel(self.model)
        self.viewers: list[QWidget] = []  # the open viewer and compare windows
        self._lay_out()
        self._add_actions()
        self.search.textChanged.connect(self.apply_filter)
        for combo in (self.model_filter, self.mode_filter, self.date_filter):
            combo.currentIndexChanged.connect(self.apply_filter)
        self.favourites_only.toggled.connect(self.apply_filter)
        history.models_changed.connect(self._models_changed)
        history.entries_changed.connect(self._entries_changed)
        self.view.activated.connect(lambda index: self.open_viewer(index.row()))
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self._entries_changed(history.entries)

    def _lay_out(self) -> None:
        search = QHBoxLayout()
        search.setContentsMargins(0, 0, 0, 0)
        search.addWidget(self.search, 1)
        search.addWidget(self.favourites_only)
        for combo in (self.model_filter, self.mode_filter, self.date_filter):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(3)  # the dock may be narrow: the lists open at full width
        self.view.setMinimumWidth(self.view.gridSize().width() + 24)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(search)
        # One filter a row: side by side, a dock one thumbnail wide cut their texts ("Any mo", "Any tim").
        for combo in (self.model_filter, self.mode_filter, self.date_filter):
            layout.addWidget(combo)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count_label)

    def _add_actions(self) -> None:
        def action(name: str, text: str, slot: Callable[[], None],
                   keys: str | QKeySequence.StandardKey = "") -> QAction:
            act = QAction(text, self.view, objectName=name)
            if keys:
                act.setShortcut(QKeySequence(keys))
                act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            act.triggered.connect(slot)
            self.view.addAction(act)
            return act

        self.open_action = action("historyOpenAction", "Open", lambda: self.open_viewer(self.view.currentIndex().row()))
        self.compare_action = action("historyCompareAction", "Compare the two selected", self.compare_selected)
        self.star_action = action("historyStarAction", "Star / unstar", self.toggle_star, "F")
        self.trash_action = action("historyTrashAction", "Move to trash", self.trash_selected,
                                   QKeySequence.StandardKey.Delete)
        self.copy_action = action("historyCopyAction", "Copy image", lambda: self._emit_current(self.copy_image),
                                  QKeySequence.StandardKey.Copy)
        self.use_action = action("historyUseAction", "Use as input", lambda: self._emit_current(self.use_as_input))
        self.restore_action = action("historyRestoreAction", "Restore recipe",
                                     lambda: self._emit_current(self.restore_recipe))
        self.folder_action = action("historyShowInFolderAction", "Show in folder", self.show_in_folder)

    # -- filtering ------------------------------------------------------------------------------------------
    def current_filter(self) -> HistoryFilter:
        days = self.date_filter.currentData()
        since = None
        if days is not None:
            today = time.mktime(time.localtime()[:3] + (0, 0, 0, 0, 0, -1))  # local midnight
            since = today - days * DAY_S
        return HistoryFilter(text=self.search.text(), model=self.model_filter.currentData() or "",
                             mode=self.mode_filter.currentData() or "", since=since,
                             favourites_only=self.favourites_only.isChecked())

    def apply_filter(self) -> None:
        self.history.set_filter(self.current_filter())

    def _models_changed(self, models: tuple[str, ...]) -> None:
        chosen = self.model_filter.currentData()
        self.model_filter.blockSignals(True)
        self.model_filter.clear()
        self.model_filter.addItem(ALL_MODELS, "")
        for name in models:
            self.model_filter.addItem(name, name)
        self.model_filter.setCurrentIndex(max(0, self.model_filter.findData(chosen)))
        self.model_filter.blockSignals(False)

    def _entries_changed(self, entries) -> None:
        count = len(entries)
        self.count_label.setText(f"{count} image{'s' if count != 1 else ''}")

    # -- the selection --------------------------------------------------------------------------------------
    def selected_names(self) -> list[str]:
        rows = sorted({index.row() for index in self.view.selectionModel().selectedIndexes()})
        return [entry.name for row in rows if (entry := self.model.entry(row)) is not None]

    def select(self, name: str) -> bool:
        """Make the image called ``name`` the current one (shown over the canvas), if it is listed."""
        row = self.model.row_of(name)
        if row is None:
            return False
        self.view.setCurrentIndex(self.model.index(row))
        return True

    def _current_path(self) -> Path | None:
        entry = self.model.entry(self.view.currentIndex().row())
        return None if entry is None else self.history.path(entry.name)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry = self.model.entry(current.row())
        if entry is not None:
            self.picked.emit(self.history.path(entry.name))

    def _emit_current(self, signal) -> None:
        path = self._current_path()
        if path is not None:
            signal.emit(path)

    # -- actions done here ----------------------------------------------------------------------------------
    def open_viewer(self, row: int) -> ImageViewer | None:
        paths = [self.history.path(entry.name) for entry in self.model.entries()]
        if not 0 <= row < len(paths):
            return None
        viewer = ImageViewer(paths, row, self.window())
        return self._keep(viewer)

    def compare_selected(self) -> CompareView | None:
        names = self.selected_names()
        if len(names) != 2:
            self.notice.emit("Select two images to compare them (Ctrl+click the second).")
            return None
        return self._keep(CompareView(self.history.path(names[0]), self.history.path(names[1]), self.window()))

    def _keep(self, dialog):
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.viewers.append(dialog)
        dialog.destroyed.connect(lambda: self.viewers.remove(dialog) if dialog in self.viewers else None)
        dialog.show()
        return dialog

    def toggle_star(self) -> None:
        names = self.selected_names()
        if names:
            starred = not all(name in self.history.favourites for name in names)
            self.history.set_favourite(names, starred)

    def trash_selected(self) -> None:
        names = self.selected_names()
        if names:
            self.history.trash(names)

    def show_in_folder(self) -> None:
        """The file manager with the (first) selected picture selected; the outputs folder when none is."""
        names = self.selected_names()
        if names:
            self.reveal(self.history.folder / names[0])
        else:
            self.open_url(QUrl.fromLocalFile(str(self.history.folder)))
