"""Pure window behaviour on a scripted engine: controls, shortcuts, seeds, sizes, batches, errors, settings."""

import logging
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget

from studio.core.errors import StudioError
from studio.core.paths import outputs_dir
from studio.core.settings import Settings, load_settings, settings_path
from tests.ui.conftest import TIMEOUT, wait_idle, wait_ready
from studio.session import Progress
from studio.session import session as session_module
from studio.session.results import save_results
from studio.ui.progress_bar import GenerationProgressBar, describe
from tests.paint_counter import PaintCounter
from tests.ui.fakes import FakeEngine

CONTROLS = [
    "promptEdit", "negativePromptEdit", "seedSpin", "seedRandomCheck", "reuseSeedButton", "stepsSpin", "cfgSpin",
    "widthSpin", "heightSpin", "sizeCombo", "schedulerCombo", "batchSpin", "modelCombo", "generateButton",
    "cancelButton", "progressBar", "canvas", "resultsStrip", "messageBar", "modelStatusLabel", "lastSavedLabel",
]


@pytest.fixture
def model(tmp_path):
    folder = tmp_path / "fake-model"
    folder.mkdir()
    return str(folder)


@pytest.fixture
def engine():
    return FakeEngine()


@pytest.fixture
def window(open_window, model, engine, qtbot):
    window = open_window(model, make_engine=lambda: engine)
    wait_ready(qtbot, window)
    window.params.set_size(64, 64)
    return window


def ctrl_enter(qtbot, widget):
    qtbot.keyClick(widget, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_every_control_is_there_and_the_prompt_has_focus(open_window, qtbot):
    window = open_window(make_engine=FakeEngine)
    for name in CONTROLS:
        assert window.findChild(QWidget, name) is not None, name
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.prompts.prompt_edit)


def test_generate_waits_for_a_model_and_says_why(open_window, model, qtbot):
    gate = threading.Event()
    engine = FakeEngine()
    window = open_window(make_engine=lambda: (gate.wait(5), engine)[1])
    assert not window.generate_button.isEnabled()
    assert window.generate_button.toolTip() == "Choose a model first."
    window.model_picker.ask_folder = lambda: model
    window.model_picker.activated.emit(window.model_picker.findText("Open model folder..."))
    assert window.generate_button.toolTip() == "Wait for the model to finish loading."
    assert "Loading fake-model" in window.status.model_label.text()
    gate.set()
    wait_ready(qtbot, window)
    assert window.generate_button.toolTip() == "Generate (Ctrl+Enter)"
    assert "fake-model" in window.status.model_label.text() and "fake-model" in window.windowTitle()
    assert window.model_picker.currentText() == "fake-model"


def test_ctrl_enter_generates_from_anywhere_and_shows_the_saved_result(window, engine, qtbot):
    qtbot.keyClicks(window.prompts.prompt_edit, "a lighthouse at dusk")
    ctrl_enter(qtbot, window.params.steps_spin)
    assert window.session.busy and window.cancel_button.isEnabled()
    assert window.generate_button.isEnabled() and window.generate_button.text() == "Queue"  # it queues the next
    wait_idle(qtbot, window)
    assert engine.requests[-1].prompt == "a lighthouse at dusk"
    saved = sorted(outputs_dir().iterdir())
    assert len(saved) == 1
    assert saved[0].name in window.status.saved_label.text()
    assert window.progress_bar.value() == window.progress_bar.maximum()
    assert window.progress_bar.text().startswith(f"Step {engine.requests[-1].steps}/{engine.requests[-1].steps}")
    assert not window.cancel_button.isEnabled() and window.generate_button.isEnabled()
    for widget in (window.prompts.negative_edit, window.canvas, window.params.seed_spin):  # no widget swallows it
        ctrl_enter(qtbot, widget)
        wait_idle(qtbot, window)
    assert len(engine.requests) == 4


def test_escape_cancels(window, model, qtbot):
    gate = threading.Event()
    window.session._engine.worker._engine.gate = gate
    window.params.steps_spin.setValue(200)
    window.generate()
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    gate.set()
    qtbot.waitSignal(window.session.cancelled, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    assert list(outputs_dir().iterdir()) == []
    assert window.generate_button.isEnabled() and not window.cancel_button.isEnabled()
    assert window.progress_bar.text() == "Cancelled"


def test_random_seed_is_shown_and_can_be_reused(window, engine, qtbot):
    assert window.params.random_seed_check.isChecked() and not window.params.seed_spin.isEnabled()
    assert not window.params.reuse_seed_button.isEnabled()
    window.generate()
    wait_idle(qtbot, window)
    used = engine.requests[-1].seed
    assert int(window.params.seed_spin.value()) == used
    window.generate()
    wait_idle(qtbot, window)
    last = engine.requests[-1].seed
    assert int(window.params.seed_spin.value()) == last
    qtbot.mouseClick(window.params.reuse_seed_button, Qt.MouseButton.LeftButton)
    assert not window.params.random_seed_check.isChecked() and window.params.seed_spin.isEnabled()
    window.generate()
    wait_idle(qtbot, window)
    assert engine.requests[-1].seed == last


def type_side(qtbot, spin, text):
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)


