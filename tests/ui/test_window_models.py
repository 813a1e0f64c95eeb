"""The real window on the real engine: steps counted as the user set them, and model loads that fail without
taking the working model away (tiny random-weight models and tiny checkpoints)."""

import pytest

from studio.core.paths import outputs_dir
from studio.core.settings import load_settings
from studio.session import ModelState
from tests.ui.canvas_work import drop_file, noise_picture
from tests.ui.conftest import TIMEOUT, wait_idle, wait_ready

SIZE = 64


@pytest.fixture
def window(tiny_window):
    tiny_window.params.random_seed_check.setChecked(False)
    return tiny_window


def choose_file(window, path) -> None:
    window.model_picker.ask_file = lambda: str(path)
    window.model_picker.activated.emit(window.model_picker.findText("Open model file..."))


def choose_folder(window, path) -> None:
    window.model_picker.ask_folder = lambda: str(path)
    window.model_picker.activated.emit(window.model_picker.findText("Open model folder..."))


def run_and_record(window, qtbot) -> list[tuple[int, int, str]]:
    seen = []
    window.session.progress_changed.connect(
        lambda p: p is not None and seen.append((p.step, p.total, window.progress_bar.text()))
    )
    window.generate()
    wait_idle(qtbot, window)
    return seen


def test_plms_steps_are_counted_as_the_user_set_them(window, qtbot):
    assert window.session.model_info.default_sampler == "PLMS"  # diffusers' PNDM runs one timestep more
    window.params.steps_spin.setValue(5)
    seen = run_and_record(window, qtbot)
    assert len(seen) == 6  # a preview per timestep
    assert {total for _, total, _ in seen} == {5}
    steps = [step for step, _, _ in seen]
    assert steps == sorted(steps) and steps[-1] == 5 and steps.count(5) == 1
    assert seen[-1][2].startswith("Step 5/5 ·") and "done in" in seen[-1][2]


def test_image_to_image_counts_the_steps_its_strength_runs(window, tmp_path, qtbot):
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (SIZE, SIZE)))
    window.image_panel.strength_spin.setValue(0.5)
    window.params.steps_spin.setValue(8)
    seen = run_and_record(window, qtbot)
    assert {total for _, total, _ in seen} == {4}  # int(8 * 0.5) steps denoise
    assert seen[-1][2].startswith("Step 4/4 (strength 0.5) ·")
    assert "4 of the 8 steps" in window.progress_bar.toolTip()


def test_a_file_that_fails_its_header_check_leaves_the_working_model_loaded(window, tiny_sd_dir, tmp_path, qtbot):
    bad = tmp_path / "downloaded-halfway.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    choose_file(window, bad)
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=TIMEOUT)
    assert window.message_bar.text() == (
        f"'downloaded-halfway.safetensors' is not a valid .safetensors file. {tiny_sd_dir.name} is still loaded."
    )
    assert window.message_bar.kind() == "error"
    assert window.session.model_state is ModelState.READY
    assert window.session.model_source == str(tiny_sd_dir)
    assert window.model_picker.currentText() == tiny_sd_dir.name
    assert str(bad) not in window.model_picker.recent()
    assert load_settings().settings.recent_models == [str(tiny_sd_dir)]
    assert load_settings().settings.model == str(tiny_sd_dir)
    window.params.steps_spin.setValue(2)
    window.generate()
    wait_idle(qtbot, window)
    assert len(list(outputs_dir().glob("*.png"))) == 1  # the kept model still generates


def test_a_checkpoint_that_fails_to_load_brings_the_previous_model_back(window, tiny_sd_dir, tiny_sd_checkpoint,
                                                                       tiny_sd2_dir, qtbot):
    # A tiny checkpoint passes the header check (an SD 1.x layout) but does not fit the shipped SD 1.x config:
    # diffusers says "Cannot load  because ..." with the name left out.
    choose_file(window, tiny_sd_checkpoint)
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=TIMEOUT)
    text = window.message_bar.text()
    assert text == (
        "The checkpoint 'tiny-sd1.safetensors' could not be loaded: its weights do not have the shapes of a standard "
        f"SD 1.x model; details are in the log. Loading {tiny_sd_dir.name} again."
    )
    wait_ready(qtbot, window)
    assert window.session.model_source == str(tiny_sd_dir) and window.session.model_state is ModelState.READY
    assert window.message_bar.text() == text  # reloading the previous model does not hide why it happened
    assert str(tiny_sd_checkpoint) not in window.model_picker.recent()
    assert load_settings().settings.model == str(tiny_sd_dir)

    # A later model that loads clears the error, and is saved as the model choice at once (not only on close).
    choose_folder(window, tiny_sd2_dir)
    qtbot.waitUntil(lambda: window.session.model_source == str(tiny_sd2_dir) and window.generate_button.isEnabled(),
                    timeout=TIMEOUT)
    assert not window.message_bar.isVisible()
    assert load_settings().settings.model == str(tiny_sd2_dir)
    assert window.model_picker.recent()[:2] == [str(tiny_sd2_dir), str(tiny_sd_dir)]


def test_a_failed_first_model_leaves_no_model_and_no_recent_entry(open_window, tmp_path, qtbot):
    missing = tmp_path / "moved-away.safetensors"
    window = open_window(str(missing))
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=TIMEOUT)
    assert "moved-away.safetensors" in window.message_bar.text()
    assert window.session.model_state is ModelState.FAILED
    assert window.model_picker.recent() == [] and window.model_picker.currentText() == "No model"
    assert load_settings().settings.recent_models == [] and load_settings().settings.model == ""
