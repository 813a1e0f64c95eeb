"""The generation queue through the real window on the real engine (tiny random-weight models): jobs run in
order and all save their images, reordering and removing change what runs, waiting jobs survive closing the
window (paused, with their canvas snapshots), and a failing job is marked failed while the next one runs."""

import shutil

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QImage

from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir, studio_home
from studio.session.queue import JobState
from studio.ui.queue_model import DETAILS_ROLE, JOB_ROLE
from tests.ui.conftest import wait_ready

DRAIN_TIMEOUT = 90_000  # several jobs in a row, on a loaded CI machine


def set_prompt(window, text):
    window.prompts.prompt_edit.setPlainText(text)


def queue_job(window, prompt):
    set_prompt(window, prompt)
    window.generate()


def wait_drained(qtbot, window):
    """Until no job waits or runs (failed ones may stay) and the session is idle."""
    qtbot.waitUntil(lambda: not window.session.busy and all(job.state is JobState.FAILED for job in window.queue.jobs),
                    timeout=DRAIN_TIMEOUT)


def saved_recipes():
    return [read_recipe(path) for path in sorted(outputs_dir().glob("*.png"))]


def canvas_of(colour):
    image = QImage(64, 64, QImage.Format.Format_RGB32)
    image.fill(QColor(*colour))
    return image


def test_three_generates_in_a_row_run_in_order_and_all_save(tiny_window, qtbot):
    window = tiny_window
    window.params.steps_spin.setValue(2)
    queue_job(window, "a red fox")
    assert not window.queue_panel.isVisible()  # a job running alone leaves the canvas its room
    for prompt in ("a grey owl", "a green frog"):
        queue_job(window, prompt)
    assert window.session.busy and window.generate_button.text() == "Queue" and window.queue_panel.isVisible()
    view = window.queue_panel.view
    assert view.objectName() == "queueView" and view.model().rowCount() == 3
    assert [view.model().index(row).data() for row in range(3)] == ["a red fox", "a grey owl", "a green frog"]
    assert view.model().index(0).data(JOB_ROLE).state is JobState.RUNNING
    assert "64×64 · 2 steps" in view.model().index(1).data(DETAILS_ROLE)
    wait_drained(qtbot, window)
    assert [recipe.prompt for recipe in saved_recipes()] == ["a red fox", "a grey owl", "a green frog"]
    assert view.model().rowCount() == 0 and window.generate_button.text() == "Generate"


def test_reordering_and_removing_change_what_runs(tiny_window, qtbot):
    window = tiny_window
    window.params.steps_spin.setValue(2)
    for prompt in ("first", "second", "third", "fourth"):
        queue_job(window, prompt)
    model, panel = window.queue_panel.model, window.queue_panel
    assert model.moveRows(QModelIndex(), 3, 1, QModelIndex(), 1)  # the move a drag in the view makes
    assert [model.index(row).data() for row in range(4)] == ["first", "fourth", "second", "third"]
    panel.view.setCurrentIndex(model.index(3))
    assert panel.remove_button.isEnabled()
    panel.remove_button.click()
    assert [model.index(row).data() for row in range(3)] == ["first", "fourth", "second"]
    panel.view.setCurrentIndex(model.index(0))
    assert not panel.remove_button.isEnabled()  # the running job is cancelled, not removed
    wait_drained(qtbot, window)
    assert [recipe.prompt for recipe in saved_recipes()] == ["first", "fourth", "second"]


def test_closing_with_jobs_waiting_brings_them_back_paused_with_their_snapshots(tiny_window, open_window,
                                                                                  tiny_sd_dir, qtbot):
    window = tiny_window
    window.params.steps_spin.setValue(2)
    queue_job(window, "from text")
    window.canvas.set_image(canvas_of((200, 30, 30)))
    queue_job(window, "from the red canvas")
    window.canvas.set_image(canvas_of((30, 30, 200)))  # the artist goes on: the queued job keeps its red snapshot
    queue_job(window, "from the blue canvas")
    window.close()
    assert sorted(path.name for path in (studio_home() / "queue").glob("*.png"))  # snapshots kept on disk

    again = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, again)
    jobs = again.queue.jobs
    assert [job.request.prompt for job in jobs][-2:] == ["from the red canvas", "from the blue canvas"]
    assert again.queue.paused and again.queue_panel.pause_button.text() == "Resume"
    assert f"{len(jobs)} queued jobs came back, paused" in again.message_bar.text() and again.queue_panel.isVisible()
    assert all(job.state is JobState.WAITING for job in jobs) and not again.session.busy
    red, blue = jobs[-2], jobs[-1]
    assert red.source.pixelColor(5, 5) == QColor(200, 30, 30) and blue.source.pixelColor(5, 5) == QColor(30, 30, 200)
    assert again.queue_panel.model.rowCount() == len(jobs)
    already = len(saved_recipes())  # "from text" if it was saved before the window closed, else none

    again.queue_panel.pause_button.click()  # resume
    wait_drained(qtbot, again)
    recipes = saved_recipes()
    assert [recipe.prompt for recipe in recipes][-2:] == ["from the red canvas", "from the blue canvas"]
    assert len(recipes) == already + len(jobs)
    assert [recipe.mode for recipe in recipes[-2:]] == ["img2img", "img2img"]
    assert [recipe.seed for recipe in recipes[-2:]] == [red.request.seed, blue.request.seed]
    # Done jobs leave no snapshot behind (written in the queue's own thread, so just after).
    qtbot.waitUntil(lambda: not list((studio_home() / "queue").glob("*.png")), timeout=DRAIN_TIMEOUT)


