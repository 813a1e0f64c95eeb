"""The canvas document's control layers: each a ControlNet setting plus where its image comes from.

A layer's source is the canvas image itself, an image the artist brought in, or a scribble drawn on the layer;
brought-in and drawn images live in the control image store (:mod:`studio.core.control_store`) and the layer
names them by key, so the workspace keeps layers as plain JSON and a restart brings them back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from studio.core.control import ControlInput
from studio.core.recipe import MAX_ITEMS, checked_record

SOURCES = ("canvas", "image", "scribble")
SOURCE_LABELS = {"canvas": "Canvas image", "image": "Image file", "scribble": "Scribble"}


@dataclass(frozen=True)
class ControlLayer:
    settings: ControlInput = field(default_factory=lambda: ControlInput(model=""))  # its image is None
    source: str = "canvas"
    image_key: str = ""  # the "image" or "scribble" source's pixels in the control image store
    show_map: bool = False  # the preprocessed control map is drawn over the canvas

    def label(self) -> str:
        model = self.settings.model or "no model"
        return f"{self.settings.preprocessor} · {model} · {self.settings.weight:g}"

    def with_settings(self, **changes) -> "ControlLayer":
        return replace(self, settings=replace(self.settings, **changes))


def layers_to_data(layers: list[ControlLayer] | tuple[ControlLayer, ...]) -> list[dict[str, Any]]:
    return [{"settings": {k: v for k, v in asdict(layer.settings).items() if k != "image"}, "source": layer.source,
             "image_key": layer.image_key, "show_map": layer.show_map} for layer in layers]


def layers_from_data(data: Any) -> list[ControlLayer]:
    """The layers of saved workspace data; an unusable entry is left out."""
    if not isinstance(data, list):
        return []
    layers = []
    for item in data[:MAX_ITEMS]:
        layer = checked_record(ControlLayer, item)
        if layer is not None and layer.source in SOURCES:
            layers.append(layer)
    return layers
