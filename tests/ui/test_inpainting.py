"""The whole window path on the real engine (tiny random-weight models): a picture dropped on the canvas, a
mask painted with the mouse, and the saved result at the canvas's resolution, untouched outside the mask."""

import numpy as np
import pytest
from PIL import Image

from studio.core import mask as maskmath
from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir
from studio.engine.engine import Engine
from tests.ui.canvas_work import array, drop_file, noise_picture, paint
from tests.ui.conftest import wait_idle, wait_ready


class RecordingEngine(Engine):
    """The real engine, remembering each request it was given."""

    def __init__(self) -> None:
        super().__init__(previews="linear")
        self.requests = []

    def generate(self, request, on_step=None, cancel=None, on_notice=None):
        self.requests.append(request)
        return super().generate(request, on_step=on_step, cancel=cancel, on_notice=on_notice)


def engine_of(window) -> RecordingEngine:
    return window.session._engine.worker._engine


def open_on(open_window, qtbot, model_dir):
    window = open_window(str(model_dir), make_engine=RecordingEngine)
    wait_ready(qtbot, window)
    p = window.params
    p.random_seed_check.setChecked(False)
    p.seed_spin.setValue(42)
    p.steps_spin.setValue(3)
    return window


def generate(qtbot, window):
    window.generate()
    wait_idle(qtbot, window)
    [saved] = sorted(outputs_dir().glob("*.png"))
    return saved, np.asarray(Image.open(saved).convert("RGB"))


def untouched(paste: np.ndarray) -> np.ndarray:
    """Where the feathered, grid-grown mask is 0: every pixel there must be the source's own."""
    return paste == 0


@pytest.mark.parametrize("model", ["tiny_sd_dir", "tiny_sd_inpaint_dir"])
def test_painted_mask_is_sent_and_everything_outside_it_is_kept_bit_for_bit(open_window, qtbot, tmp_path, request,
                                                                           model):
    window = open_on(open_window, qtbot, request.getfixturevalue(model))
    source = noise_picture(tmp_path / "photo.png", (96, 64))
    drop_file(qtbot, window.canvas, source)
    paint(qtbot, window.canvas, (30, 20), (60, 28), (64, 40))
    painted = array(window.canvas.mask())
    assert window.image_panel.mode_combo.currentText() == "Auto (Inpaint)"
    window.image_panel.feather_spin.setValue(4)

    saved, out = generate(qtbot, window)

    sent = engine_of(window).requests[-1]
    assert sent.mode.value == "inpaint" and (sent.width, sent.height) == (96, 64)
    assert np.array_equal(array(sent.mask), np.where(painted > 0, 255, 0))  # what was painted, binarized
    src = np.asarray(Image.open(source).convert("RGB"))
    assert np.array_equal(array(sent.init_image), src)
    assert out.shape == src.shape
    paste = np.asarray(maskmath.composite_mask(Image.fromarray(painted), 4))
    keep = untouched(paste)
    assert keep.mean() > 0.3  # a good part of the picture is outside the feathered mask
    assert np.array_equal(out[keep], src[keep])
    assert not np.array_equal(out[paste == 255], src[paste == 255])  # and the masked part was repainted
    recipe = read_recipe(saved)
    assert (recipe.mode, recipe.mask_feather, recipe.seed) == ("inpaint", 4, 42)


def test_an_image_without_a_mask_is_image_to_image_with_the_chosen_strength(open_window, tiny_sd_dir, qtbot, tmp_path):
    window = open_on(open_window, qtbot, tiny_sd_dir)
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (80, 64)))
    assert window.image_panel.mode_combo.currentText() == "Auto (Image to image)"
    assert not window.params.width_spin.isEnabled()  # the size follows the image
    window.image_panel.strength_spin.setValue(0.6)
    saved, out = generate(qtbot, window)
    recipe = read_recipe(saved)
    assert (recipe.mode, recipe.strength) == ("img2img", 0.6)
    assert out.shape == (64, 80, 3)
    assert engine_of(window).requests[-1].mask is None


def test_only_the_masked_region_of_a_large_image_is_generated_and_pasted_back(open_window, tiny_sd_dir, qtbot,
                                                                              tmp_path):
    window = open_on(open_window, qtbot, tiny_sd_dir)
    source = noise_picture(tmp_path / "large.png", (1200, 900))
    drop_file(qtbot, window.canvas, source)
    assert window.image_panel.only_masked_check.isChecked()  # larger than the model's 512: on by default
    paint(qtbot, window.canvas, (600, 400), (660, 430), size=30)
    painted = array(window.canvas.mask())
    window.image_panel.feather_spin.setValue(4)
    window.params.steps_spin.setValue(2)  # the crop is rendered at the model's 512x512: one denoising step (2 x 0.75)
    previews = []
    window.session.preview.connect(lambda _: previews.append(window.canvas._overlay_box))

    saved, out = generate(qtbot, window)

    sent = engine_of(window).requests[-1]
    box = window.session.preview_box  # the crop of the canvas that was generated
    crop_w, crop_h = box[2] - box[0], box[3] - box[1]
    assert sent.width > crop_w and sent.height > crop_h  # the small crop is rendered at the model's size
    assert abs(sent.width * sent.height - 512 * 512) / (512 * 512) < 0.05
    src = np.asarray(Image.open(source).convert("RGB"))
    assert out.shape == src.shape == (900, 1200, 3)
    ys, xs = np.nonzero(painted)
    grown = 8 + 4 * 4  # a latent cell and the feather's reach
    changed_y, changed_x = np.nonzero((out != src).any(axis=2))
    assert changed_x.size > 0
    assert xs.min() - grown <= changed_x.min() and changed_x.max() <= xs.max() + grown
    assert ys.min() - grown <= changed_y.min() and changed_y.max() <= ys.max() + grown
    # previews were drawn over the region being generated, not the whole canvas
    assert previews and all(p is not None and p.getCoords()[:2] == box[:2] for p in previews)
    assert box[2] - box[0] < 400 and box[3] - box[1] < 400


def test_outpainting_grows_the_image_and_keeps_the_original_area(open_window, tiny_sd_dir, qtbot, tmp_path):
    window = open_on(open_window, qtbot, tiny_sd_dir)
    source = noise_picture(tmp_path / "photo.png", (64, 64))
    drop_file(qtbot, window.canvas, source)
    window.image_panel.extend_button.spins["right"].setValue(32)
    window.image_panel.extend_button.apply_button.click()
    assert window.canvas.image().size().toTuple() == (96, 64)
    assert window.image_panel.mode().value == "inpaint"
    mask = array(window.canvas.mask())
    assert (mask[:, 64:] == 255).all() and (mask[:, :64] == 0).all()

    saved, out = generate(qtbot, window)
    assert out.shape == (64, 96, 3)
    src = np.asarray(Image.open(source).convert("RGB"))
    paste = np.asarray(maskmath.composite_mask(Image.fromarray(mask), window.image_panel.feather_spin.value()))
    keep = untouched(paste)[:, :64]
    assert keep[:, :32].all()
    assert np.array_equal(out[:, :64][keep], src[keep])
    assert read_recipe(saved).mode == "inpaint"
