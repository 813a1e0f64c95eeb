"""Loading user images and masks: conversions, and one clear sentence for every bad input."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import StudioError
from studio.core.image_io import image_from_bytes, load_image, load_mask, open_image


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _noise_png() -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return _png_bytes(Image.fromarray(pixels))


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims a size in its header but holds no pixels (how a decompression bomb starts)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def _sentence(err: pytest.ExceptionInfo, name: str) -> str:
    text = str(err.value)
    assert f"'{name}'" in text
    assert "\n" not in text and text.endswith(".") and text.count(". ") == 0
    return text


# --------------------------------------------------------------------------------------------- conversions
def test_rgb_png_loads_unchanged(tmp_path):
    path = tmp_path / "noise.png"
    path.write_bytes(_noise_png())
    image = load_image(path)
    assert image.mode == "RGB"
    with Image.open(path) as original:
        assert np.array_equal(np.asarray(image), np.asarray(original))


def test_transparency_is_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (4, 2), (255, 0, 0, 255))
    rgba.putpixel((1, 0), (0, 0, 255, 0))
    rgba.putpixel((2, 0), (0, 0, 0, 128))
    rgba.save(tmp_path / "a.png")
    image = load_image(tmp_path / "a.png")
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == (255, 0, 0)
    assert image.getpixel((1, 0)) == (255, 255, 255)
    assert image.getpixel((2, 0)) in {(127, 127, 127), (128, 128, 128)}


def test_palette_with_transparency_and_grey_alpha(tmp_path):
    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 255, 0, 10, 20, 30])
    palette.putpixel((0, 0), 0)
    palette.putpixel((1, 0), 1)
    palette.save(tmp_path / "p.png", transparency=1)
    image = load_image(tmp_path / "p.png")
    assert image.mode == "RGB"
    assert [image.getpixel((x, 0)) for x in range(2)] == [(0, 255, 0), (255, 255, 255)]

    Image.new("LA", (2, 2), (40, 255)).save(tmp_path / "la.png")
    assert load_image(tmp_path / "la.png").getpixel((0, 0)) == (40, 40, 40)


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257 * 128, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as raw:
        assert raw.mode.startswith("I")
    image = load_image(tmp_path / "deep.png")
    assert image.mode == "RGB"
    assert [image.getpixel((x, 0)) for x in range(3)] == [(0, 0, 0), (128, 128, 128), (255, 255, 255)]


def test_exif_orientation_is_applied(tmp_path):
    # Stored 40 wide, 20 high, red on the left; orientation 6 means "rotate 90 degrees clockwise to view".
    stored = Image.new("RGB", (40, 20), "blue")
    stored.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    image = load_image(tmp_path / "phone.jpg")
    assert image.size == (20, 40)
    top, bottom = image.getpixel((10, 5)), image.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60  # the red half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "print.jpg")
    image = load_image(tmp_path / "print.jpg")
    assert image.mode == "RGB"
    red, green, blue = image.getpixel((4, 4))
    assert red > 200 and green < 60 and blue < 60


def test_image_from_bytes_reads_pasted_png_and_jpeg():
    assert image_from_bytes(_noise_png()).size == (64, 64)
    buffer = io.BytesIO()
    Image.new("RGB", (10, 6), "white").save(buffer, format="JPEG")
    image = image_from_bytes(buffer.getvalue(), name="drop")
    assert (image.mode, image.size) == ("RGB", (10, 6))


# --------------------------------------------------------------------------------------------- bad inputs
def test_missing_file(tmp_path):
    with pytest.raises(StudioError) as err:
        load_image(tmp_path / "gone.png")
    assert _sentence(err, "gone.png") == "'gone.png' does not exist."


def test_directory(tmp_path):
    (tmp_path / "pictures.png").mkdir()
    with pytest.raises(StudioError) as err:
        load_image(tmp_path / "pictures.png")
    assert _sentence(err, "pictures.png") == "'pictures.png' is a folder, not an image file."


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(StudioError) as err:
        load_image(tmp_path / "empty.png")
    assert _sentence(err, "empty.png") == "'empty.png' is empty (0 bytes)."


def test_text_file(tmp_path):
    (tmp_path / "readme.png").write_text("This is not a picture, it only has a .png name.\n")
    with pytest.raises(StudioError) as err:
        load_image(tmp_path / "readme.png")
    assert _sentence(err, "readme.png") == "'readme.png' is not an image file the app can read."


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # download cut half-way: the header is fine, the pixels are not
        lambda data: data[:40],  # cut right after the header
        lambda data: data[:100] + bytes(b ^ 0xFF for b in data[100:160]) + data[160:],  # scrambled pixel data
    ],
    ids=["truncated", "header-only", "corrupt"],
)
def test_truncated_or_corrupt_png(tmp_path, damage):
    path = tmp_path / "broken.png"
    path.write_bytes(damage(_noise_png()))
    with pytest.raises(StudioError) as err:
        load_image(path)
    assert _sentence(err, "broken.png") == "'broken.png' is damaged or incomplete and cannot be read."
    with pytest.raises(StudioError, match="damaged or incomplete"):
        load_mask(path)


def test_decompression_bombs_are_refused(tmp_path):
    huge = tmp_path / "bomb.png"
    huge.write_bytes(_png_header(40000, 40000))  # past Pillow's hard limit: DecompressionBombError
    with pytest.raises(StudioError) as err:
        load_image(huge)
    assert "too large" in _sentence(err, "bomb.png")
    assert "16384x16384" in str(err.value)

    just_over = tmp_path / "big.png"
    just_over.write_bytes(_png_header(16385, 16384))  # between our limit and Pillow's: our own check
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(StudioError, match="too large"):
        load_image(just_over)


def test_the_largest_allowed_size_opens(tmp_path):
    path = tmp_path / "large.png"
    path.write_bytes(_png_header(16384, 16384))
    with open_image(path) as im:  # header only: the limit itself is fine
        assert im.size == (16384, 16384)


@pytest.mark.parametrize(
    "data,expected",
    [
        (b"", "'clipboard' is empty."),
        (b"file:///home/me/cat.png\r\n", "'clipboard' is not an image file the app can read."),
        (_noise_png()[:300], "'clipboard' is damaged or incomplete and cannot be read."),
        (_png_header(40000, 40000), "'clipboard' is too large: images up to 16384x16384 pixels can be opened."),
    ],
    ids=["empty", "text", "truncated", "bomb"],
)
def test_bad_pasted_bytes(data, expected):
    with pytest.raises(StudioError) as err:
        image_from_bytes(data)
    assert _sentence(err, "clipboard") == expected


# --------------------------------------------------------------------------------------------- masks
def test_grey_and_rgb_masks_use_luminance(tmp_path):
    grey = Image.new("L", (4, 4), 0)
    grey.putpixel((1, 1), 255)
    grey.save(tmp_path / "grey.png")
    mask = load_mask(tmp_path / "grey.png", size=(4, 4))
    assert mask.mode == "L"
    assert mask.getpixel((1, 1)) == 255 and mask.getpixel((0, 0)) == 0

    Image.new("RGB", (4, 4), (255, 255, 255)).save(tmp_path / "white.png")
    assert load_mask(tmp_path / "white.png").getextrema() == (255, 255)


def test_uniform_colour_with_alpha_uses_the_alpha(tmp_path):
    # A black brush stroke on a transparent layer: the colour says nothing, the alpha is the mask.
    stroke = Image.new("RGBA", (4, 1), (0, 0, 0, 0))
    stroke.putpixel((1, 0), (0, 0, 0, 255))
    stroke.putpixel((2, 0), (0, 0, 0, 100))
    stroke.save(tmp_path / "stroke.png")
    mask = load_mask(tmp_path / "stroke.png")
    assert mask.mode == "L"
    assert [mask.getpixel((x, 0)) for x in range(4)] == [0, 255, 100, 0]


def test_coloured_mask_with_alpha_uses_luminance_over_black(tmp_path):
    painted = Image.new("RGBA", (3, 1), (255, 255, 255, 0))  # white but fully transparent: keep
    painted.putpixel((1, 0), (255, 255, 255, 255))  # opaque white: repaint
    painted.putpixel((2, 0), (0, 0, 0, 255))  # opaque black: keep
    painted.save(tmp_path / "painted.png")
    mask = load_mask(tmp_path / "painted.png")
    assert [mask.getpixel((x, 0)) for x in range(3)] == [0, 255, 0]


def test_sixteen_bit_mask(tmp_path):
    Image.fromarray(np.array([[0, 65535]], dtype=np.uint16)).save(tmp_path / "deep.png")
    mask = load_mask(tmp_path / "deep.png")
    assert (mask.mode, mask.getpixel((0, 0)), mask.getpixel((1, 0))) == ("L", 0, 255)


def test_mask_of_the_wrong_size_names_both_sizes(tmp_path):
    Image.new("L", (64, 48)).save(tmp_path / "mask.png")
    with pytest.raises(StudioError) as err:
        load_mask(tmp_path / "mask.png", size=(512, 512))
    assert _sentence(err, "mask.png") == (
        "The mask 'mask.png' is 64x48 but the image is 512x512; they must be the same size."
    )


def test_bad_mask_files_give_the_same_sentences(tmp_path):
    with pytest.raises(StudioError, match="'nope.png' does not exist"):
        load_mask(tmp_path / "nope.png")
    (tmp_path / "mask.txt").write_text("white = repaint")
    with pytest.raises(StudioError, match="'mask.txt' is not an image file"):
        load_mask(tmp_path / "mask.txt")
