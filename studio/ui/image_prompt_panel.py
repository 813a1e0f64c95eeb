"""The "Image prompt (IP-Adapter)" group: an image that prompts the model, the adapter that reads it and its
scale. The image goes to the control image store in a background thread, as control layers' images do, so the
workspace keeps the group by the image's key and brings it back after a restart."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QWidget,
)

from studio.core import control_store
from studio.core.errors import StudioError
from studio.core.image_io import load_image
from studio.core.image_prompt import MAX_SCALE, ImagePrompt
from studio.core.model_folders import ModelKind
from studio.core.recipe import Recipe
from studio.session.library import ModelLibrary
from studio.ui.background import start_detached


class ImagePromptPanel(QGroupBox):
    changed = Signal()
    message = Signal(str, str)  # a sentence and its kind ("error", "info")
    _answer = Signal(object)  # a background task's result, run on the GUI thread

    def __init__(self, library: ModelLibrary, parent: QWidget | None = None) -> None:
        super().__init__("Image prompt (IP-Adapter)", parent, objectName="imagePromptGroup")
        self.setToolTip("Prompt with an image as well as words: an IP-Adapter and its CLIP vision encoder read it.")
        self.setCheckable(True)
        self.setChecked(False)
        self._library = library
        self._image: Image.Image | None = None
        self._image_key = ""  # the image's key in the control image store ("" until it is stored)
        self.image_button = QPushButton("Open image…", objectName="imagePromptImageButton")
        self.image_label = QLabel("No image", objectName="imagePromptImageLabel")
        self.adapter_combo = QComboBox(objectName="imagePromptAdapterCombo", editable=True)
        self.adapter_combo.setToolTip("An IP-Adapter from the ipadapter models folder (or a path to one); its image "
                                      "encoder goes in the clip_vision folder.")
        self.scale_spin = QDoubleSpinBox(objectName="imagePromptScaleSpin", decimals=2, minimum=0, maximum=MAX_SCALE,
                                         singleStep=0.05, value=1.0)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Image", self.image_button)
        form.addRow("", self.image_label)
        form.addRow("IP-Adapter", self.adapter_combo)
        form.addRow("Scale", self.scale_spin)
        self.image_button.clicked.connect(self._choose_image)
        self.toggled.connect(lambda _on: self.changed.emit())
        self.adapter_combo.currentTextChanged.connect(lambda _text: self.changed.emit())
        self.scale_spin.valueChanged.connect(lambda _value: self.changed.emit())
        self._answer.connect(lambda done: done())
        library.entries_changed.connect(lambda _entries: self._fill_adapters())
        self._fill_adapters()

    def image_prompt(self) -> ImagePrompt | None:
        """The request's image prompt (None when the group is off); the request's check names what is missing."""
        if not self.isChecked():
            return None
        return ImagePrompt(adapter=self.adapter_combo.currentText().strip(), image=self._image,
                           scale=self.scale_spin.value())

    def apply_recipe(self, recipe: Recipe) -> None:
        """A recipe's image prompt (its stored image, when on this computer); a recipe without one leaves it."""
        prompt = recipe.image_prompt
        if prompt is None:
            return
        self.setChecked(True)
        self.adapter_combo.setCurrentText(prompt.adapter)
        self.scale_spin.setValue(prompt.scale)
        self._set_stored(prompt.image_key)

    def state(self) -> dict:
        """What the workspace keeps of the group (the image by its store key)."""
        return {"image_prompt": {"on": self.isChecked(), "adapter": self.adapter_combo.currentText(),
                                 "scale": self.scale_spin.value(), "image_key": self._image_key}}

    def restore(self, data: dict) -> None:
        saved = data.get("image_prompt")
        if not isinstance(saved, dict):
            return
        adapter, scale, key = saved.get("adapter"), saved.get("scale"), saved.get("image_key")
        if isinstance(adapter, str):
            self.adapter_combo.setCurrentText(adapter)
        if isinstance(scale, (int, float)) and not isinstance(scale, bool):
            self.scale_spin.setValue(float(scale))
        if isinstance(key, str) and key:
            self._set_stored(key)
        self.setChecked(saved.get("on") is True)

    def _set_stored(self, key: str) -> None:
        """The stored image ``key`` (none for ""); one sentence when it is not on this computer."""
        try:
            self._set_image(control_store.load(key) if key else None, key)
        except StudioError as exc:
            self._set_image(None)
            self.message.emit(str(exc), "info")

    def use_image_file(self, path: str) -> None:
        """Load ``path`` as the image prompt, in the background."""

        def work() -> None:
            try:
                image = load_image(path)
                key = control_store.store(image)
            except (StudioError, OSError) as exc:
                text = str(exc)
                self._emit(lambda: self.message.emit(text, "error"))
                return
            self._emit(lambda: self._set_image(image, key))

        start_detached(work, "image-prompt")

    def _set_image(self, image: Image.Image | None, key: str = "") -> None:
        self._image, self._image_key = image, key
        self.image_label.setText("No image" if image is None else f"{image.width}×{image.height} image")
        self.changed.emit()

    def _choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Image prompt", "", "Images (*.png *.jpg *.jpeg *.webp *.bmp)")
        if path:
            self.use_image_file(path)

    def _fill_adapters(self) -> None:
        current = self.adapter_combo.currentText()
        self.adapter_combo.blockSignals(True)
        self.adapter_combo.clear()
        self.adapter_combo.addItems([e.name for e in self._library.of_kind(ModelKind.IPADAPTER)])
        self.adapter_combo.setCurrentText(current)
        self.adapter_combo.blockSignals(False)

    def _emit(self, done) -> None:
        try:
            self._answer.emit(done)
        except RuntimeError:  # the panel was deleted meanwhile
            pass
