"""Thumbnails of a batch's results; picking one shows it on the canvas."""

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from studio.session import Result

THUMB = 84


class ResultsStrip(QListWidget):
    picked = Signal(object)  # Result

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsStrip")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 36, THUMB + 22))  # room for a 10-digit seed under each thumbnail
        self.setFixedHeight(THUMB + 30)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._results: list[Result] = []
        self.currentRowChanged.connect(self._row_changed)
        self.hide()

    def set_results(self, results: tuple[Result, ...]) -> None:
        """Show a batch (hidden for a single image); the first one is picked."""
        self._results = list(results)
        self.blockSignals(True)
        self.clear()
        for result in self._results:
            thumb = QPixmap.fromImage(result.thumbnail).scaled(
                THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            item = QListWidgetItem(QIcon(thumb), f"seed {result.recipe.seed}")
            item.setToolTip(str(result.path))
            self.addItem(item)
        self.blockSignals(False)
        self.setVisible(len(self._results) > 1)
        if self._results:
            self.setCurrentRow(0)

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self._results):
            self.picked.emit(self._results[row])
