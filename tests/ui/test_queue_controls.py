"""Queue controls on a scripted engine (pure window behaviour): Esc cancels only the running job and pauses the
queue, Generate next goes ahead of the waiting jobs, Generate with nothing running starts at once."""

import threading

import pytest
from PySide6.QtCore import Qt

from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir
from studio.core.queue_store import QueueStore, StoredJob
from studio.core.request import GenerationRequest
from studio.session.queue import JobState
from tests.ui.conftest import TIMEOUT, wait_ready
from tests.ui.fakes import FakeEngine


@pytest.fixture
def gate():
    gate = threading.Event()
    yield gate
    gate.set()  # never leave the engine thread waiting


@pytest.fixture
def window(open_window, tmp_path, gate, qtbot):
    model = tmp_path / "fake-model"
    model.mkdir()
    engine = FakeEngine(gate=gate)
    window = open_window(str(model), make_engine=lambda: engine)
    wait_ready(qtbot, window)
    window.params.set_size(64, 64)
    window.params.steps_spin.setValue(3)
    window.engine = engine
    return window


def queue_job(window, prompt, *, next_=False):
    window.prompts.prompt_edit.setPlainText(prompt)
    window.generate_next() if next_ else window.generate()


def prompts(window):
    return [job.request.prompt for job in window.queue.jobs]


def test_escape_cancels_the_running_job_only_and_pauses_the_queue(window, gate, qtbot):
    for prompt in ("one", "two", "three"):
        queue_job(window, prompt)
    window.canvas.setFocus()
    with qtbot.waitSignal(window.session.cancelled, timeout=TIMEOUT):
        qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
        gate.set()
    assert prompts(window) == ["two", "three"] and window.queue.paused
    assert all(job.state is JobState.WAITING for job in window.queue.jobs)
    qtbot.wait(50)  # the session is idle and nothing starts
    assert not window.session.busy and window.queue_panel.pause_button.text() == "Resume"
    window.queue_panel.pause_button.click()
    qtbot.waitUntil(lambda: not window.queue.jobs and not window.session.busy, timeout=TIMEOUT)
    assert [request.prompt for request in window.engine.requests][-2:] == ["two", "three"]  # "one" may not have got there


def test_generate_next_goes_ahead_of_the_waiting_jobs(window, gate, qtbot):
    queue_job(window, "running")
    queue_job(window, "waiting")
    qtbot.keyClick(window.prompts.prompt_edit, Qt.Key.Key_Return,  # Ctrl+Shift+Enter: the prompt "waiting" again
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    queue_job(window, "at the end")
    window.prompts.prompt_edit.setPlainText("next")
    window.generate_next()
    assert prompts(window) == ["running", "next", "waiting", "waiting", "at the end"]
    assert window.generate_button.text() == "Queue"
    gate.set()
    qtbot.waitUntil(lambda: not window.queue.jobs and not window.session.busy, timeout=TIMEOUT)
    assert [request.prompt for request in window.engine.requests] == ["running", "next", "waiting", "waiting",
                                                                      "at the end"]


def test_generate_with_nothing_running_starts_at_once_even_when_the_queue_is_paused(window, gate, qtbot):
    queue_job(window, "one")
    queue_job(window, "two")
    window.queue.cancel_running()
    gate.set()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=TIMEOUT)
    assert window.queue.paused and prompts(window) == ["two"]
    queue_job(window, "asked now")
    assert window.session.busy and prompts(window) == ["asked now", "two"]
    qtbot.waitUntil(lambda: prompts(window) == ["two"] and not window.session.busy, timeout=TIMEOUT)
    assert window.queue.paused  # the job waiting before stays paused: nothing starts by surprise
    assert [request.prompt for request in window.engine.requests][-1] == "asked now"


def test_a_restored_job_this_version_refuses_fails_alone_and_retry_starts_at_once(open_window, tmp_path, qtbot):
    model = tmp_path / "fake-model"
    model.mkdir()
    store = QueueStore()
    store.save([StoredJob("00000000000a", GenerationRequest("bad", seed=1, steps=0, width=64, height=64)),
                StoredJob("00000000000b", GenerationRequest("good", seed=2, steps=2, width=64, height=64))])
    engine = FakeEngine()
    window = open_window(str(model), make_engine=lambda: engine)
    wait_ready(qtbot, window)
    assert window.queue.paused and prompts(window) == ["bad", "good"] and not window.session.busy
    window.queue.resume()
    qtbot.waitUntil(lambda: prompts(window) == ["bad"] and not window.session.busy, timeout=TIMEOUT)
    [bad] = window.queue.jobs
    assert bad.state is JobState.FAILED and bad.failure == "Steps must be between 1 and 500 (got 0)."
    assert [request.prompt for request in engine.requests] == ["good"]
    window.queue.pause()
    window.queue.retry(0)  # with nothing running it starts at once, and fails again with its sentence
    assert bad.state is JobState.FAILED and window.queue.paused


