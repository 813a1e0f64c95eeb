"""The Upscale button on the real window: the upscalers it offers, and a failure as one sentence."""

import torch

from studio.core.paths import models_dir
from tests.ui.canvas_work import drop_file, noise_picture
from tests.ui.conftest import TIMEOUT, wait_ready


def test_the_button_offers_the_built_in_resizers_and_the_models_in_the_upscaler_folders(open_window, qtbot, tmp_path):
    window = open_window()
    button = window.image_panel.upscale_button
    assert not button.isEnabled()  # nothing on the canvas to upscale yet
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (40, 30)))
    assert button.isEnabled()
    button.refresh()
    assert [button.model_combo.itemText(i) for i in range(button.model_combo.count())] == ["Lanczos", "Nearest"]
    for folder, name in (("upscalers", "4x-a.safetensors"), ("ESRGAN", "2x-b.pth")):
        (models_dir() / folder).mkdir(parents=True, exist_ok=True)
        (models_dir() / folder / name).write_bytes(b"")
    button.refresh()
    assert [button.model_combo.itemText(i) for i in range(button.model_combo.count())][2:] == ["2x-b", "4x-a"]
    assert button.apply_button.isEnabled()


def test_an_upscale_that_cannot_run_is_one_sentence_and_the_canvas_is_kept(open_window, tiny_sd_dir, qtbot, tmp_path):
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (40, 30)))
    folder = models_dir() / "upscalers"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"not.an.upscaler": torch.ones(2)}, folder / "odd.pth")
    button = window.image_panel.upscale_button
    button.refresh()
    button.model_combo.setCurrentText("odd")
    button.apply_button.click()
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=TIMEOUT)
    text = window.message_bar.text()
    assert text.count(".") >= 1 and ("spandrel" in text or "'odd.pth' is not an upscaler model" in text)
    assert window.canvas.image().size().toTuple() == (40, 30)
    assert not window.session.busy and window.generate_button.isEnabled()
