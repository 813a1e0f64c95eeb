""""Upscale": a button with a small popup choosing an upscaler model (from the upscaler folders) and a scale."""

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QMenu,
    QPushButton,
    QWidget,
    QWidgetAction,
)

from studio.core.upscaler_files import find_upscalers, upscaler_dirs

MODEL_SCALE = "Model's own"


class UpscaleButton(QPushButton):
    upscale = Signal(str, float)  # upscaler name, scale (0: the model's own)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("upscaleButton")
        self.setText("Upscale")
        self.setToolTip("Upscale the picture shown with an upscaler model (ESRGAN, SwinIR...); Ctrl+Z undoes it.")
        form = QWidget()
        layout = QFormLayout(form)
        layout.setContentsMargins(10, 10, 10, 10)
        self.model_combo = QComboBox(objectName="upscalerModelCombo")
        self.model_combo.setToolTip(f"Upscaler model files (.pth, .safetensors) in {upscaler_dirs()[0]}")
        self.scale_spin = QDoubleSpinBox(objectName="upscaleScaleSpin", decimals=2, minimum=0.0, maximum=16.0,
                                         singleStep=0.5, specialValueText=MODEL_SCALE, prefix="× ")
        self.scale_spin.setToolTip("The final size is the picture's size times this; Model's own: the model's scale.")
        self.apply_button = QPushButton("Upscale", objectName="upscaleApplyButton")
        self.apply_button.clicked.connect(self._apply)
        layout.addRow("Model", self.model_combo)
        layout.addRow("Scale", self.scale_spin)
        layout.addRow(self.apply_button)

        menu = QMenu(self)
        action = QWidgetAction(menu)
        action.setDefaultWidget(form)
        menu.addAction(action)
        menu.aboutToShow.connect(self.refresh)
        self.setMenu(menu)
        self.refresh()

    def refresh(self) -> None:
        """List the upscaler files now in the folders (models added while the app runs show up)."""
        current = self.model_combo.currentText()
        self.model_combo.clear()
        names = sorted(find_upscalers())
        self.model_combo.addItems(names)
        if current in names:
            self.model_combo.setCurrentText(current)
        self.apply_button.setEnabled(bool(names))
        self.apply_button.setToolTip("" if names else f"Put upscaler models in {upscaler_dirs()[0]} first.")

    def _apply(self) -> None:
        self.menu().close()
        self.upscale.emit(self.model_combo.currentText(), self.scale_spin.value())
