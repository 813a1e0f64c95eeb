"""Preprocessors that need no download: an image becomes a control map, and the map is fitted to the generation size.

- ``none``: the image already is a control map;
- ``canny``: OpenCV's edge detector, with ``threshold_a``/``threshold_b`` as its low and high thresholds;
- ``scribble`` / ``lineart``: the artist's drawing (strokes on a transparent layer, or dark lines on light paper)
  as white lines on black, the way scribble and lineart ControlNets expect them (scribble binarised);
- ``invert``: black and white swapped (a drawing of black lines on white, for models that want white on black).

The model-based preprocessors (:data:`MODEL_PREPROCESSORS`) run in the engine, through ``controlnet_aux``.
Everything here is plain numpy/Pillow (OpenCV for canny, imported when used), so the window can preview a map
off its GUI thread without the engine.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from studio.core.control import RESIZE_MODES, ControlInput
from studio.core.errors import StudioError

BUILTIN_PREPROCESSORS = ("none", "canny", "scribble", "lineart", "invert")
MODEL_PREPROCESSORS = ("depth_midas", "openpose", "lineart_anime", "lineart_realistic", "softedge_hed", "mlsd",
                       "normal_bae")
PREPROCESSORS = BUILTIN_PREPROCESSORS + MODEL_PREPROCESSORS


def check_preprocessor(name: str, threshold_a: float, threshold_b: float, label: str = "The control layer") -> None:
    """Raise :class:`StudioError` for an unknown preprocessor or thresholds it cannot use."""
    if name not in PREPROCESSORS:
        raise StudioError(f"{label}: unknown preprocessor '{name}'; choose one of: {', '.join(PREPROCESSORS)}.")
    if name == "canny":
        for which, value in (("low", threshold_a), ("high", threshold_b)):
            if not 1 <= value <= 255:
                raise StudioError(f"{label}: the canny {which} threshold must be between 1 and 255 (got {value:g}).")


def fit(image: Image.Image, size: tuple[int, int], resize_mode: str) -> Image.Image:
    """``image`` at ``size`` as A1111 resizes control images: stretched (Just Resize), covering it and cropped
    in the middle (Crop and Resize), or inside it with the borders filled by the edge pixels (Resize and Fill)."""
    if resize_mode not in RESIZE_MODES:
        raise StudioError(f"Unknown resize mode '{resize_mode}'; choose {', '.join(RESIZE_MODES)}.")
    width, height = size
    if image.size == size:
        return image
    if resize_mode == "Just Resize":
        return image.resize(size, Image.Resampling.LANCZOS)
    cover = resize_mode == "Crop and Resize"
    pick = max if cover else min
    scale = pick(width / image.width, height / image.height)
    scaled = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                          Image.Resampling.LANCZOS)
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    if cover:
        return scaled.crop((left, top, left + width, top + height))
    pixels = np.asarray(scaled)
    pad = ((-top, height - scaled.height + top), (-left, width - scaled.width + left)) + ((0, 0),) * (pixels.ndim - 2)
    return Image.fromarray(np.pad(pixels, pad, mode="edge"))


def at_processor_resolution(image: Image.Image, resolution: int) -> Image.Image:
    """``image`` scaled so its short side is ``resolution`` (A1111's "Preprocessor resolution")."""
    scale = resolution / min(image.size)
    if scale == 1:
        return image
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                        Image.Resampling.LANCZOS)


def canny(image: Image.Image, low: float, high: float) -> Image.Image:
    """White edges on black, as RGB (what canny ControlNets were trained on)."""
    try:
        import cv2  # in the `engine` extra; only canny needs it
    except ImportError:
        raise StudioError("The canny preprocessor needs OpenCV (pip install opencv-python-headless).") from None

    edges = cv2.Canny(np.asarray(image.convert("RGB")), float(low), float(high))
    return Image.fromarray(edges).convert("RGB")


def drawing_lines(image: Image.Image, binary: bool) -> Image.Image:
    """The strokes of a drawing as white on black: painted pixels of a layer with transparency, dark ones of an
    opaque image."""
    if image.mode in ("RGBA", "LA") or "transparency" in image.info:
        strength = np.asarray(image.convert("RGBA"))[..., 3].astype(np.float32)
    else:
        strength = 255.0 - np.asarray(image.convert("L")).astype(np.float32)
    lines = np.where(strength >= 128, 255, 0) if binary else strength
    return Image.fromarray(lines.astype(np.uint8)).convert("RGB")


def invert(image: Image.Image) -> Image.Image:
    return Image.fromarray(255 - np.asarray(image.convert("RGB")))


def builtin_map(image: Image.Image, control: ControlInput) -> Image.Image:
    """The control map of one of :data:`BUILTIN_PREPROCESSORS`, at the preprocessor resolution (or as it is)."""
    name = control.preprocessor
    if name == "none":
        return image.convert("RGB")
    if name not in BUILTIN_PREPROCESSORS:
        raise StudioError(f"The preprocessor '{name}' needs its model; it runs in the engine.")
    image = at_processor_resolution(image, control.processor_res)
    if name == "canny":
        return canny(image, control.threshold_a, control.threshold_b)
    if name == "invert":
        return invert(image)
    return drawing_lines(image, binary=name == "scribble")
