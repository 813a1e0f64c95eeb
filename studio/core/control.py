"""Control inputs (ControlNet): one frozen record per control layer of a request, as A1111's ControlNet extension
calls its units, and their ``parameters`` text.

A :class:`ControlInput` names a ControlNet model (a name in the ``controlnet`` model folders or a path), the
source image, the preprocessor that turns it into a control map, a weight and the fraction of the steps it acts
on. In a recipe the image itself is not in the record: ``image_key`` names it in the control image store
(:mod:`studio.core.control_store`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from PIL import Image

from studio.core.errors import StudioError

# A1111's names, written into ``parameters`` as they are.
RESIZE_MODES = ("Crop and Resize", "Just Resize", "Resize and Fill")
CONTROL_MODES = ("Balanced", "My prompt is more important", "ControlNet is more important")
MAX_WEIGHT = 2.0
MIN_PROCESSOR_RES, MAX_PROCESSOR_RES = 64, 2048


@dataclass(frozen=True)
class ControlInput:
    """One control layer. ``preprocessor`` "none" uses the image as the control map; ``start``/``end`` are fractions
    of the steps (diffusers' ``control_guidance_start``/``end``); ``threshold_a``/``threshold_b`` are the
    preprocessor's two numbers (canny's low and high thresholds), as A1111 names them."""

    model: str
    image: Image.Image | None = field(default=None, compare=False, repr=False)
    preprocessor: str = "none"
    weight: float = 1.0
    start: float = 0.0
    end: float = 1.0
    resize_mode: str = RESIZE_MODES[0]
    control_mode: str = CONTROL_MODES[0]
    processor_res: int = 512
    threshold_a: float = 100.0
    threshold_b: float = 200.0
    image_key: str = ""  # the control image in the store (recipes); "" in a request, which holds the image

    def validate(self, index: int = 0) -> None:
        """Raise :class:`StudioError` with one sentence for the first thing that cannot work."""
        from studio.core.preprocessors import check_preprocessor  # the preprocessors name their own thresholds

        label = f"Control layer {index + 1}"
        if not self.model.strip():
            raise StudioError(f"{label} has no ControlNet model; choose one from the controlnet folder.")
        if self.image is None:
            raise StudioError(f"{label} has no control image.")
        if not 0 <= self.weight <= MAX_WEIGHT:
            raise StudioError(f"{label}: the weight must be between 0 and {MAX_WEIGHT:g} (got {self.weight:g}).")
        if not 0 <= self.start < self.end <= 1:
            raise StudioError(
                f"{label}: the control range must satisfy 0 <= start < end <= 1 (got {self.start:g} to {self.end:g})."
            )
        if self.resize_mode not in RESIZE_MODES:
            raise StudioError(f"{label}: unknown resize mode '{self.resize_mode}'; choose {', '.join(RESIZE_MODES)}.")
        if self.control_mode not in CONTROL_MODES:
            raise StudioError(
                f"{label}: unknown control mode '{self.control_mode}'; choose {', '.join(CONTROL_MODES)}."
            )
        if not MIN_PROCESSOR_RES <= self.processor_res <= MAX_PROCESSOR_RES:
            raise StudioError(
                f"{label}: the preprocessor resolution must be between {MIN_PROCESSOR_RES} and "
                f"{MAX_PROCESSOR_RES} (got {self.processor_res})."
            )
        check_preprocessor(self.preprocessor, self.threshold_a, self.threshold_b, label)


def check_controls(controls: tuple[ControlInput, ...]) -> None:
    """Each layer's own checks, then what the layers must agree on."""
    for index, control in enumerate(controls):
        control.validate(index)
    more = {c.control_mode == CONTROL_MODES[2] for c in controls}
    if len(more) > 1:  # diffusers' guess mode applies to every ControlNet of a call
        raise StudioError(
            f"'{CONTROL_MODES[2]}' must be the control mode of every control layer or of none."
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def format_control(control: ControlInput) -> str:
    """One unit as A1111's ControlNet extension writes it (the value of ``ControlNet N``)."""
    fields = {
        "Module": control.preprocessor,
        "Model": control.model,
        "Weight": _number(control.weight),
        "Resize Mode": control.resize_mode,
        "Processor Res": control.processor_res,
        "Threshold A": _number(control.threshold_a),
        "Threshold B": _number(control.threshold_b),
        "Guidance Start": _number(control.start),
        "Guidance End": _number(control.end),
        "Pixel Perfect": False,
        "Control Mode": control.control_mode,
    }
    return ", ".join(f"{key}: {value}" for key, value in fields.items())


def parse_control(text: str) -> dict[str, object]:
    """A ``ControlNet N`` value as recipe fields (strings and numbers as written; the recipe check decides)."""
    values: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    names = {"Module": "preprocessor", "Model": "model", "Resize Mode": "resize_mode", "Control Mode": "control_mode"}
    numbers = {"Weight": "weight", "Guidance Start": "start", "Guidance End": "end", "Threshold A": "threshold_a",
               "Threshold B": "threshold_b"}
    data: dict[str, object] = {name: values[key] for key, name in names.items() if key in values}
    if "model" in data:  # A1111 writes "NAME [hash]"
        data["model"] = re.sub(r"\s*\[[0-9a-fA-F]+\]$", "", str(data["model"]))
    for key, name in numbers.items():
        try:
            data[name] = float(values[key])
        except (KeyError, ValueError):
            pass
    try:
        data["processor_res"] = int(float(values["Processor Res"]))
    except (KeyError, ValueError):
        pass
    return data