def test_sizes_are_multiples_of_8_and_the_picker_offers_native_sizes(window, qtbot):
    params = window.params
    assert params.size_combo.itemText(0) == "512 × 512  square"  # the fake model is SD 1.x
    params.size_combo.activated.emit(params.size_combo.findText("512 × 768  portrait"))
    assert params.size() == (512, 768)
    type_side(qtbot, params.width_spin, "517")
    assert params.size() == (520, 768) and params.size_combo.currentText() == "Custom"
    type_side(qtbot, params.width_spin, "515")
    assert params.size() == (512, 768) and params.size_combo.currentText() == "512 × 768  portrait"
    qtbot.mouseClick(params.swap_button, Qt.MouseButton.LeftButton)
    assert params.size() == (768, 512) and params.size_combo.currentText() == "768 × 512  landscape"


def test_a_batch_shows_thumbnails_to_pick_from(window, qtbot):
    window.params.batch_spin.setValue(3)
    window.params.random_seed_check.setChecked(False)
    window.params.seed_spin.setValue(100)
    window.generate()
    wait_idle(qtbot, window)
    strip = window.results_strip
    assert strip.isVisible() and strip.count() == 3
    assert "00000-100.png" in window.status.saved_label.text()
    strip.setCurrentRow(2)
    assert "00002-102.png" in window.status.saved_label.text()


def test_a_failed_load_shows_a_message_and_the_window_keeps_working(open_window, model, tmp_path, qtbot):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    window = open_window(str(broken), make_engine=FakeEngine)
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=TIMEOUT)
    assert "incomplete or damaged" in window.message_bar.text()
    assert window.generate_button.toolTip().startswith("The model could not be loaded")
    window.model_picker.ask_folder = lambda: model
    window.model_picker.activated.emit(window.model_picker.findText("Open model folder..."))
    wait_ready(qtbot, window)
    window.params.set_size(64, 64)
    window.generate()
    wait_idle(qtbot, window)
    assert not window.message_bar.isVisible()
    assert len(list(outputs_dir().iterdir())) == 1


def test_settings_survive_a_restart_of_the_window(open_window, model, qtbot):
    def narrow_window(**kwargs):
        # The offscreen screen is 800x600 and restoring geometry fits a window into it; without the (wide)
        # canvas toolbar and the History dock the window can be that small.
        window = open_window(make_engine=FakeEngine, show=False, **kwargs)
        window.canvas_toolbar.hide()
        window.history_binding.dock.hide()
        window.show()
        wait_ready(qtbot, window)
        return window

    first = narrow_window(model=model)
    qtbot.keyClicks(first.prompts.prompt_edit, "an owl, watercolour")
    qtbot.keyClicks(first.prompts.negative_edit, "text")
    p = first.params
    p.random_seed_check.setChecked(False)
    p.seed_spin.setValue(3_000_000_000)
    p.steps_spin.setValue(13)
    p.cfg_spin.setValue(4.5)
    p.set_size(640, 384)
    p.scheduler_combo.setCurrentIndex(p.scheduler_combo.findData("dpmpp_2m_karras"))
    p.batch_spin.setValue(2)
    p.runs_spin.setValue(4)
    first.resize(760, 540)
    first.splitter.setSizes([333, 400])
    sizes = first.splitter.sizes()
    first.close()

    second = narrow_window()  # no --model: the last one is opened again
    assert second.prompts.prompt_edit.toPlainText() == "an owl, watercolour"
    assert second.prompts.negative_edit.toPlainText() == "text"
    q = second.params
    assert not q.random_seed_check.isChecked() and int(q.seed_spin.value()) == 3_000_000_000
    assert (q.steps_spin.value(), q.cfg_spin.value(), q.size(), q.batch_spin.value(), q.runs_spin.value()) == \
        (13, 4.5, (640, 384), 2, 4)
    assert q.scheduler_combo.currentData() == "dpmpp_2m_karras"
    assert second.session.model_source == model and second.model_picker.recent() == [model]
    assert (second.width(), second.height()) == (760, 540)
    assert second.splitter.sizes() == sizes


