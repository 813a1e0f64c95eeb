"""The prompt editor: weights by keyboard, highlighting, token counts, notices, styles and clip skip, in the
panel alone and in the real window on the real engine."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QTextCursor

from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir
from studio.core.request import GenerationRequest
from studio.core.settings import Settings
from studio.core.styles import Style, load_styles, save_styles, styles_path
from studio.engine.engine import Engine
from studio.ui.prompt_completion import completion_prefix
from studio.ui.prompt_highlighter import PromptHighlighter
from studio.ui.prompt_panel import PromptPanel
from tests.ui.conftest import wait_idle
from tests.ui.fakes import FakeEngine

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def panel(qtbot):
    panel = PromptPanel()
    qtbot.addWidget(panel)
    panel.show()
    return panel


def _put_cursor(edit, position, anchor=None):
    cursor = edit.textCursor()
    cursor.setPosition(position if anchor is None else anchor)
    cursor.setPosition(position, QTextCursor.MoveMode.KeepAnchor)
    edit.setTextCursor(cursor)


def test_ctrl_up_and_down_weigh_the_word_under_the_cursor_and_undo_in_one_step(panel, qtbot):
    edit = panel.prompt_edit
    edit.setPlainText("a red fox in snow")
    _put_cursor(edit, 8)
    qtbot.keyClick(edit, Qt.Key.Key_Up, CTRL)
    assert edit.toPlainText() == "a red (fox:1.1) in snow"
    assert edit.textCursor().selectedText() == "fox"
    qtbot.keyClick(edit, Qt.Key.Key_Up, CTRL)
    assert edit.toPlainText() == "a red (fox:1.2) in snow"
    qtbot.keyClick(edit, Qt.Key.Key_Down, CTRL)
    qtbot.keyClick(edit, Qt.Key.Key_Down, CTRL)
    assert edit.toPlainText() == "a red fox in snow"
    qtbot.keyClick(edit, Qt.Key.Key_Z, CTRL)
    assert edit.toPlainText() == "a red (fox:1.1) in snow"


def test_ctrl_down_on_a_selection_after_an_emoji(panel, qtbot):
    edit = panel.negative_edit
    edit.setPlainText("🦊 blurry photo")
    _put_cursor(edit, len("🦊 blurry photo".encode("utf-16-le")) // 2, anchor=3)  # "blurry photo"
    qtbot.keyClick(edit, Qt.Key.Key_Down, CTRL)
    assert edit.toPlainText() == "🦊 (blurry photo:0.9)"
    assert edit.textCursor().selectedText() == "blurry photo"


def _colour_at(edit, index):
    block = edit.document().firstBlock()
    for fmt in block.layout().formats():
        if fmt.start <= index < fmt.start + fmt.length:
            return fmt.format.foreground().color()
    return None


def test_weights_tags_and_break_are_highlighted(panel):
    edit = panel.prompt_edit
    edit.setPlainText("a (red:1.3) fox BREAK <lora:film:0.8> \\(x\\) [day:night:0.5] [a|b]")
    colours = PromptHighlighter.FORMATS
    text = edit.toPlainText()
    assert _colour_at(edit, text.index("(")) == colours["bracket"].foreground().color()
    assert _colour_at(edit, text.index(":1.3")) == colours["weight"].foreground().color()
    assert _colour_at(edit, text.index("BREAK")) == colours["keyword"].foreground().color()
    assert _colour_at(edit, text.index("film")) == colours["network"].foreground().color()
    assert _colour_at(edit, text.index("\\(")) == colours["escape"].foreground().color()
    assert _colour_at(edit, text.index(":0.5")) == colours["schedule"].foreground().color()
    assert _colour_at(edit, text.index("|")) == colours["schedule"].foreground().color()
    assert _colour_at(edit, text.index("fox")) in (None, QColor())


def test_token_counts_per_chunk_follow_the_text(panel, qtbot):
    panel.prompt_edit.setPlainText("a photo of a cat")
    qtbot.waitUntil(lambda: panel.prompt_count.text() == "5/75")
    panel.prompt_edit.setPlainText("a " * 80)
    qtbot.waitUntil(lambda: panel.prompt_count.text() == "75/75 · 5/75")
    panel.negative_edit.setPlainText("blurry BREAK ugly")
    qtbot.waitUntil(lambda: panel.negative_count.text() == "1/75 · 1/75")


def test_counts_use_clip_tokens_like_the_models_tokenizer():
    from transformers import CLIPTokenizer

    from studio.ui.token_counter import VOCABULARY_DIR, chunk_sizes

    clip = CLIPTokenizer.from_pretrained(VOCABULARY_DIR)
    for text in ("a photo of a cat", "masterpiece, best quality, 1girl, looking at viewer!!", "Ünïcode façade 123"):
        assert chunk_sizes(text) == [len(clip(text, add_special_tokens=False).input_ids)], text


def test_unsupported_syntax_and_tags_get_a_line_under_the_prompt(panel, qtbot):
    panel.prompt_edit.setPlainText("a cat AND a dog <hypernet:film:0.8> <lora:ink:0.5>")
    qtbot.waitUntil(panel.notice_label.isVisible)
    text = panel.notice_label.text()
    assert "<hypernet:film:0.8>" in text and "AND" in text and "<lora:ink" not in text  # LoRA tags are fine
    panel.prompt_edit.setPlainText("a (cat:1.2) [on|in] a [box:tree:0.5]")
    qtbot.waitUntil(lambda: not panel.notice_label.isVisible())


def test_save_and_apply_styles(panel, qtbot):
    bar = panel.styles_bar
    panel.set_prompts("cinematic still of {prompt}, film grain", "cartoon")
    bar.ask_name = lambda suggestion: "Cinematic"
    qtbot.mouseClick(bar.save_button, Qt.MouseButton.LeftButton)
    assert [(s.name, s.prompt, s.negative_prompt) for s in load_styles().styles] == [
        ("Cinematic", "cinematic still of {prompt}, film grain", "cartoon")]
    panel.set_prompts("a red fox", "blurry")
    qtbot.mouseClick(bar.apply_button, Qt.MouseButton.LeftButton)
    assert (panel.prompt(), panel.negative_prompt()) == ("cinematic still of a red fox, film grain", "blurry, cartoon")
    qtbot.keyClick(panel.prompt_edit, Qt.Key.Key_Z, CTRL)
    assert panel.prompt() == "a red fox"


def test_saving_under_an_existing_name_replaces_it_and_cancel_saves_nothing(panel, qtbot):
    save_styles([Style("Sharp", "sharp focus"), Style("Old", "old")])
    panel.styles_bar.reload()
    assert panel.styles_bar.combo.currentText() == "Sharp" and panel.styles_bar.apply_button.isEnabled()
    panel.set_prompts("very sharp", "")
    panel.styles_bar.ask_name = lambda suggestion: None
    panel.styles_bar.save_current()
    assert [s.prompt for s in load_styles().styles] == ["sharp focus", "old"]
    panel.styles_bar.ask_name = lambda suggestion: "Sharp"
    panel.styles_bar.save_current()
    assert [(s.name, s.prompt) for s in load_styles().styles] == [("Sharp", "very sharp"), ("Old", "old")]


def test_clip_skip_is_kept_in_the_settings(panel):
    panel.clip_skip_spin.setValue(2)
    settings = Settings()
    panel.store(settings)
    other = PromptPanel()
    other.load(settings)
    assert settings.clip_skip == 2 and other.clip_skip_spin.value() == 2
    other.deleteLater()


# -- in the real window ----------------------------------------------------------------------------------
@pytest.fixture
def window(tiny_window):
    window = tiny_window
    window.params.random_seed_check.setChecked(False)
    window.params.seed_spin.setValue(7)
    window.params.steps_spin.setValue(3)
    return window


def test_a_weighted_prompt_with_clip_skip_generates_and_is_recorded_verbatim(window, tiny_sd_dir, qtbot):
    prompt = "a (red:1.3) fox BREAK snow"
    window.prompts.prompt_edit.setPlainText(prompt)
    window.prompts.clip_skip_spin.setValue(2)
    window.generate()
    wait_idle(qtbot, window)
    [saved] = sorted(outputs_dir().glob("*.png"))
    recipe = read_recipe(saved)
    assert (recipe.prompt, recipe.clip_skip) == (prompt, 2)
    assert "Clip skip: 2" in Image.open(saved).text["parameters"]
    engine = Engine("cpu", previews="off")
    engine.load(str(tiny_sd_dir))
    expected = engine.generate(GenerationRequest(prompt, seed=7, steps=3, width=64, height=64, clip_skip=2,
                                                 cfg_scale=window.params.cfg_spin.value()))
    assert np.array_equal(np.asarray(Image.open(saved).convert("RGB")), np.asarray(expected.images[0]))
    window.apply_recipe(replace(recipe, clip_skip=1))
    assert window.prompts.clip_skip_spin.value() == 1


def test_a_tag_the_app_cannot_run_is_refused_in_the_message_bar_and_nothing_is_written(window, qtbot):
    window.prompts.prompt_edit.setPlainText("a fox <hypernet:film:0.8>")
    qtbot.waitUntil(lambda: "<hypernet:film:0.8>" in window.prompts.notice_label.text())  # said while typing, too
    window.generate()
    qtbot.waitUntil(window.message_bar.isVisible)
    assert "<hypernet:film:0.8>" in window.message_bar.text() and "only <lora:...>" in window.message_bar.text()
    wait_idle(qtbot, window)
    assert not list(outputs_dir().glob("*.png"))


def test_a_damaged_styles_file_is_set_aside_with_a_notice_in_the_window(open_window, qtbot):
    styles_path().write_bytes(b"\xff\xfe\x00 not a table")
    window = open_window(make_engine=FakeEngine)
    qtbot.waitUntil(window.message_bar.isVisible)
    assert "styles file was damaged" in window.message_bar.text()
    assert any(p.name.startswith("styles.damaged-") for p in styles_path().parent.iterdir())


@pytest.mark.parametrize("before, expected", [
    ("a fox <lora:in", ("lora", "<lora:in")), ("a fox <LORA:", ("lora", "<LORA:")), ("(easyneg", ("word", "easyneg")),
    ("a fox, e", None), ("<lora:ink:0.", None), ("<lora:ink:1> ba", ("word", "ba")), ("", None),
])
def test_the_text_before_the_cursor_decides_what_is_completed(before, expected):
    assert completion_prefix(before) == expected
