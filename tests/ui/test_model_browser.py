"""The model library in the window (scripted engine): the browser's list, filters and actions, the VAE choice,
name completion in the prompt."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from studio.core.model_folders import ModelKind
from studio.core.paths import models_dir
from studio.core.settings import load_settings
from studio.ui.model_browser import ModelBrowser
from tests.model_files import kohya_lora_shapes, tag_frequency, write_safetensors
from tests.ui.conftest import TIMEOUT, wait_idle, wait_ready
from tests.ui.fakes import FakeEngine


@pytest.fixture
def library_files(tmp_path):
    root = models_dir()
    write_safetensors(root / "loras" / "styles" / "ink.safetensors", kohya_lora_shapes(768), tag_frequency(inky=3))
    write_safetensors(root / "embeddings" / "badhands.safetensors", {"emb_params": (2, 768)})
    write_safetensors(root / "vae" / "sharp.safetensors", {"encoder.conv_in.weight": (8, 3, 3, 3),
                                                          "decoder.conv_out.weight": (3, 8, 3, 3)})
    checkpoint = root / "checkpoints" / "dream"
    checkpoint.mkdir(parents=True)
    (checkpoint / "model_index.json").write_text(json.dumps({"text_encoder_2": ["x", "y"]}))
    (root / "checkpoints" / "dream.preview.png").write_bytes(_png())
    return root


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def window(open_window, qtbot, tmp_path, library_files):
    folder = tmp_path / "fake-model"
    folder.mkdir()
    engine = FakeEngine()
    window = open_window(str(folder), make_engine=lambda: engine)
    window.engine = engine
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: len(window.library.entries) == 4, timeout=TIMEOUT)
    window.params.set_size(64, 64)
    return window


def _select(browser: ModelBrowser, name: str) -> None:
    (item,) = [browser.tree.topLevelItem(i) for i in range(browser.tree.topLevelItemCount())
               if browser.tree.topLevelItem(i).text(0) == name]
    browser.tree.setCurrentItem(item)


def test_the_browser_lists_by_kind_with_family_size_preview_and_search(window, qtbot):
    window.library_binding.browser_action.trigger()
    browser = window.library_binding.browser
    assert browser.isVisible()
    assert [(e.kind, e.name) for e in browser.visible_entries()] == [
        (ModelKind.CHECKPOINT, "dream"), (ModelKind.LORA, "styles/ink"), (ModelKind.EMBEDDING, "badhands"),
        (ModelKind.VAE, "sharp")]
    browser.kind_combo.setCurrentIndex(browser.kind_combo.findData(ModelKind.LORA.value))
    assert [e.name for e in browser.visible_entries()] == ["styles/ink"]
    browser.kind_combo.setCurrentIndex(0)
    browser.search_edit.setText("HAND")
    assert [e.name for e in browser.visible_entries()] == ["badhands"]
    browser.search_edit.clear()
    _select(browser, "dream")
    assert browser.preview.pixmap() is not None and not browser.preview.pixmap().isNull()
    assert "SDXL" in browser.details.text()
    assert not browser.insert_button.isEnabled() and browser.use_button.isEnabled()
    _select(browser, "styles/ink")
    assert browser.preview.text() == "No preview"
    assert "Trigger words: inky" in browser.details.text() and "SD 1.x" in browser.details.text()
    assert browser.status.text().startswith("4 of 4 models.")


def test_insert_use_and_show_in_folder(window, qtbot):
    browser = window.library_binding.show_browser()
    window.prompts.set_prompts("a fox", "")
    _select(browser, "styles/ink")
    browser.insert_button.click()
    browser.triggers_button.click()
    assert window.prompts.prompt() == "a fox, <lora:styles/ink:1>, inky"
    _select(browser, "badhands")
    window.prompts.negative_edit.setPlainText("")
    browser.insert_button.click()
    assert window.prompts.prompt().endswith(", badhands")
    revealed = []
    browser.reveal = revealed.append
    browser.folder_button.click()
    assert revealed[0].parent == models_dir() / "embeddings" and revealed[0].stem == "badhands"
    _select(browser, "dream")
    with qtbot.waitSignal(window.session.model_info_changed, timeout=TIMEOUT,
                          check_params_cb=lambda info: info is not None):
        browser.use_button.click()
    assert window.session.model_source == str(models_dir() / "checkpoints" / "dream")


def test_the_vae_choice_goes_into_the_request_and_is_remembered_per_model(window, qtbot):
    browser = window.library_binding.show_browser()
    assert window.vae_picker.choice() == ""
    _select(browser, "sharp")
    browser.use_button.click()
    assert window.vae_picker.currentText() == "sharp"
    window.prompts.set_prompts("a fox", "")
    window.generate()
    wait_idle(qtbot, window)
    assert window.engine.requests[-1].vae == "sharp"
    source = window.session.model_source
    window.close()
    assert load_settings().settings.model_vaes == {source: "sharp"}


def test_adding_an_a1111_folder_from_the_menu_lists_its_models(window, qtbot, tmp_path):
    webui = tmp_path / "webui"
    write_safetensors(webui / "models" / "Lora" / "hero.safetensors", kohya_lora_shapes(768))
    (webui / "models" / "Stable-diffusion").mkdir(parents=True)
    write_safetensors(webui / "embeddings" / "neg.safetensors", {"emb_params": (1, 768)})
    window.library_binding.ask_folder = lambda: str(webui)
    with qtbot.waitSignal(window.library.entries_changed, timeout=TIMEOUT,
                          check_params_cb=lambda entries: len(entries) == 6):
        window.library_binding.add_folder_action.trigger()
    assert load_settings().settings.model_folders == [str(webui)]
    assert window.library.find(ModelKind.LORA, "hero").path == webui / "models" / "Lora" / "hero.safetensors"
    assert window.library.find(ModelKind.EMBEDDING, "neg") is not None
    assert "Added" in window.status.currentMessage()


def test_restoring_a_recipe_chooses_the_vae_it_names(window):
    from studio.core.recipe import Recipe

    recipe = Recipe(prompt="a fox", negative_prompt="", seed=1, steps=4, cfg_scale=7, width=64, height=64,
                    sampler="", model="x", vae="sharp.safetensors")
    window.apply_recipe(recipe)
    assert window.vae_picker.choice() == "sharp"
    window.apply_recipe(Recipe(**{**recipe.to_dict(), "vae": ""}))
    assert window.vae_picker.choice() == ""
    window.apply_recipe(Recipe(**{**recipe.to_dict(), "vae": "gone.pt"}))  # kept: the engine says it is missing
    assert window.vae_picker.choice() == "gone"


def test_the_model_list_offers_the_checkpoints_of_the_library(window, qtbot):
    picker = window.model_picker
    dream = str(models_dir() / "checkpoints" / "dream")
    index = picker.findData(f"model:{dream}")
    assert index > 0 and picker.itemText(index) == "dream"
    with qtbot.waitSignal(window.session.model_info_changed, timeout=TIMEOUT,
                          check_params_cb=lambda info: info is not None):
        picker.activated.emit(index)
    assert window.session.model_source == dream
    assert picker.findData(f"model:{dream}") == picker.currentIndex()  # now first among the recent ones


def test_typing_completes_lora_tags_and_embedding_words_from_the_library(window, qtbot):
    edit = window.prompts.prompt_edit
    window.activateWindow()
    edit.setFocus()
    qtbot.keyClicks(edit, "a fox <lora:sty")
    popup = edit.completion.completer.popup()
    qtbot.waitUntil(popup.isVisible)
    assert edit.completion.completer.currentCompletion() == "<lora:styles/ink:1>"
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert edit.toPlainText() == "a fox <lora:styles/ink:1>"
    qtbot.keyClicks(edit, ", BADH")
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert edit.toPlainText() == "a fox <lora:styles/ink:1>, badhands"
    qtbot.keyClicks(edit, " zz")  # nothing in the library starts so: no popup
    assert not popup.isVisible()
