"""The real window on the real engine: a LoRA inserted from the browser changes the image and is recorded."""

import numpy as np
from diffusers import DiffusionPipeline
from PIL import Image

from studio.core.hashing import addnet_hash
from studio.core.metadata import read_recipe
from studio.core.paths import models_dir, outputs_dir
from tests.tiny_networks import kohya_lora
from tests.ui.conftest import TIMEOUT, wait_idle, wait_ready
from tests.ui.test_generation import set_params


def test_a_lora_from_the_browser_is_applied_recorded_and_gone_without_its_tag(open_window, tiny_sd_dir, qtbot):
    lora = kohya_lora(DiffusionPipeline.from_pretrained(tiny_sd_dir, local_files_only=True),
                      models_dir() / "loras" / "ink.safetensors")
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    window.params.set_size(64, 64)
    set_params(window, seed=5, steps=3, cfg=6.0)
    qtbot.waitUntil(lambda: len(window.library.entries) == 1, timeout=TIMEOUT)
    window.prompts.set_prompts("a red bicycle", "")
    window.generate()
    wait_idle(qtbot, window)
    browser = window.library_binding.show_browser()
    browser.tree.setCurrentItem(browser.tree.topLevelItem(0))
    browser.insert_button.click()
    assert window.prompts.prompt() == "a red bicycle, <lora:ink:1>"
    window.generate()
    wait_idle(qtbot, window)
    window.prompts.set_prompts("a red bicycle", "")
    window.generate()
    wait_idle(qtbot, window)
    base, with_lora, again = sorted(outputs_dir().glob("*.png"))
    pixels = [np.asarray(Image.open(p).convert("RGB"), dtype=np.int16) for p in (base, with_lora, again)]
    assert np.abs(pixels[1] - pixels[0]).max() > 5
    assert np.array_equal(pixels[2], pixels[0])
    recipe = read_recipe(with_lora)
    assert recipe.prompt == "a red bicycle, <lora:ink:1>"
    assert recipe.lora_hashes == f"ink: {addnet_hash(lora)[:12]}"
