"""How the canvas image is used: the mode (automatic from the canvas, or chosen), the strength, and the
inpainting and outpainting options."""

from PySide6.QtCore import QSignalBlocker, QSize, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

from studio.core.model_info import ModelFamily
from studio.core.recipe import Recipe
from studio.core.request import Mode
from studio.core.settings import Settings
from studio.ui.extend_button import ExtendButton
from studio.ui.recipe_restore import set_within
from studio.ui.upscale_button import UpscaleButton

MODE_LABELS = {Mode.TEXT_TO_IMAGE: "Text to image", Mode.IMAGE_TO_IMAGE: "Image to image", Mode.INPAINT: "Inpaint"}
EDIT_LABEL = "Instruction edit"  # image to image with an editing model (Flux Kontext): the prompt is the instruction


def auto_mode(has_image: bool, has_mask: bool) -> Mode:
    """Empty canvas: text-to-image; an image: image-to-image; an image with a mask: inpainting."""
    if not has_image:
        return Mode.TEXT_TO_IMAGE
    return Mode.INPAINT if has_mask else Mode.IMAGE_TO_IMAGE


def possible_modes(has_image: bool, has_mask: bool) -> set[Mode]:
    modes = {Mode.TEXT_TO_IMAGE}
    if has_image:
        modes.add(Mode.IMAGE_TO_IMAGE)
    if has_mask:
        modes.add(Mode.INPAINT)
    return modes


