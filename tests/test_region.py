"""Fitting large or odd-sized images to the model and pasting results back bit-exactly outside the mask."""

import numpy as np
from PIL import Image

from studio.core import mask as maskmath
from studio.core import region
from studio.core.request import MAX_SIDE


def _noise(w: int, h: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(3).integers(0, 256, (h, w, 3), dtype=np.uint8))


def test_small_image_keeps_its_size_rounded_to_multiples_of_8():
    plan = region.plan((1023, 767), None, native=1024)
    assert plan.box == (0, 0, 1023, 767) and plan.size == (1024, 768)


def test_large_image_is_scaled_to_about_the_native_area():
    plan = region.plan((8000, 6000), None, native=512)
    w, h = plan.size
    assert w % 8 == 0 and h % 8 == 0
    assert abs(w * h - 512 * 512) / (512 * 512) < 0.05
    assert abs(w / h - 8000 / 6000) < 0.02


def test_only_masked_region_crops_around_the_mask_with_padding():
    mask = Image.new("L", (4000, 3000), 0)
    mask.paste(255, (2000, 1000, 2100, 1080))
    plan = region.plan(mask.size, mask, native=512, only_masked=True, padding=32)
    left, top, right, bottom = plan.box
    assert left <= 2000 - 32 and top <= 1000 - 32 and right >= 2100 + 32 and bottom >= 1080 + 32
    assert right - left < 600 and bottom - top < 600  # far smaller than the image: full detail
    assert plan.size[0] % 8 == 0 and plan.size[1] % 8 == 0


def test_paste_back_changes_only_the_feathered_mask_area_at_full_resolution():
    source = _noise(3000, 2000)
    mask = Image.new("L", source.size, 0)
    mask.paste(255, (1500, 900, 1620, 990))
    plan = region.plan(source.size, mask, native=512, only_masked=True)
    generated = Image.new("RGB", plan.size, (0, 255, 0))
    out = region.paste_back(source, generated, plan, mask, feather=4)
    assert out.size == source.size
    a, b = np.asarray(out), np.asarray(source)
    changed = np.any(a != b, axis=2)
    ys, xs = np.nonzero(changed)
    # Everything changed lies in the mask grown by a latent cell (scaled) plus the feather.
    assert xs.min() >= 1500 - 40 and xs.max() < 1620 + 40 and ys.min() >= 900 - 40 and ys.max() < 990 + 40
    assert (a[920:970, 1520:1600] == [0, 255, 0]).all()


def test_crop_mask_stays_binary():
    mask = Image.new("L", (640, 480), 0)
    mask.paste(128, (100, 100, 200, 200))
    plan = region.plan(mask.size, mask, native=256)
    assert set(np.unique(np.asarray(region.crop_mask(mask, plan)))) <= {0, 255}


def test_a_small_masked_area_is_rendered_at_the_model_size():
    """A1111's "Only masked": a 208x208 crop is generated at 512x512 (more detail), not at 208x208."""
    mask = Image.new("L", (1000, 800), 0)
    mask.paste(255, (400, 300, 544, 444))
    plan = region.plan(mask.size, mask, native=512, only_masked=True, padding=32)
    assert (plan.box[2] - plan.box[0], plan.box[3] - plan.box[1]) == (208, 208)
    assert plan.size == (512, 512) and plan.scale < 1


def test_an_enlarged_crop_keeps_its_aspect_ratio_and_about_the_native_area():
    mask = Image.new("L", (2000, 1000), 0)
    mask.paste(255, (500, 500, 900, 600))
    plan = region.plan(mask.size, mask, native=512, only_masked=True, padding=32)
    (left, top, right, bottom), (w, h) = plan.box, plan.size
    assert w % 8 == 0 and h % 8 == 0 and w > right - left
    assert abs(w * h - 512 * 512) / (512 * 512) < 0.05
    assert abs(w / h - (right - left) / (bottom - top)) < 0.05


def test_a_thin_crop_never_asks_for_a_side_above_the_maximum():
    mask = Image.new("L", (6000, 20), 0)
    mask.paste(255, (0, 0, 6000, 20))
    plan = region.plan(mask.size, mask, native=1024, only_masked=True)
    assert plan.size[0] <= MAX_SIDE and plan.size[0] % 8 == 0


def test_paste_back_of_an_enlarged_crop_keeps_every_pixel_outside_the_feathered_mask():
    source = _noise(640, 480)
    mask = Image.new("L", source.size, 0)
    mask.paste(255, (300, 200, 340, 236))
    plan = region.plan(source.size, mask, native=512, only_masked=True, padding=16)
    assert plan.size[0] > plan.box[2] - plan.box[0]
    generated = Image.new("RGB", plan.size, (0, 255, 0))
    out = region.paste_back(source, generated, plan, mask, feather=8)
    paste = np.asarray(maskmath.composite_mask(mask, round(8 * plan.scale)))
    a, b = np.asarray(out), np.asarray(source)
    assert np.array_equal(a[paste == 0], b[paste == 0])
    assert (a[205:230, 305:335] == [0, 255, 0]).all()
