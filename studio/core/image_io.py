"""Reading user images and masks from files or pasted bytes; every bad input becomes one StudioError sentence."""

import io
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.core.errors import StudioError

MAX_SIDE = 16384
MAX_PIXELS = MAX_SIDE * MAX_SIDE
# Pillow warns above this and raises DecompressionBombError above twice this; we refuse anything above it.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_SIXTEEN_BIT = {"I", "I;16", "I;16L", "I;16B", "I;16N"}
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
# Files that start like an image but that Pillow cannot identify were cut short, not of a foreign kind.
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def load_image(path: str | Path) -> Image.Image:
    """An RGB image: EXIF orientation applied, transparency composited on white, 16-bit scaled to 8-bit."""
    with open_image(path) as im:
        return _to_rgb(_decoded(im))


def image_from_bytes(data: bytes, name: str = "clipboard") -> Image.Image:
    """Like :func:`load_image`, for pasted or dropped raw data; ``name`` is what error sentences call it."""
    if not data:
        raise StudioError(f"'{name}' is empty.")
    with _reading(lambda: Image.open(io.BytesIO(data)), name, data[:12]) as im:
        return _to_rgb(_decoded(im))


def load_mask(path: str | Path, size: tuple[int, int] | None = None) -> Image.Image:
    """A mode "L" mask, white = repaint.

    A mask with transparency whose colour is uniform (a brush stroke on a transparent layer) uses its alpha;
    otherwise its luminance over black, so transparent pixels are kept. ``size`` is the image it must match.
    """
    path = Path(path)
    with open_image(path) as im:
        mask = _to_mask(_decoded(im))
    if size is not None and mask.size != tuple(size):
        raise StudioError(
            f"The mask '{path.name}' is {mask.width}x{mask.height} but the image is {size[0]}x{size[1]}; "
            "they must be the same size."
        )
    return mask


@contextmanager
def open_image(path: str | Path) -> Iterator[Image.Image]:
    """Open an image file lazily (header and metadata read, pixels not yet decoded).

    Pillow errors raised inside the block, such as decoding a truncated file, become StudioErrors naming it.
    """
    path = Path(path)
    if not path.exists():
        raise StudioError(f"'{path.name}' does not exist.")
    if path.is_dir():
        raise StudioError(f"'{path.name}' is a folder, not an image file.")
    if path.stat().st_size == 0:
        raise StudioError(f"'{path.name}' is empty (0 bytes).")
    with path.open("rb") as f:
        head = f.read(12)
    with _reading(lambda: Image.open(path), path.name, head) as im:
        yield im


@contextmanager
def _reading(opener: Callable[[], Image.Image], label: str, head: bytes) -> Iterator[Image.Image]:
    try:
        with opener() as im:
            if im.width * im.height > MAX_PIXELS:
                raise _too_large(label)
            yield im
    except Image.DecompressionBombError as err:
        raise _too_large(label) from err
    except UnidentifiedImageError as err:
        if head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
            raise StudioError(f"'{label}' is damaged or incomplete and cannot be read.") from err
        raise StudioError(f"'{label}' is not an image file the app can read.") from err
    except FileNotFoundError as err:
        raise StudioError(f"'{label}' does not exist.") from err
    except PermissionError as err:
        raise StudioError(f"'{label}' cannot be read: permission denied.") from err
    except (OSError, SyntaxError, EOFError, ValueError, struct.error) as err:
        raise StudioError(f"'{label}' is damaged or incomplete and cannot be read.") from err


def _too_large(label: str) -> StudioError:
    return StudioError(f"'{label}' is too large: images up to {MAX_SIDE}x{MAX_SIDE} pixels can be opened.")


def _decoded(im: Image.Image) -> Image.Image:
    im.load()  # decode now, inside the error mapping, so truncated data is caught here
    return ImageOps.exif_transpose(im)


def _sixteen_to_l(im: Image.Image) -> Image.Image:
    # Pillow's own conversion clips 16-bit values at 255 instead of scaling them.
    values = np.asarray(im, dtype=np.float32) / 257.0
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in _ALPHA_MODES or "transparency" in im.info


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in _SIXTEEN_BIT:
        return _sixteen_to_l(im).convert("RGB")
    if _has_alpha(im):
        flat = Image.new("RGBA", im.size, (255, 255, 255, 255))
        flat.alpha_composite(im.convert("RGBA"))
        return flat.convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def _to_mask(im: Image.Image) -> Image.Image:
    if im.mode in _SIXTEEN_BIT:
        return _sixteen_to_l(im)
    if not _has_alpha(im):
        return im.convert("L")
    rgba = im.convert("RGBA")
    if all(low == high for low, high in rgba.convert("RGB").getextrema()):
        return rgba.getchannel("A")
    flat = Image.new("RGBA", im.size, (0, 0, 0, 255))
    flat.alpha_composite(rgba)
    return flat.convert("L")
