"""The session model on a scripted engine: state, progress, saving before showing, cancel, errors, shutdown."""

import threading

import pytest

from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir
from studio.core.request import GenerationRequest
from studio.session import ModelState, Session
from studio.session.progress import ProgressClock
from tests.ui.fakes import FakeEngine
from tests.ui.fixtures import qloop  # noqa: F401

TIMEOUT = 10_000


@pytest.fixture
def make_session(qtbot, qloop):  # noqa: F811
    sessions = []

    def make(engine=None) -> Session:
        session = Session(lambda: engine or FakeEngine())
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.shutdown()


def ready(qtbot, session, source="/models/tiny"):
    with qtbot.waitSignal(session.model_info_changed, timeout=TIMEOUT, check_params_cb=lambda info: info is not None):
        session.load_model(source)
    assert session.model_state is ModelState.READY
    return session


def test_generate_is_blocked_until_a_model_is_ready(qtbot, make_session):
    session = make_session()
    assert session.generate_blocker() == "Choose a model first."
    assert not session.generate(GenerationRequest("x", width=64, height=64))
    states = []
    session.model_state_changed.connect(states.append)
    ready(qtbot, session)
    assert states == [ModelState.LOADING, ModelState.READY]
    assert session.generate_blocker() is None
    assert "tiny" in session.status


def test_results_are_saved_before_they_are_published(qtbot, make_session):
    session = ready(qtbot, make_session())
    previews, progress, threads = [], [], set()
    session.preview.connect(previews.append)
    session.preview.connect(lambda _: threads.add(threading.current_thread()))  # state changes on the GUI thread
    session.progress_changed.connect(progress.append)
    seen_on_disk = []
    session.results_changed.connect(lambda results: seen_on_disk.extend(r.path.is_file() for r in results))
    with qtbot.waitSignal(session.busy_changed, timeout=TIMEOUT, check_params_cb=lambda busy: not busy):
        assert session.generate(GenerationRequest("a fox", seed=7, steps=4, width=64, height=64, batch_size=2))
    assert len(previews) == 4 and not previews[-1].isNull()
    assert threads == {threading.main_thread()}
    assert [p.step for p in progress] == [1, 2, 3, 4] and progress[-1].total == 4
    assert seen_on_disk == [True, True]
    assert [r.recipe.seed for r in session.results] == [7, 8]
    assert read_recipe(session.results[1].path).seed == 8
    assert session.last_seed == 7


def test_random_seed_is_chosen_before_the_run_and_remembered(qtbot, make_session):
    session = ready(qtbot, make_session())
    with qtbot.waitSignal(session.results_changed, timeout=TIMEOUT):
        session.generate(GenerationRequest("x", steps=1, width=64, height=64))
    assert session.last_seed == session.results[0].recipe.seed


def test_cancel_writes_nothing_and_the_next_run_works(qtbot, make_session):
    gate = threading.Event()
    session = ready(qtbot, make_session(FakeEngine(gate=gate)))
    session.preview.connect(lambda _: session.cancel())
    gate.set()
    with qtbot.waitSignal(session.cancelled, timeout=TIMEOUT):
        session.generate(GenerationRequest("x", steps=50, width=64, height=64))
    assert not session.busy and list(outputs_dir().iterdir()) == []
    session.preview.disconnect()
    with qtbot.waitSignal(session.results_changed, timeout=TIMEOUT):
        assert session.generate(GenerationRequest("x", steps=2, width=64, height=64))
    assert len(list(outputs_dir().iterdir())) == 1


def test_a_failed_load_reports_one_sentence_and_a_retry_works(qtbot, make_session):
    session = make_session()
    with qtbot.waitSignal(session.error, timeout=TIMEOUT) as blocker:
        session.load_model("/models/broken")
    assert "incomplete or damaged" in blocker.args[0]
    assert session.model_state is ModelState.FAILED
    assert "could not be loaded" in session.generate_blocker()
    ready(qtbot, session, "/models/good")


def test_a_bad_request_is_refused_with_a_message(qtbot, make_session):
    session = ready(qtbot, make_session())
    with qtbot.waitSignal(session.error, timeout=TIMEOUT) as blocker:
        assert not session.generate(GenerationRequest("x", width=65, height=64))
    assert "multiple of 8" in blocker.args[0]
    assert not session.busy


def test_a_hub_model_that_cannot_be_downloaded_fails_cleanly(qtbot, make_session):
    session = make_session()
    states = []
    session.model_state_changed.connect(states.append)
    with qtbot.waitSignal(session.error, timeout=TIMEOUT) as blocker:
        session.load_model("nobody/not-a-model")  # HF_HUB_OFFLINE is set by the test harness
    assert "could not be downloaded" in blocker.args[0]
    assert states == [ModelState.DOWNLOADING, ModelState.FAILED]


