"""Upscaler models (ESRGAN, Real-ESRGAN, SwinIR, HAT... detected from the weights by spandrel), run in tiles.

spandrel is an optional extra (``latent-studio[upscalers]``): it needs a torchvision built for the installed
torch. ``.pth`` files are read weights-only (``torch.load(weights_only=True)`` refuses code); a full pickle
load happens only when the caller allows it. Large images are upscaled in overlapping tiles blended with
linear ramps, so memory stays bounded and the seams do not show (the result equals one pass within a small
tolerance). On a GPU the model runs in fp16 when its architecture supports it.
"""

import logging
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from studio.core.cancel import CancelToken
from studio.core.errors import GenerationCancelled, StudioError
from studio.core.hires import PIXEL_FILTERS
from studio.core.tiles import tile_starts
from studio.core.upscaler_files import resolve_upscaler
from studio.engine.devices import DeviceChoice

log = logging.getLogger(__name__)

PIXEL_SCALE = 2.0  # the built-in resizers' scale when none is given
TILE = 512  # input pixels per tile side
OVERLAP = 32  # input pixels shared by neighbouring tiles
MISSING = ("Upscaler models need the 'upscalers' extra: pip install 'latent-studio[upscalers]' "
           "(spandrel, with a torchvision built for the installed torch).")

TileProgress = Callable[[int, int], None]  # tiles done, tiles in all


def _spandrel():
    try:
        import spandrel
    except (ImportError, RuntimeError) as exc:  # RuntimeError: a torchvision built for another torch
        log.warning("spandrel is not usable: %s", exc)
        raise StudioError(MISSING) from exc
    return spandrel


def load_state_dict(path: Path, *, allow_pickle: bool = False) -> dict:
    """The tensors of an upscaler file; a ``.pth`` that holds more than weights needs ``allow_pickle``."""
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:
            raise StudioError(f"'{path.name}' is not a readable safetensors file.") from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):  # not a pickle of weights at all (damaged, or another format)
            raise StudioError(f"'{path.name}' is not a readable model file.") from exc
        log.warning("Weights-only load of %s refused: %s", path, exc)
        raise StudioError(f"'{path.name}' contains code besides weights; it is refused unless you allow "
                          "pickle files (only for files you trust).") from exc
    except Exception as exc:
        log.warning("Cannot read %s: %s", path, exc)
        raise StudioError(f"'{path.name}' is not a readable model file.") from exc