class ReturningEngine(FakeEngine):
    """Says (to a thread that does not run the Qt loop) when a generation has returned its images."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.returned = threading.Event()

    def generate(self, request, on_step=None, cancel=None, on_notice=None):
        try:
            return super().generate(request, on_step, cancel)
        finally:
            self.returned.set()


def test_closing_keeps_the_running_job_unless_its_images_were_saved_on_the_way_out(open_window, tmp_path, qtbot):
    model = tmp_path / "fake-model"
    model.mkdir()
    gate = threading.Event()
    engine = ReturningEngine(gate=gate)
    window = open_window(str(model), make_engine=lambda: engine)
    wait_ready(qtbot, window)
    window.params.set_size(64, 64)
    window.params.steps_spin.setValue(2)
    queue_job(window, "finished as the window closed")
    queue_job(window, "waiting")
    qtbot.waitUntil(lambda: bool(engine.requests), timeout=TIMEOUT)  # the engine has it, and waits at the gate
    gate.set()
    assert engine.returned.wait(5)  # the images are on their way to the GUI thread, not saved yet
    window.close()
    assert [recipe.prompt for recipe in map(read_recipe, sorted(outputs_dir().glob("*.png")))] == [
        "finished as the window closed"]

    again = open_window(str(model), make_engine=FakeEngine)
    assert prompts(again) == ["waiting"] and again.queue.paused  # the saved job does not run twice


def test_a_job_cancelled_by_closing_comes_back(open_window, tmp_path, qtbot):
    model = tmp_path / "fake-model"
    model.mkdir()
    gate = threading.Event()
    window = open_window(str(model), make_engine=lambda: FakeEngine(gate=gate))
    wait_ready(qtbot, window)
    window.params.set_size(64, 64)
    queue_job(window, "cut short")
    queue_job(window, "waiting")
    qtbot.waitUntil(lambda: window.session.progress is None and window.session.busy, timeout=TIMEOUT)
    gate.set()
    window.close()
    assert not list(outputs_dir().glob("*.png"))
    again = open_window(str(model), make_engine=FakeEngine)
    assert prompts(again) == ["cut short", "waiting"] and again.queue.paused


def test_a_damaged_queue_is_set_aside_and_said_and_the_window_works(open_window, tmp_path, qtbot):
    model = tmp_path / "fake-model"
    model.mkdir()
    store = QueueStore()
    store.folder.mkdir(parents=True, exist_ok=True)
    (store.folder / "queue.json").write_text('{"jobs": [{"id": "not an id"}]}')
    window = open_window(str(model), make_engine=FakeEngine)
    wait_ready(qtbot, window)
    assert "The saved queue was damaged and was set aside as queue.damaged-" in window.message_bar.text()
    assert len(list(store.folder.glob("queue.damaged-*.json"))) == 1 and not window.queue.jobs
    queue_job(window, "after the damage")
    qtbot.waitUntil(lambda: not window.queue.jobs and not window.session.busy, timeout=TIMEOUT)
    assert len(list(outputs_dir().glob("*.png"))) == 1


def test_the_view_menu_brings_back_a_closed_queue_or_history_dock(window, qtbot):
    actions = {action.objectName(): action for action in window.view_menu.actions()}
    assert set(actions) == {"historyDockAction", "queueDockAction"}
    assert window.queue_panel.isHidden()  # nothing queued: the dock waits out of the way
    actions["queueDockAction"].trigger()
    assert window.queue_panel.isVisible()
    window.history_binding.dock.close()
    assert not actions["historyDockAction"].isChecked()
    actions["historyDockAction"].trigger()
    assert window.history_binding.dock.isVisible()
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus.index("&View") == menus.index("&Help") - 1


def test_the_docks_come_back_where_the_artist_left_them(window, open_window, tmp_path, qtbot):
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.history_binding.dock)
    window.queue_panel.show()  # nothing queued, opened from the View menu
    window.close()

    again = open_window(str(tmp_path / "fake-model"), make_engine=FakeEngine)
    wait_ready(qtbot, again)
    dock = again.history_binding.dock
    assert again.dockWidgetArea(dock) == Qt.DockWidgetArea.LeftDockWidgetArea and dock.isVisible()
    assert again.queue_panel.isHidden()  # it follows the jobs, not the layout
    dock.close()
    again.close()

    third = open_window(str(tmp_path / "fake-model"), make_engine=FakeEngine)
    wait_ready(qtbot, third)
    assert third.history_binding.dock.isHidden()
    assert not {action.objectName(): action for action in third.view_menu.actions()}["historyDockAction"].isChecked()
