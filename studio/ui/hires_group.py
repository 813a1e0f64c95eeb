"""The "Hires fix" controls: a checkable group (on/off) with the scale, strength, steps and upscaler."""

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QSpinBox, QWidget

from studio.core.hires import BUILTIN_UPSCALERS, LATENT_UPSCALERS, MAX_SCALE, MIN_SCALE, HiresPass
from studio.core.settings import Settings
from studio.core.upscaler_files import find_upscalers

TIP = "Generate at the size above, upscale, then refine at the larger size (text to image only)."
IMAGE_TIP = "Hires fix is for text to image; the size follows the canvas image."
UPSCALER_TIP = ("Latent: upscale the latents (adds detail, needs strength 0.5 or more); "
                "Lanczos: upscale the picture (keeps it closer); or an upscaler model.")
NO_LATENT_TIP = ("This model's latents cannot be upscaled as latents: Lanczos upscales the picture, or choose an "
                 "upscaler model.")
PICTURE_UPSCALER = "Lanczos"  # what a family without latent upscaling gets instead of a latent one


class HiresGroup(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Hires fix", parent, objectName="hiresGroup", checkable=True, checked=False)
        self.setToolTip(TIP)
        self._base = (512, 512)
        self.scale_spin = QDoubleSpinBox(objectName="hiresScaleSpin", decimals=2, minimum=MIN_SCALE,
                                         maximum=MAX_SCALE, singleStep=0.25, value=2.0, prefix="× ")
        self.scale_spin.setToolTip("The final size is the size above times this.")
        self.target_label = QLabel(objectName="hiresTargetLabel")
        self.strength_spin = QDoubleSpinBox(objectName="hiresStrengthSpin", decimals=2, minimum=0.01, maximum=1.0,
                                            singleStep=0.05, value=HiresPass().strength)
        self.strength_spin.setToolTip("How much the second pass may change: low keeps the first pass's picture.")
        self.steps_spin = QSpinBox(objectName="hiresStepsSpin", minimum=0, maximum=500, specialValueText="Same")
        self.steps_spin.setToolTip("Steps of the second pass; Same: as many as the first pass.")
        self.upscaler_combo = QComboBox(objectName="hiresUpscalerCombo")
        self.upscaler_combo.addItems([*BUILTIN_UPSCALERS, *sorted(find_upscalers())])
        self.upscaler_combo.setToolTip(UPSCALER_TIP)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Scale", self.scale_spin)
        form.addRow("", self.target_label)
        form.addRow("Strength", self.strength_spin)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Upscaler", self.upscaler_combo)
        self.scale_spin.valueChanged.connect(self._show_target)
        self._show_target()

    def hires(self) -> HiresPass | None:
        """The hires pass a request gets: None when the group is off or not available."""
        if not self.isEnabled() or not self.isChecked():
            return None
        return HiresPass(scale=self.scale_spin.value(), strength=self.strength_spin.value(),
                         steps=self.steps_spin.value(), upscaler=self.upscaler_combo.currentText())

    def set_base_size(self, width: int, height: int) -> None:
        self._base = (width, height)
        self._show_target()

    def follow_image(self, on: bool) -> None:
        """With an image to work from there is no first pass to upscale: the group is off."""
        self.setEnabled(not on)
        self.setToolTip(IMAGE_TIP if on else TIP)

    def allow_latent(self, allowed: bool) -> None:
        """The loaded family's latents can (or cannot) be upscaled as latents: a latent choice becomes Lanczos
        and the latent items are greyed out, with the reason in the tooltip."""
        items = self.upscaler_combo.model()
        for name in LATENT_UPSCALERS:
            row = self.upscaler_combo.findText(name)
            if row >= 0:
                items.item(row).setEnabled(allowed)
        if not allowed and self.upscaler_combo.currentText() in LATENT_UPSCALERS:
            self.upscaler_combo.setCurrentText(PICTURE_UPSCALER)
        self.upscaler_combo.setToolTip(UPSCALER_TIP if allowed else NO_LATENT_TIP)

    def apply(self, hires: HiresPass | None) -> None:
        """A recipe's hires pass (a target size becomes the scale that reaches it)."""
        self.setChecked(hires is not None)
        if hires is not None:
            width, height = hires.target_size(*self._base)
            scale = max(width / self._base[0], height / self._base[1])
            self._set(scale, hires.strength, hires.steps, hires.upscaler)

    def load(self, settings: Settings) -> None:
        self.setChecked(settings.hires_enabled)
        self._set(settings.hires_scale, settings.hires_strength, settings.hires_steps, settings.hires_upscaler)

    def store(self, settings: Settings) -> None:
        settings.hires_enabled = self.isChecked()
        settings.hires_scale = self.scale_spin.value()
        settings.hires_strength = self.strength_spin.value()
        settings.hires_steps = self.steps_spin.value()
        settings.hires_upscaler = self.upscaler_combo.currentText()

    def _set(self, scale: float, strength: float, steps: int, upscaler: str) -> None:
        self.scale_spin.setValue(scale)
        self.strength_spin.setValue(strength)
        self.steps_spin.setValue(steps)
        if upscaler and self.upscaler_combo.findText(upscaler) < 0:
            self.upscaler_combo.addItem(upscaler)  # e.g. an upscaler model named by a recipe: shown as asked
        if upscaler:
            self.upscaler_combo.setCurrentText(upscaler)

    def _show_target(self) -> None:
        width, height = HiresPass(scale=self.scale_spin.value()).target_size(*self._base)
        self.target_label.setText(f"→ {width} × {height} px")
