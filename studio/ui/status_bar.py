"""The status bar: the model's state on the left, a link to the last saved image on the right."""

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.model_label = QLabel(objectName="modelStatusLabel")
        self.saved_label = QLabel(objectName="lastSavedLabel")
        self.saved_label.setToolTip("Open the saved image")
        self.saved_label.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        for label in (self.model_label, self.saved_label):
            label.setContentsMargins(6, 0, 6, 0)
        self.addWidget(self.model_label, 1)
        self.addPermanentWidget(self.saved_label)

    def set_model_status(self, text: str) -> None:
        self.model_label.setText(text)

    def set_memory_plan(self, line: str) -> None:
        """The loaded model's memory plan and why it was chosen, as the model status's tooltip."""
        self.model_label.setToolTip(line)

    def set_saved(self, path: Path | None) -> None:
        if path is None:
            self.saved_label.clear()
            return
        url = QUrl.fromLocalFile(str(path)).toString()
        self.saved_label.setText(f'Saved <a href="{url}">{path.name}</a>')
        self.saved_label.setToolTip(str(path))
