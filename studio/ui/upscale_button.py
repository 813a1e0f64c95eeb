""""Upscale": a button with a small popup choosing an upscaler (a built-in resizer or a model from the upscaler
folders) and a scale, and, when a model is loaded, a refine pass with it (strength, tile size)."""

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QMenu,
    QPushButton,
    QSpinBox,
    QWidget,
    QWidgetAction,
)

from studio.core.hires import PIXEL_UPSCALERS
from studio.core.tiles import MAX_TILE, REFINE_STRENGTH
from studio.core.upscaler_files import find_upscalers, upscaler_dirs

MODEL_SCALE = "Model's own"
MODEL_TILE = "Model's size"
NO_MODEL_TIP = "Load a model to refine the upscaled picture with it."
REFINE_TIP = ("After upscaling, the model redraws the picture in overlapping tiles at low strength, with the "
              "prompt above: more detail, same picture.")


class UpscaleButton(QPushButton):
    upscale = Signal(str, float)  # upscaler name, scale (0: the model's own)
    refine = Signal(str, float, float, int)  # upscaler, scale, then refine strength and tile side (0: the model's)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("upscaleButton")
        self.setText("Upscale")
        self.setToolTip("Upscale the picture shown (Lanczos, or an upscaler model such as ESRGAN), optionally "
                        "refined by the loaded model; Ctrl+Z undoes a plain upscale.")
        form = QWidget()
        layout = QFormLayout(form)
        layout.setContentsMargins(10, 10, 10, 10)
        self.model_combo = QComboBox(objectName="upscalerModelCombo")
        self.model_combo.setToolTip(f"Lanczos and Nearest resize; upscaler model files (.pth, .safetensors) go in "
                                    f"{upscaler_dirs()[0]}")
        self.scale_spin = QDoubleSpinBox(objectName="upscaleScaleSpin", decimals=2, minimum=0.0, maximum=16.0,
                                         singleStep=0.5, specialValueText=MODEL_SCALE, prefix="× ")
        self.scale_spin.setToolTip("The final size is the picture's size times this; Model's own: the model's scale "
                                   "(2 for Lanczos and Nearest).")
        self.refine_check = QCheckBox("Refine with the model", objectName="upscaleRefineCheck")
        self.strength_spin = QDoubleSpinBox(objectName="upscaleRefineStrengthSpin", decimals=2, minimum=0.01,
                                            maximum=1.0, singleStep=0.05, value=REFINE_STRENGTH)
        self.strength_spin.setToolTip("How much each tile may change: 0.3-0.4 adds detail, higher invents things.")
        self.tile_spin = QSpinBox(objectName="upscaleRefineTileSpin", minimum=0, maximum=MAX_TILE, singleStep=64,
                                  specialValueText=MODEL_TILE, suffix=" px")
        self.tile_spin.setToolTip("The side of the square tiles the model redraws; Model's size: its native size.")
        self.apply_button = QPushButton("Upscale", objectName="upscaleApplyButton")
        self.apply_button.clicked.connect(self._apply)
        layout.addRow("Upscaler", self.model_combo)
        layout.addRow("Scale", self.scale_spin)
        layout.addRow(self.refine_check)
        layout.addRow("Strength", self.strength_spin)
        layout.addRow("Tile", self.tile_spin)
        layout.addRow(self.apply_button)
        self.refine_check.toggled.connect(self._show_refine)

        menu = QMenu(self)
        action = QWidgetAction(menu)
        action.setDefaultWidget(form)
        menu.addAction(action)
        menu.aboutToShow.connect(self.refresh)
        self.setMenu(menu)
        self.set_refine_available(False)
        self.refresh()

    def refresh(self) -> None:
        """List the built-in resizers and the upscaler files now in the folders (models added while the app runs
        show up)."""
        current = self.model_combo.currentText()
        self.model_combo.clear()
        names = [*PIXEL_UPSCALERS, *sorted(find_upscalers())]
        self.model_combo.addItems(names)
        if current in names:
            self.model_combo.setCurrentText(current)

    def set_refine_available(self, available: bool) -> None:
        """Refining needs a loaded model."""
        self.refine_check.setEnabled(available)
        self.refine_check.setToolTip(REFINE_TIP if available else NO_MODEL_TIP)
        self._show_refine()

    def refining(self) -> bool:
        return self.refine_check.isEnabled() and self.refine_check.isChecked()

    def _show_refine(self) -> None:
        on = self.refining()
        self.strength_spin.setEnabled(on)
        self.tile_spin.setEnabled(on)
        self.apply_button.setText("Upscale and refine" if on else "Upscale")

    def _apply(self) -> None:
        self.menu().close()
        name, scale = self.model_combo.currentText(), self.scale_spin.value()
        if self.refining():
            self.refine.emit(name, scale, self.strength_spin.value(), self.tile_spin.value())
        else:
            self.upscale.emit(name, scale)
