"""The "Download a model" dialog: paste a Hugging Face id, a file in a repository or a link, pick the kind, watch
it come.

A non-modal view of the window's :class:`ModelDownloads`: a progress bar with MB, speed and time left, Cancel,
and Download again, which resumes from where a cancel or a broken connection stopped. A finished file (or, for a
Hugging Face id, a diffusers folder) lands in the kind's own models folder, where the library (watching it)
lists it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.downloads import DownloadProgress, DownloadResult, describe_progress
from studio.core.model_folders import ModelKind
from studio.core.paths import models_dir
from studio.session.downloads import ModelDownloads

PROGRESS_STEPS = 1000  # the bar counts in thousandths: byte counts overflow its int range


class DownloadDialog(QDialog):
    def __init__(self, downloads: ModelDownloads, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("downloadDialog")
        self.setWindowTitle("Download a model")
        self.setMinimumWidth(560)
        self._downloads = downloads
        self.source_edit = QLineEdit(objectName="downloadSourceEdit")
        self.source_edit.setPlaceholderText("org/repo, org/repo/model.safetensors, or a download link")
        self.source_edit.setToolTip("A Hugging Face id (org/repo, or org/repo@revision: the whole diffusers "
                                    "pipeline, as a folder), a file in a repository (org/repo/file.safetensors or "
                                    "its huggingface.co address), or any direct link (civitai's download links too)")
        self.kind_combo = QComboBox(objectName="downloadKindCombo")
        for kind in ModelKind:
            self.kind_combo.addItem(kind.label, kind.value)
        self.name_edit = QLineEdit(objectName="downloadNameEdit",
                                   placeholderText="(the server's file name, or the repository's)")
        self.folder_label = QLabel(objectName="downloadFolderLabel",
                                   textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress_bar = QProgressBar(objectName="downloadProgressBar", textVisible=False)
        self.progress_bar.setRange(0, PROGRESS_STEPS)
        self.status = QLabel(objectName="downloadStatus", wordWrap=True,
                             textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start_button = QPushButton("Download", objectName="downloadStartButton", default=True)
        self.cancel_button = QPushButton("Cancel download", objectName="downloadCancelButton", enabled=False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, objectName="downloadButtons")
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)

        form = QFormLayout()
        form.addRow("&Model:", self.source_edit)
        form.addRow("&Kind:", self.kind_combo)
        form.addRow("Save &as:", self.name_edit)
        form.addRow("Into:", self.folder_label)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(downloads.cancel)
        self.source_edit.returnPressed.connect(self.start)
        self.kind_combo.currentIndexChanged.connect(self._show_folder)
        downloads.progress.connect(self._progress)
        downloads.finished.connect(self._finished)
        downloads.failed.connect(self._failed)
        downloads.cancelled.connect(self._cancelled)
        downloads.busy_changed.connect(self._busy)
        self._show_folder()
        self._busy(downloads.busy)

    @property
    def kind(self) -> ModelKind:
        return ModelKind(self.kind_combo.currentData())

    def set_request(self, source: str, kind: ModelKind) -> None:
        """Fill in what to download (the "Get a model" guide does)."""
        self.source_edit.setText(source)
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind.value))
        self.name_edit.clear()

    def start(self) -> None:
        if self._downloads.busy:
            return
        self.progress_bar.setValue(0)
        self.status.setText("Connecting…")  # a refusal replaces it at once (the failed signal)
        self._downloads.start(self.source_edit.text(), self.kind, self.name_edit.text())

    def _show_folder(self) -> None:
        self.folder_label.setText(str(models_dir() / self.kind.value))

    def _busy(self, busy: bool) -> None:
        for widget in (self.source_edit, self.kind_combo, self.name_edit, self.start_button):
            widget.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        if busy:
            self.cancel_button.setFocus()

    def _progress(self, progress: DownloadProgress) -> None:
        if progress.fraction is None:
            self.progress_bar.setRange(0, 0)  # busy indicator: the size is unknown
        else:
            self.progress_bar.setRange(0, PROGRESS_STEPS)
            self.progress_bar.setValue(round(progress.fraction * PROGRESS_STEPS))
        resumed = f" (resumed at {progress.resumed_from / 1e6:.1f} MB)" if progress.resumed_from else ""
        self.status.setText(f"{progress.name}: {describe_progress(progress)}{resumed}")

    def _finished(self, result: DownloadResult) -> None:
        self.progress_bar.setRange(0, PROGRESS_STEPS)
        self.progress_bar.setValue(PROGRESS_STEPS)
        checked = "size and sha256 checked" if result.verified else "size checked (the server gave no hash)"
        text = f"Downloaded {result.path.name} into {result.path.parent} ({checked})."
        self.status.setText(text + (f" {result.note}" if result.note else ""))
        self.start_button.setText("Download")

    def _failed(self, message: str) -> None:
        self.progress_bar.setRange(0, PROGRESS_STEPS)
        self.status.setText(message)
        self.start_button.setText("Download again")

    def _cancelled(self) -> None:
        self.progress_bar.setRange(0, PROGRESS_STEPS)
        self.status.setText("Cancelled: what has arrived is kept; Resume continues from there.")
        self.start_button.setText("Resume")
