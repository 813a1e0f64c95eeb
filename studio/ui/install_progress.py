"""An install's progress (what uv is doing, MB, speed and time left, a bar) with its Cancel button: the running
page of the PyTorch set-up and of Engine › Install OpenVINO…."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from studio.setup.installer import DOWNLOADING, Progress


class InstallProgress(QWidget):
    cancel_requested = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        """``name`` prefixes the object names (``setup`` -> setupProgressLabel, setupProgressBar, setupCancelButton)."""
        super().__init__(parent)
        self.label = QLabel(objectName=f"{name}ProgressLabel", wordWrap=True,
                            textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QProgressBar(objectName=f"{name}ProgressBar")
        self.cancel_button = QPushButton("Cancel", objectName=f"{name}CancelButton")
        column = QVBoxLayout(self)
        column.addWidget(self.label)
        column.addWidget(self.bar)
        column.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        column.addLayout(row)
        self.cancel_button.clicked.connect(self._cancel)
        self._cancelling = False

    def begin(self, text: str) -> None:
        self._cancelling = False
        self.label.setText(text)
        self.bar.setRange(0, 0)  # busy
        self.cancel_button.setEnabled(True)

    def show_progress(self, progress: Progress) -> None:
        if self._cancelling:
            return  # a report sent before the cancel arrived
        self.label.setText(progress.describe())
        if progress.phase == DOWNLOADING and progress.total_mb:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(progress.done_mb / progress.total_mb, 1)))
        else:
            self.bar.setRange(0, 0)  # busy
        self.cancel_button.setEnabled(progress.cancellable)

    def _cancel(self) -> None:
        self._cancelling = True
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling…")
        self.cancel_requested.emit()