def test_shutdown_during_a_run_cancels_and_stops_the_thread(qtbot, make_session):
    gate = threading.Event()
    session = ready(qtbot, make_session(FakeEngine(gate=gate)))
    assert session.generate(GenerationRequest("x", steps=500, width=64, height=64))
    gate.set()
    qtbot.waitUntil(lambda: session.progress is not None, timeout=TIMEOUT)
    session.shutdown()
    assert not session._engine._thread.isRunning()
    assert list(outputs_dir().iterdir()) == []


def test_progress_rate_is_measured_from_the_first_step():
    times = iter([0.0, 5.0, 6.0, 6.5])  # start, then three steps; 5 s of warm-up before the first
    clock = ProgressClock(lambda: next(times))
    first = clock.update(1, 5)
    assert first.rate == pytest.approx(0.2)
    assert clock.update(2, 5).rate == pytest.approx(1.0)
    third = clock.update(3, 5)
    assert third.rate == pytest.approx(2 / 1.5) and third.eta == pytest.approx(1.5)


def test_a_hub_model_is_downloaded_off_the_gui_thread_then_loaded(qtbot, make_session, monkeypatch):
    from studio.session import session as session_module

    downloads = []

    def fake_download(repo_id):
        downloads.append((repo_id, threading.current_thread() is threading.main_thread()))
        return "/cache/models--owner--model"

    monkeypatch.setattr(session_module, "download_model", fake_download)
    session = make_session()
    states = []
    session.model_state_changed.connect(states.append)
    ready(qtbot, session, "owner/model")
    assert downloads == [("owner/model", False)]
    assert states == [ModelState.DOWNLOADING, ModelState.LOADING, ModelState.READY]
    assert session.model_info.source == "owner/model"  # the engine loads the id, now from the hub cache


def test_a_newer_choice_wins_over_a_download_in_progress(qtbot, make_session, monkeypatch):
    from studio.session import session as session_module

    release = threading.Event()
    monkeypatch.setattr(session_module, "download_model", lambda repo_id: release.wait(5))
    session = make_session()
    session.load_model("owner/slow-model")
    assert session.model_state is ModelState.DOWNLOADING
    ready(qtbot, session, "/models/local")
    release.set()
    qtbot.wait(100)
    assert session.model_source == "/models/local" and session.model_info.source == "/models/local"
    assert session.model_state is ModelState.READY


def test_only_the_last_of_several_queued_loads_counts(qtbot, make_session):
    session = make_session()
    infos = []
    session.model_info_changed.connect(infos.append)
    session.load_model("/models/broken")  # fails, but a newer load is already queued behind it
    errors = []
    session.error.connect(errors.append)
    ready(qtbot, session, "/models/good")
    assert errors == [] and [i.source for i in infos if i] == ["/models/good"]


def test_a_canvas_image_is_fitted_off_the_gui_thread_and_results_come_back_at_its_size(qtbot, make_session,
                                                                                        monkeypatch):
    from PySide6.QtGui import QColor, QImage

    from studio.session import session as session_module

    engine = FakeEngine()
    session = ready(qtbot, make_session(engine))
    threads = []
    prepare = session_module.prepare_job
    monkeypatch.setattr(session_module, "prepare_job",
                        lambda *a, **k: (threads.append(threading.current_thread()), prepare(*a, **k))[1])
    source = QImage(1000, 700, QImage.Format.Format_RGB32)
    source.fill(QColor(10, 20, 30))
    mask = QImage(1000, 700, QImage.Format.Format_Grayscale8)
    mask.fill(0)
    mask.setPixelColor(500, 300, QColor(255, 255, 255))
    with qtbot.waitSignal(session.results_changed, timeout=TIMEOUT):
        assert session.generate(GenerationRequest("x", steps=2), source, mask, only_masked=True, padding=16)
    assert threads and threads[0] is not threading.main_thread()
    sent = engine.requests[-1]
    left, top, right, bottom = session.preview_box
    assert left < 500 < right and top < 300 < bottom and right - left < 300
    assert sent.mask is not None and (sent.width, sent.height) == (512, 512)  # the small crop at the model's size
    assert session.results[0].image.size().toTuple() == (1000, 700)


def test_cancel_while_the_canvas_image_is_prepared_never_starts_the_engine(qtbot, make_session, monkeypatch):
    from PySide6.QtGui import QImage

    from studio.session import session as session_module

    engine = FakeEngine()
    session = ready(qtbot, make_session(engine))
    release = threading.Event()
    prepare = session_module.prepare_job
    monkeypatch.setattr(session_module, "prepare_job", lambda *a, **k: (release.wait(5), prepare(*a, **k))[1])
    source = QImage(64, 64, QImage.Format.Format_RGB32)
    source.fill(0)
    with qtbot.waitSignal(session.cancelled, timeout=TIMEOUT):
        assert session.generate(GenerationRequest("x", steps=2), source)
        session.cancel()
        release.set()
    assert not session.busy and engine.requests == [] and list(outputs_dir().iterdir()) == []