class UpscalerModel:
    """One loaded upscaler on a device. Not thread-safe: use it from one thread."""

    def __init__(self, descriptor, name: str, device: DeviceChoice) -> None:
        self.name = name
        self.scale: int = descriptor.scale
        half = device.accelerated and descriptor.supports_half
        self._descriptor = descriptor.to(device.device).to(torch.float16 if half else torch.float32).eval()
        self._dtype = torch.float16 if half else torch.float32
        self._device = device.device

    @classmethod
    def load(cls, path: Path, device: DeviceChoice, *, allow_pickle: bool = False) -> "UpscalerModel":
        spandrel = _spandrel()
        state = spandrel.canonicalize_state_dict(load_state_dict(path, allow_pickle=allow_pickle))
        try:
            descriptor = spandrel.ModelLoader().load_from_state_dict(state)
        except spandrel.UnsupportedModelError as exc:
            raise StudioError(f"'{path.name}' is not an upscaler model that spandrel recognises.") from exc
        if not isinstance(descriptor, spandrel.ImageModelDescriptor) or descriptor.input_channels != 3:
            raise StudioError(f"'{path.name}' is not an image upscaler (it is a {descriptor.purpose} model).")
        log.info("Loaded upscaler %s (%s, x%d)", path.name, descriptor.architecture.name, descriptor.scale)
        return cls(descriptor, path.stem, device)

    def upscale(self, image: Image.Image, *, size: tuple[int, int] | None = None, cancel: CancelToken | None = None,
                on_progress: TileProgress | None = None, tile: int = TILE, overlap: int = OVERLAP) -> Image.Image:
        """``image`` upscaled by the model, then resized with Lanczos to ``size`` when given."""
        pixels = torch.from_numpy(np.asarray(image.convert("RGB"), np.float32) / 255.0).permute(2, 0, 1)[None]
        with torch.inference_mode():
            out = tiled(lambda x: self._descriptor(x.to(self._device, self._dtype)).float().cpu(), pixels,
                        self.scale, tile=tile, overlap=overlap, cancel=cancel, on_progress=on_progress)
        array = (out[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255.0).round().astype(np.uint8)
        result = Image.fromarray(array, "RGB")
        return result if size is None or result.size == size else result.resize(size, Image.Resampling.LANCZOS)


class Upscalers:
    """Upscaler models asked for by name (or file), one kept loaded at a time."""

    def __init__(self, device: DeviceChoice) -> None:
        self.device = device
        self._loaded: tuple[Path, UpscalerModel] | None = None

    def model(self, name: str, *, allow_pickle: bool = False) -> UpscalerModel:
        path = resolve_upscaler(name)
        if self._loaded is None or self._loaded[0] != path:
            self._loaded = None  # free the previous one first
            self._loaded = (path, UpscalerModel.load(path, self.device, allow_pickle=allow_pickle))
        return self._loaded[1]

    def upscale(self, image: Image.Image, name: str, *, scale: float | None = None,
                on_progress: TileProgress | None = None, cancel: CancelToken | None = None,
                allow_pickle: bool = False) -> Image.Image:
        """``image`` upscaled by the model, resized with Lanczos to ``scale`` times its size when given; a
        built-in name (Lanczos, Nearest) resizes it by ``scale`` (default 2)."""
        if name in PIXEL_FILTERS:
            scale = scale or PIXEL_SCALE
            return image.resize(_scaled(image, scale), PIXEL_FILTERS[name])
        model = self.model(name, allow_pickle=allow_pickle)
        return model.upscale(image, size=_scaled(image, scale or model.scale), cancel=cancel, on_progress=on_progress)

    def clear(self) -> None:
        self._loaded = None


def _scaled(image: Image.Image, scale: float) -> tuple[int, int]:
    return round(image.width * scale), round(image.height * scale)


def _ramp(length: int, ramp: int, start: bool, end: bool) -> torch.Tensor:
    """1 inside; at a side that meets a neighbouring tile, 0 over the first quarter of the ``ramp`` (where the
    model saw the tile's edge instead of the picture), then rising linearly to 1."""
    weight = torch.ones(length)
    margin = ramp // 4
    steps = ((torch.arange(ramp, dtype=torch.float32) + 0.5 - margin) / (ramp - margin)).clamp(0, 1)
    if start:
        weight[:ramp] = steps
    if end:
        weight[length - ramp :] = steps.flip(0)
    return weight


def tiled(model: Callable[[torch.Tensor], torch.Tensor], pixels: torch.Tensor, scale: int, *, tile: int = TILE,
          overlap: int = OVERLAP, cancel: CancelToken | None = None,
          on_progress: TileProgress | None = None) -> torch.Tensor:
    """``model`` (an ``(1, C, h, w) -> (1, C, h*scale, w*scale)`` function) over ``pixels`` in overlapping tiles."""
    if overlap >= tile:
        raise ValueError("the overlap must be smaller than the tile")
    _, channels, height, width = pixels.shape
    out = torch.zeros(1, channels, height * scale, width * scale)
    weights = torch.zeros(1, 1, height * scale, width * scale)
    ys, xs = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    total, done = len(ys) * len(xs), 0
    ramp = overlap * scale
    for y in ys:
        for x in xs:
            if cancel is not None and cancel.cancelled:
                raise GenerationCancelled()
            part = model(pixels[..., y : y + tile, x : x + tile])
            h, w = part.shape[-2:]
            wy = _ramp(h, ramp, y > 0, y + tile < height) if ramp else torch.ones(h)
            wx = _ramp(w, ramp, x > 0, x + tile < width) if ramp else torch.ones(w)
            weight = wy[:, None] * wx[None, :]
            out[..., y * scale : y * scale + h, x * scale : x * scale + w] += part * weight
            weights[..., y * scale : y * scale + h, x * scale : x * scale + w] += weight
            done += 1
            if on_progress is not None:
                on_progress(done, total)
    return out / weights
