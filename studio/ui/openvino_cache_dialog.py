"""Engine › OpenVINO cache limit…: the size limit of OpenVINO's converted models on disk (the ``openvino_cache_gb``
setting; 0: none), beside the cache folder and what it holds now (measured in the background: a slow disk does not
hold the window). OK saves the setting at once; the engine follows from its next conversion, when the least
recently used converted models make room (``core.conversion_cache``)."""

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QWidget

from studio.core.disk_usage import folder_size
from studio.core.downloads import describe_size
from studio.core.paths import openvino_cache_dir
from studio.core.settings import Settings, save_settings
from studio.ui.background import start_detached

MAX_GB = 10_000.0
NO_LIMIT = "No limit"
MEASURING = "Measuring…"
SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse


class OpenVinoCacheDialog(QDialog):
    measured = Signal(int)  # the bytes in the cache folder, from the background walk

    def __init__(self, settings: Settings, saved: Callable[[], None], parent: QWidget | None = None) -> None:
        """OK keeps the limit in ``settings``, writes the settings file and then calls ``saved``. The dialog
        deletes itself when it closes."""
        super().__init__(parent)
        self.setObjectName("openvinoCacheDialog")
        self.setWindowTitle("OpenVINO cache limit")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._settings = settings
        self._saved = saved
        folder = openvino_cache_dir()
        self.limit_spin = QDoubleSpinBox(objectName="openvinoCacheLimit")
        self.limit_spin.setDecimals(1)
        self.limit_spin.setRange(0.0, MAX_GB)
        self.limit_spin.setSuffix(" GB")
        self.limit_spin.setSpecialValueText(NO_LIMIT)  # shown at 0
        self.limit_spin.setValue(settings.openvino_cache_gb)  # a damaged negative one shows as no limit, as it acts
        self.limit_spin.setToolTip("The least recently used converted models are removed to stay under it; the "
                                   "ones a run uses stay, even over it")
        self.folder_label = QLabel(str(folder), objectName="openvinoCacheFolder", wordWrap=True,
                                   textInteractionFlags=SELECTABLE)
        self.size_label = QLabel(MEASURING, objectName="openvinoCacheSize")
        self.error_label = QLabel(objectName="openvinoCacheError", wordWrap=True, visible=False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        form = QFormLayout(self)
        form.addRow("Size limit:", self.limit_spin)
        form.addRow("Folder:", self.folder_label)
        form.addRow("In it now:", self.size_label)
        form.addRow(self.error_label)
        form.addRow(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.measured.connect(lambda size: self.size_label.setText(describe_size(size)))

        def measure() -> None:
            size = folder_size(folder, follow_links=False)  # as the cache's limit counts it
            try:
                self.measured.emit(size)
            except RuntimeError:
                pass  # the dialog closed meanwhile

        start_detached(measure, "openvino-cache-size")

    def accept(self) -> None:
        before = self._settings.openvino_cache_gb
        self._settings.openvino_cache_gb = self.limit_spin.value()
        try:
            save_settings(self._settings)
        except OSError as exc:  # nothing changed: the dialog stays open with the reason
            self._settings.openvino_cache_gb = before
            self.error_label.setText(f"The settings could not be saved ({exc.strerror or exc}).")
            self.error_label.show()
            return
        self._saved()
        super().accept()