def test_a_failing_job_is_marked_failed_and_the_next_one_runs(tiny_window, qtbot):
    window = tiny_window
    window.params.steps_spin.setValue(2)
    queue_job(window, "<lora:nowhere:1> a cat")
    queue_job(window, "a dog")
    window.queue_panel.close()  # the artist closed it: a failure brings it back
    wait_drained(qtbot, window)
    assert window.queue_panel.isVisible()
    assert [recipe.prompt for recipe in saved_recipes()] == ["a dog"]
    model, panel = window.queue_panel.model, window.queue_panel
    assert model.rowCount() == 1
    [failed] = window.queue.jobs
    assert failed.state is JobState.FAILED and "nowhere" in failed.failure
    assert failed.failure in model.index(0).data(Qt.ItemDataRole.ToolTipRole)

    panel.view.setCurrentIndex(model.index(0))
    assert panel.retry_button.isEnabled()
    panel.retry_button.click()
    assert window.queue.jobs[0].state is JobState.RUNNING
    wait_drained(qtbot, window)
    assert window.queue.jobs[0].state is JobState.FAILED and len(saved_recipes()) == 1


def test_run_n_times_queues_n_jobs_with_successive_seeds(tiny_window, qtbot):
    window = tiny_window
    p = window.params
    p.steps_spin.setValue(2)
    p.random_seed_check.setChecked(False)
    p.seed_spin.setValue(100)
    p.batch_spin.setValue(2)
    p.runs_spin.setValue(3)
    queue_job(window, "a tower")
    assert [job.request.seed for job in window.queue.jobs] == [100, 102, 104]
    wait_drained(qtbot, window)
    assert [recipe.seed for recipe in saved_recipes()] == [100, 101, 102, 103, 104, 105]


@pytest.fixture
def restored_jobs_of_another_model(open_window, tiny_sd_dir, tmp_path, qtbot):
    """Three jobs queued with a copy of the tiny model (``queued-model``) in a window closed before they ran, and the
    window opened again on the tiny model itself: (the copy, the new window), with the jobs restored paused (their
    model is loaded when they are resumed)."""
    queued = tmp_path / "queued-model"
    shutil.copytree(tiny_sd_dir, queued)
    window = open_window(str(queued))
    wait_ready(qtbot, window)
    window.params.set_size(64, 64)
    window.params.steps_spin.setValue(2)
    for prompt in ("one", "two", "three"):
        queue_job(window, prompt)
    window.close()
    again = open_window(str(tiny_sd_dir))  # another model now
    wait_ready(qtbot, again)
    return queued, again


def test_a_job_runs_with_the_model_it_was_queued_with(restored_jobs_of_another_model, qtbot):
    queued, again = restored_jobs_of_another_model
    jobs = again.queue.jobs
    assert jobs and all(job.model == str(queued) for job in jobs)
    assert "Model: queued-model" in again.queue_panel.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    already = len(saved_recipes())
    again.queue_panel.pause_button.click()  # resume: the queue loads the jobs' model first
    wait_drained(qtbot, again)
    recipes = saved_recipes()[already:]
    assert len(recipes) == len(jobs) and {recipe.model for recipe in recipes} == {"queued-model"}
    assert again.session.model_source == str(queued) and again.generate_button.isEnabled()


def test_a_job_whose_model_is_gone_fails_with_a_sentence_and_the_model_in_use_stays(restored_jobs_of_another_model,
                                                                                    tiny_sd_dir, qtbot):
    queued, again = restored_jobs_of_another_model
    shutil.rmtree(queued)
    waiting = len(again.queue.jobs)
    already = len(saved_recipes())
    again.queue_panel.pause_button.click()
    wait_drained(qtbot, again)
    assert len(again.queue.jobs) == waiting and len(saved_recipes()) == already  # each failed, none ran elsewhere
    assert all(job.failure == "Its model (queued-model) could not be loaded." for job in again.queue.jobs)
    qtbot.waitUntil(lambda: again.generate_button.isEnabled(), timeout=DRAIN_TIMEOUT)
    assert again.session.model_source == str(tiny_sd_dir)
