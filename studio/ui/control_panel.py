"""The "Control layers" group: the canvas document's ControlNet layers, each with its source, model,
preprocessor, weight and step range, the selected one's control map shown over the canvas on request.

The layers themselves are core records (:class:`~studio.core.control_layers.ControlLayer`); brought-in images and
scribbles go to the control image store in a background thread, and control maps are made there too (and kept,
by image and settings, so toggling the overlay is free).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
from PIL import Image
from PySide6.QtCore import Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QWidget,
)

from studio.core import control_store
from studio.core.control import CONTROL_MODES, MAX_PROCESSOR_RES, MIN_PROCESSOR_RES, RESIZE_MODES, ControlInput
from studio.core.control_layers import SOURCE_LABELS, SOURCES, ControlLayer, layers_from_data, layers_to_data
from studio.core.errors import StudioError
from studio.core.image_io import load_image
from studio.core.model_folders import ModelKind
from studio.core.preprocessors import BUILTIN_PREPROCESSORS, PREPROCESSORS, builtin_map, fit
from studio.core.recipe import Recipe
from studio.session.library import ModelLibrary
from studio.ui.background import start_detached
from studio.ui.canvas import Canvas
from studio.workers.images import pil_to_qimage, qimage_to_pil

log = logging.getLogger(__name__)

MAP_CACHE = 16  # control maps kept
_FOLDER_WEIGHTS = "/diffusion_pytorch_model"  # a diffusers ControlNet folder is listed by its weights file


class ControlPanel(QGroupBox):
    changed = Signal()  # the layers changed (worth a workspace write)
    message = Signal(str, str)  # a sentence and its kind ("error", "info")
    _answer = Signal(object)  # a background task's result, run on the GUI thread

    def __init__(self, canvas: Canvas, library: ModelLibrary, parent: QWidget | None = None) -> None:
        super().__init__("Control layers (ControlNet)", parent, objectName="controlLayersGroup")
        self.setToolTip("Guide the picture with control images: edges, scribbles, depth...")
        self._canvas = canvas
        self._library = library
        self._layers: list[ControlLayer] = []
        self._images: dict[str, Image.Image] = {}  # stored images by key, as loaded
        self._maps: dict[tuple, object] = {}  # (image key, settings) -> QImage control map
        self._filling = False  # widgets are being set from a layer: their signals change nothing

        self.layer_list = QListWidget(objectName="controlLayerList")
        self.layer_list.setMaximumHeight(80)
        self.add_button = QPushButton("Add", objectName="controlAddButton")
        self.remove_button = QPushButton("Remove", objectName="controlRemoveButton")
        self.source_combo = QComboBox(objectName="controlSourceCombo")
        for source in SOURCES:
            self.source_combo.addItem(SOURCE_LABELS[source], source)
        self.image_button = QPushButton("Open image…", objectName="controlImageButton")
        self.model_combo = QComboBox(objectName="controlModelCombo", editable=True)
        self.model_combo.setToolTip("A ControlNet from the controlnet models folder (or a path to one).")
        self.preprocessor_combo = QComboBox(objectName="controlPreprocessorCombo")
        self.preprocessor_combo.addItems(PREPROCESSORS)
        self.resolution_spin = QSpinBox(objectName="controlProcessorResSpin", minimum=MIN_PROCESSOR_RES,
                                        maximum=MAX_PROCESSOR_RES, singleStep=64, value=512)
        self.resolution_spin.setToolTip("Preprocessor resolution: the preprocessor works on the image at this size "
                                        "(its short side).")
        self.weight_spin = QDoubleSpinBox(objectName="controlWeightSpin", decimals=2, minimum=0, maximum=2,
                                          singleStep=0.05, value=1.0)
        self.start_spin = QDoubleSpinBox(objectName="controlStartSpin", decimals=2, minimum=0, maximum=1,
                                         singleStep=0.05, value=0.0)
        self.end_spin = QDoubleSpinBox(objectName="controlEndSpin", decimals=2, minimum=0, maximum=1,
                                       singleStep=0.05, value=1.0)
        self.mode_combo = QComboBox(objectName="controlModeCombo")
        self.mode_combo.addItems(CONTROL_MODES)
        self.resize_combo = QComboBox(objectName="controlResizeCombo")
        self.resize_combo.addItems(RESIZE_MODES)
        self.map_check = QCheckBox("Show the control map", objectName="controlShowMapCheck")
        self.hint = QLabel(objectName="controlHint", wordWrap=True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(self.layer_list)
        form.addRow(buttons)
        form.addRow("Source", self.source_combo)
        form.addRow("", self.image_button)
        form.addRow("ControlNet", self.model_combo)
        form.addRow("Preprocessor", self.preprocessor_combo)
        form.addRow("Resolution", self.resolution_spin)  # the preprocessor's (tooltip); short: labels align
        form.addRow("Weight", self.weight_spin)
        form.addRow("Start", self.start_spin)
        form.addRow("End", self.end_spin)
        form.addRow("Mode", self.mode_combo)
        form.addRow("Resize", self.resize_combo)
        form.addRow(self.map_check)
        form.addRow(self.hint)

        self.add_button.clicked.connect(lambda: self.add_layer())
        self.remove_button.clicked.connect(self.remove_layer)
        self.layer_list.currentRowChanged.connect(self._show_layer)
        self.image_button.clicked.connect(self._choose_image)
        for combo in (self.source_combo, self.preprocessor_combo, self.mode_combo, self.resize_combo):
            combo.currentIndexChanged.connect(self._edited)
        self.model_combo.currentTextChanged.connect(self._edited)
        for spin in (self.resolution_spin, self.weight_spin, self.start_spin, self.end_spin):
            spin.valueChanged.connect(self._edited)
        self.map_check.toggled.connect(self._edited)
        self._answer.connect(lambda done: done())
        library.entries_changed.connect(lambda _entries: self._fill_models())
        canvas.scribble_changed.connect(self._scribbled)
        canvas.image_changed.connect(self._update_map)
        self._fill_models()
        self._show_layer(-1)

    # -- the layers ----------------------------------------------------------------------------------
    def layers(self) -> tuple[ControlLayer, ...]:
        return tuple(self._layers)

    def add_layer(self, layer: ControlLayer | None = None) -> None:
        if layer is None:
            model = self.model_combo.itemText(0) if self.model_combo.count() else ""
            layer = ControlLayer(ControlInput(model=model))
        self._layers.append(layer)
        self._refresh_list(len(self._layers) - 1)
        self.changed.emit()

    def remove_layer(self) -> None:
        row = self.layer_list.currentRow()
        if 0 <= row < len(self._layers):
            del self._layers[row]
            self._refresh_list(min(row, len(self._layers) - 1))
            self.changed.emit()

    def set_layers(self, layers: list[ControlLayer]) -> None:
        self._layers = list(layers)
        self._refresh_list(0 if layers else -1)

    def control_inputs(self) -> tuple[ControlInput, ...]:
        """The request's control inputs, images included (the canvas image for a canvas layer)."""
        return tuple(replace_image(layer.settings, self._image_of(layer)) for layer in self._layers)

    # -- workspace and recipes -----------------------------------------------------------------------
    def state(self) -> dict:
        return {"control_layers": layers_to_data(self._layers)}

    def restore(self, data: dict) -> None:
        self.set_layers(layers_from_data(data.get("control_layers")))

    def apply_recipe(self, recipe: Recipe) -> None:
        """A recipe's control units become the layers (their stored images, when on this computer); a recipe
        without control leaves the layers as they are (an artist's scribbles are never dropped by a restore)."""
        if not recipe.control:
            return
        layers = [ControlLayer(settings=unit, source="image" if unit.image_key else "canvas",
                               image_key=unit.image_key) for unit in recipe.control]
        self.set_layers(layers)
        self.changed.emit()

    # -- internals -----------------------------------------------------------------------------------
    def _current(self) -> int:
        row = self.layer_list.currentRow()
        return row if 0 <= row < len(self._layers) else -1

    def _refresh_list(self, row: int) -> None:
        self.layer_list.blockSignals(True)
        self.layer_list.clear()
        for index, layer in enumerate(self._layers):
            self.layer_list.addItem(f"{index + 1}. {layer.label()}")
        self.layer_list.setCurrentRow(row)
        self.layer_list.blockSignals(False)
        self._show_layer(row)

    def _fill_models(self) -> None:
        names = [e.name.removesuffix(_FOLDER_WEIGHTS) for e in self._library.of_kind(ModelKind.CONTROLNET)]
        current = self.model_combo.currentText()
        self._filling = True
        self.model_combo.clear()
        self.model_combo.addItems(names)
        self.model_combo.setCurrentText(current)
        self._filling = False

    def _show_layer(self, row: int) -> None:
        """Put layer ``row``'s settings into the fields (nothing selected: the fields are off)."""
        layer = self._layers[row] if 0 <= row < len(self._layers) else None
        for widget in (self.remove_button, self.source_combo, self.image_button, self.model_combo,
                       self.preprocessor_combo, self.resolution_spin, self.weight_spin, self.start_spin, self.end_spin, self.mode_combo,
                       self.resize_combo, self.map_check):
            widget.setEnabled(layer is not None)
        if layer is not None:
            self._filling = True
            s = layer.settings
            self.source_combo.setCurrentIndex(SOURCES.index(layer.source))
            self.model_combo.setCurrentText(s.model)
            self.preprocessor_combo.setCurrentText(s.preprocessor)
            self.resolution_spin.setValue(s.processor_res)
            self.weight_spin.setValue(s.weight)
            self.start_spin.setValue(s.start)
            self.end_spin.setValue(s.end)
            self.mode_combo.setCurrentText(s.control_mode)
            self.resize_combo.setCurrentText(s.resize_mode)
            self.map_check.setChecked(layer.show_map)
            self._filling = False
        self._follow_source(layer)
        self._update_map()

    def _edited(self, *_args) -> None:
        row = self._current()
        if self._filling or row < 0:
            return
        old = self._layers[row]
        layer = ControlLayer(
            settings=replace_image(old.settings, None, model=self.model_combo.currentText().strip(),
                                   preprocessor=self.preprocessor_combo.currentText(),
                                   processor_res=self.resolution_spin.value(),
                                   weight=self.weight_spin.value(), start=self.start_spin.value(),
                                   end=self.end_spin.value(), control_mode=self.mode_combo.currentText(),
                                   resize_mode=self.resize_combo.currentText()),
            source=self.source_combo.currentData(),
            image_key=old.image_key if self.source_combo.currentData() == old.source else "",
            show_map=self.map_check.isChecked(),
        )
        self._layers[row] = layer
        self.layer_list.item(row).setText(f"{row + 1}. {layer.label()}")
        if layer.source != old.source:
            self._follow_source(layer)
        self._update_map()
        self.changed.emit()

    def _follow_source(self, layer: ControlLayer | None) -> None:
        """A scribble layer is what the brush paints while it is selected; other layers leave the mask to it."""
        scribble = layer is not None and layer.source == "scribble"
        self.image_button.setVisible(layer is not None and layer.source == "image")
        self._canvas.paint_target = "scribble" if scribble else "mask"
        if scribble:
            drawing = self._images.get(layer.image_key) if layer.image_key else None
            if drawing is None and layer.image_key:
                drawing = self._stored(layer.image_key)
            alpha = drawing.getchannel("A") if drawing is not None else None
            self._canvas.set_scribble(None if alpha is None else pil_to_gray(alpha))
            self.hint.setText("Draw the scribble on the canvas with the brush (white lines on black for the model).")
        else:
            self.hint.setText("")

    def _stored(self, key: str) -> Image.Image | None:
        if key not in self._images:
            try:
                self._images[key] = control_store.load(key)
            except StudioError as exc:
                self.message.emit(str(exc), "info")
                return None
        return self._images[key]

    def _image_of(self, layer: ControlLayer) -> Image.Image | None:
        if layer.source == "canvas":
            image = self._canvas.image()
            return None if image is None else qimage_to_pil(image)
        return self._stored(layer.image_key) if layer.image_key else None

    def _choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Control image", "", "Images (*.png *.jpg *.jpeg *.webp *.bmp)")
        if path:
            self.use_image_file(path)

    def use_image_file(self, path: str) -> None:
        """Load ``path`` as the selected layer's image, in the background."""
        row = self._current()
        if row < 0:
            return
        layer = self._layers[row]

        def work() -> None:
            try:
                image = load_image(path)
                key = control_store.store(image)
            except (StudioError, OSError) as exc:
                text = str(exc)
                self._emit(lambda: self.message.emit(text, "error"))
                return
            self._emit(lambda: self._image_ready(layer, key, image))

        start_detached(work, "control-image")

    def _scribbled(self) -> None:
        """Keep the selected scribble layer's drawing (as white lines, transparent elsewhere) in the store."""
        row = self._current()
        drawing = self._canvas.scribble()
        if row < 0 or self._layers[row].source != "scribble":
            return
        layer = self._layers[row]

        def work() -> None:
            gray = qimage_to_pil(drawing) if drawing is not None else None
            if gray is None:
                self._emit(lambda: self._image_ready(layer, "", None))
                return
            image = Image.merge("RGBA", (gray, gray, gray, gray))
            self._emit(lambda: self._image_ready(layer, control_store.store(image), image))

        start_detached(work, "control-scribble")

    def _image_ready(self, layer: ControlLayer, key: str, image: Image.Image | None) -> None:
        if layer not in self._layers:
            return  # removed meanwhile
        if image is not None:
            self._images[key] = image
        row = self._layers.index(layer)
        self._layers[row] = ControlLayer(layer.settings, layer.source, key, layer.show_map)
        self._update_map()
        self.changed.emit()

    def _emit(self, done) -> None:
        try:
            self._answer.emit(done)
        except RuntimeError:  # the panel was deleted meanwhile
            pass

    def _update_map(self) -> None:
        """Show the selected layer's control map over the canvas when asked for (made in the background)."""
        row = self._current()
        layer = self._layers[row] if row >= 0 else None
        if layer is None or not layer.show_map:
            self._canvas.set_control_map(None)
            return
        if layer.settings.preprocessor not in BUILTIN_PREPROCESSORS:
            self._canvas.set_control_map(None)
            self.hint.setText(f"The {layer.settings.preprocessor} map is made by the engine when generating.")
            return
        image = self._image_of(layer)
        if image is None:
            self._canvas.set_control_map(None)
            return
        size = self._canvas.image().size() if self._canvas.image() is not None else self._canvas.generation_size()
        key = (control_store.image_key(image), replace_image(layer.settings, None), size.width(), size.height())
        if key in self._maps:
            self._canvas.set_control_map(self._maps[key])
            return

        def work() -> None:
            try:
                made = fit(builtin_map(image, layer.settings).convert("RGB"), (size.width(), size.height()),
                           layer.settings.resize_mode)
            except StudioError as exc:
                text = str(exc)
                self._emit(lambda: self.message.emit(text, "error"))
                return
            qimage = pil_to_qimage(made)
            self._emit(lambda: self._map_ready(key, qimage))

        start_detached(work, "control-map")

    def _map_ready(self, key: tuple, qimage) -> None:
        self._maps[key] = qimage
        while len(self._maps) > MAP_CACHE:
            self._maps.pop(next(iter(self._maps)))
        self._update_map()


def replace_image(settings: ControlInput, image: Image.Image | None, **changes) -> ControlInput:
    return replace(settings, image=image, **changes)


def pil_to_gray(image: Image.Image) -> QImage:
    """A mode "L" image as a Grayscale8 QImage (the canvas's scribble layer)."""
    pixels = np.ascontiguousarray(np.asarray(image.convert("L")))
    height, width = pixels.shape
    return QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8).copy()
