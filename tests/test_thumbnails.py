"""Gallery thumbnails: made once, cached on disk by path, size and time, remade when the image changes."""

import os

import pytest
from PIL import Image

from studio.core.errors import StudioError
from studio.core.thumbnails import SIZE, cache_path, thumbnail


def stat(path):
    info = os.stat(path)
    return info.st_mtime_ns, info.st_size


def test_a_thumbnail_is_made_cached_and_remade_when_the_image_changes(tmp_path):
    cache = tmp_path / "thumbs"
    path = tmp_path / "wide.png"
    Image.new("RGB", (600, 300), (200, 30, 40)).save(path)
    small = thumbnail(path, *stat(path), cache)
    assert small.size == (SIZE, SIZE // 2) and small.mode == "RGB"
    assert abs(small.getpixel((10, 10))[0] - 200) < 8
    cached = cache_path(cache, path, *stat(path))
    assert cached.is_file()
    Image.new("RGB", (SIZE, SIZE // 2), (0, 255, 0)).save(cached, "JPEG")  # the cache answers from now on
    assert thumbnail(path, *stat(path), cache).getpixel((10, 10))[1] > 240
    Image.new("RGB", (300, 600), (10, 10, 250)).save(path)
    os.utime(path, ns=(stat(path)[0] + 10**9, stat(path)[0] + 10**9))
    again = thumbnail(path, *stat(path), cache)
    assert again.size == (SIZE // 2, SIZE) and again.getpixel((10, 10))[2] > 240


def test_transparent_images_sit_on_white_and_damaged_ones_raise_one_sentence(tmp_path):
    path = tmp_path / "clear.png"
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(path)
    assert thumbnail(path, *stat(path), tmp_path / "c").getpixel((5, 5)) == (255, 255, 255)
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(StudioError, match="damaged"):
        thumbnail(damaged, *stat(damaged), tmp_path / "c")


def test_a_damaged_cached_thumbnail_is_made_again(tmp_path):
    path = tmp_path / "a.jpg"
    Image.new("RGB", (256, 256), (250, 250, 0)).save(path)
    cached = cache_path(tmp_path / "c", path, *stat(path))
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half a jpeg")
    assert thumbnail(path, *stat(path), tmp_path / "c").size == (SIZE, SIZE)
    assert Image.open(cached).size == (SIZE, SIZE)