def test_a_damaged_settings_file_shows_a_notice_and_defaults(open_window, qtbot):
    settings_path().write_text("{ this is not json", encoding="utf-8")
    window = open_window(make_engine=FakeEngine)
    assert window.message_bar.isVisible() and "damaged" in window.message_bar.text()
    assert window.params.steps_spin.value() == Settings().steps
    window.close()
    assert load_settings().notice is None  # the defaults were saved; the notice is not shown again


def test_closing_during_a_run_stops_the_engine_thread(window, qtbot):
    gate = threading.Event()
    window.session._engine.worker._engine.gate = gate
    window.params.steps_spin.setValue(300)
    window.generate()
    gate.set()
    qtbot.waitUntil(lambda: window.session.progress is not None, timeout=TIMEOUT)
    thread = window.session._engine._thread
    window.close()
    assert not thread.isRunning()
    assert list(outputs_dir().iterdir()) == []


def test_closing_while_a_result_is_being_saved_keeps_it(window, qtbot, monkeypatch, caplog):
    saving, release = threading.Event(), threading.Event()

    def slow_save(*args):
        saving.set()
        release.wait(10)
        return save_results(*args)

    monkeypatch.setattr(session_module, "save_results", slow_save)
    window.generate()
    qtbot.waitUntil(saving.is_set, timeout=TIMEOUT)
    threading.Timer(0.3, release.set).start()  # close() blocks the GUI thread until the file is written
    window.close()
    assert len(list(outputs_dir().glob("*.png"))) == 1
    qtbot.wait(100)  # the publishing task, cancelled by the close, runs now: it must leave the closed session be
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_progress_text_reads_naturally():
    assert describe(Progress(3, 25, rate=2.5, eta=8.8, elapsed=2.0)) == "Step 3/25 · 2.5 it/s · ETA 9 s"
    assert describe(Progress(3, 25, rate=0.2, eta=110, elapsed=15)) == "Step 3/25 · 5.0 s/it · ETA 1 min 50 s"
    assert describe(Progress(25, 25, rate=0.2, eta=0, elapsed=125.2)) == "Step 25/25 · 5.0 s/it · done in 2 min 05 s"
    assert describe(Progress(1, 25)) == "Step 1/25"


def _paints_within(qtbot, widget, ms):
    counter = PaintCounter(widget)
    qtbot.wait(ms)
    return counter.stop()


def test_progress_bar_stops_animating_when_idle_or_waiting_for_the_first_step(qtbot):
    """An animated bar repaints ~60 times a second, CPU time the generation thread needs."""
    bar = GenerationProgressBar()
    qtbot.addWidget(bar)
    bar.show()
    bar.show_busy("Loading the model...")
    assert _paints_within(qtbot, bar, 300) > 5  # the probe sees a running animation
    bar.show_waiting("Starting...")
    qtbot.wait(50)
    assert _paints_within(qtbot, bar, 300) <= 2 and bar.waiting and bar.text() == "Starting..."
    bar.show_progress(Progress(1, 4))
    assert not bar.waiting
    bar.show_busy("Loading the model...")
    bar.show_idle("")
    qtbot.wait(50)
    assert _paints_within(qtbot, bar, 300) <= 2


class RunsOutOfMemoryOnce(FakeEngine):
    def generate(self, request, on_step=None, cancel=None, on_notice=None):
        if not self.requests:
            self.requests.append(request)
            raise StudioError("Ran out of memory generating 1 x 64x64 on CPU; try a smaller size.")
        return super().generate(request, on_step, cancel, on_notice)


def test_out_of_memory_is_a_message_and_the_next_run_works(open_window, model, qtbot):
    window = open_window(model, make_engine=RunsOutOfMemoryOnce)
    wait_ready(qtbot, window)
    window.params.set_size(64, 64)
    window.generate()
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=TIMEOUT)
    assert window.message_bar.text().startswith("Ran out of memory")
    assert window.generate_button.isEnabled() and window.progress_bar.maximum() > 0
    window.generate()
    wait_idle(qtbot, window)
    assert len(list(outputs_dir().iterdir())) == 1 and not window.message_bar.isVisible()


def test_on_a_small_screen_the_controls_keep_their_width_and_the_history_dock_starts_one_column_wide(
        open_window, qtbot):
    window = open_window(make_engine=FakeEngine, show=False)
    window.resize(1024, 700)
    window.show()
    qtbot.waitUntil(lambda: window.width() == 1024)
    scroll = window.findChild(QScrollArea, "controlScroll")
    inner = scroll.widget()
    assert scroll.viewport().width() >= inner.minimumSizeHint().width()  # nothing clipped on the right
    grid = window.history_binding.panel.view.gridSize().width()
    assert grid <= window.history_binding.dock.width() < 2 * grid
    assert window.canvas.width() > 300