class ImagePanel(QWidget):
    changed = Signal()  # the mode choice or "only the masked region" changed: what state() returns
    mode_changed = Signal(object)  # the Mode a generation would use now

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image_size: QSize | None = None
        self._has_mask = False
        self._native = ModelFamily.SD1.native_size  # until a model is loaded
        self._mode = Mode.TEXT_TO_IMAGE
        self._edits = False  # the model edits by instruction (its image to image has no strength)

        self.mode_combo = QComboBox(objectName="modeCombo")
        self.mode_combo.setToolTip("Auto follows the canvas: no image, text to image; an image, image to image; "
                                   "an image with a painted mask, inpainting.")
        self.mode_combo.addItem("Auto", None)
        for mode, label in MODE_LABELS.items():
            self.mode_combo.addItem(label, mode.value)
        self.strength_spin = QDoubleSpinBox(objectName="strengthSpin", decimals=2, minimum=0.01, maximum=1.0,
                                            singleStep=0.05)
        self.strength_spin.setToolTip("How much may change: low keeps the image close, 1 repaints it completely.")
        self.feather_spin = QSpinBox(objectName="featherSpin", minimum=0, maximum=256, suffix=" px")
        self.feather_spin.setToolTip("Blend width outside the mask's edge; beyond it every pixel is the original.")
        self.only_masked_check = QCheckBox("Only the masked region", objectName="onlyMaskedCheck")
        self.only_masked_check.setToolTip("Generate the area around the mask at the model's size and paste it back: "
                                          "full detail on large images.")
        self.padding_spin = QSpinBox(objectName="paddingSpin", minimum=0, maximum=1024, singleStep=16, suffix=" px")
        self.padding_spin.setToolTip("Context around the mask the model sees when only the masked region is generated.")
        self.extend_button = ExtendButton()
        self.upscale_button = UpscaleButton()

        self._form = QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.addRow("Mode", self.mode_combo)
        self._form.addRow("Strength", self.strength_spin)
        self._form.addRow("Feather", self.feather_spin)
        self._form.addRow("", self.only_masked_check)
        self._form.addRow("Padding", self.padding_spin)
        self._form.addRow("Outpaint", self.extend_button)
        self._form.addRow("Upscale", self.upscale_button)

        self.mode_combo.currentIndexChanged.connect(self._refresh)
        self.mode_combo.currentIndexChanged.connect(self.changed)
        self.only_masked_check.toggled.connect(self.changed)
        self.only_masked_check.toggled.connect(self.padding_spin.setEnabled)
        self._refresh()

    # -- the canvas and the model --------------------------------------------------------------
    def set_canvas(self, image_size: QSize | None, has_mask: bool) -> None:
        """Follow the canvas. A new image turns "only the masked region" on when it is larger than the model's size."""
        if image_size is not None and image_size != self._image_size:
            self.only_masked_check.setChecked(max(image_size.width(), image_size.height()) > self._native)
        self._image_size, self._has_mask = image_size, has_mask
        self._refresh()

    def set_native_size(self, native: int) -> None:
        self._native = native

    def set_edits(self, edits: bool) -> None:
        """An instruction-editing model: image to image becomes "Instruction edit", without strength."""
        self._edits = edits
        self.mode_combo.setItemText(self.mode_combo.findData(Mode.IMAGE_TO_IMAGE.value),
                                    EDIT_LABEL if edits else MODE_LABELS[Mode.IMAGE_TO_IMAGE])
        self._refresh()

    # -- what a generation uses ----------------------------------------------------------------
    def mode(self) -> Mode:
        return self._mode

    def request_fields(self) -> dict:
        return dict(strength=round(self.strength_spin.value(), 2), mask_feather=self.feather_spin.value())

    def only_masked(self) -> bool:
        return self.only_masked_check.isChecked()

    def padding(self) -> int:
        return self.padding_spin.value()

    # -- keeping it ----------------------------------------------------------------------------
    def load(self, settings: Settings) -> None:
        self.strength_spin.setValue(settings.strength)
        self.feather_spin.setValue(settings.mask_feather)
        self.padding_spin.setValue(settings.inpaint_padding)

    def store(self, settings: Settings) -> None:
        settings.strength = round(self.strength_spin.value(), 2)
        settings.mask_feather = self.feather_spin.value()
        settings.inpaint_padding = self.padding_spin.value()

    def state(self) -> dict:
        """The per-canvas choices, for the workspace."""
        return {"mode": self.mode_combo.currentData(), "only_masked": self.only_masked()}

    def restore(self, state: dict) -> None:
        if state.get("mode") in {mode.value for mode in Mode}:
            self.mode_combo.setCurrentIndex(self.mode_combo.findData(state["mode"]))
        if isinstance(state.get("only_masked"), bool):
            self.only_masked_check.setChecked(state["only_masked"])

    def apply_recipe(self, recipe: Recipe) -> list[str]:
        """Take a recipe's strength and feather; return what had to be changed to fit the controls."""
        adjusted: list[str] = []
        if recipe.strength is not None:
            set_within(self.strength_spin, recipe.strength, "Strength", adjusted)
        if recipe.mask_feather is not None:
            set_within(self.feather_spin, recipe.mask_feather, "Mask feather", adjusted)
        return adjusted

    # -- internals -----------------------------------------------------------------------------
    def _choice(self) -> Mode | None:
        data = self.mode_combo.currentData()
        return None if data is None else Mode(data)

    def _refresh(self) -> None:
        has_image = self._image_size is not None
        possible = possible_modes(has_image, self._has_mask)
        auto = auto_mode(has_image, self._has_mask)
        model = self.mode_combo.model()
        with QSignalBlocker(self.mode_combo):
            label = EDIT_LABEL if self._edits and auto is Mode.IMAGE_TO_IMAGE else MODE_LABELS[auto]
            self.mode_combo.setItemText(0, f"Auto ({label})")
            for index in range(1, self.mode_combo.count()):
                model.item(index).setEnabled(Mode(self.mode_combo.itemData(index)) in possible)
            if self._choice() not in possible | {None}:
                self.mode_combo.setCurrentIndex(0)  # the canvas no longer allows the choice
        mode = self._choice() or auto
        editing = self._edits and mode is Mode.IMAGE_TO_IMAGE
        self._form.setRowVisible(self.strength_spin, mode is not Mode.TEXT_TO_IMAGE and not editing)
        for widget in (self.feather_spin, self.only_masked_check, self.padding_spin):
            self._form.setRowVisible(widget, mode is Mode.INPAINT)
        self.padding_spin.setEnabled(self.only_masked())
        self.extend_button.setEnabled(has_image)
        self.upscale_button.setEnabled(has_image)
        if mode is not self._mode:
            self._mode = mode
            self.mode_changed.emit(mode)
