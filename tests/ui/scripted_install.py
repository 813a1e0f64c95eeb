"""A scripted stand-in for an install (the PyTorch set-up's, OpenVINO's), for pure UI behaviour: the real ones
are tested in tests/test_setup_install.py and tests/test_setup_openvino.py."""

import threading
from collections.abc import Callable

from studio.setup.installer import INSTALLING, SetupCancelled, Progress

WAIT_FOR_CANCEL = "wait-for-cancel"


class ScriptedInstall:
    """Each call reports ``progress``, then plays the next outcome: WAIT_FOR_CANCEL (until cancel is set, then
    SetupCancelled), an exception to raise, or a function of the call's arguments whose value it returns."""

    def __init__(self, progress: Progress, *outcomes: str | Exception | Callable[..., object]) -> None:
        self.progress = progress
        self.outcomes = list(outcomes)
        self.calls: list[tuple[tuple, dict]] = []  # the arguments of each call, on_progress and cancel left out

    def __call__(self, *args, on_progress: Callable[[Progress], None], cancel: threading.Event, **kwargs):
        self.calls.append((args, kwargs))
        on_progress(self.progress)
        outcome = self.outcomes.pop(0)
        if outcome == WAIT_FOR_CANCEL:
            while not cancel.wait(0.01):
                pass
            raise SetupCancelled()
        if isinstance(outcome, Exception):
            raise outcome
        on_progress(Progress(INSTALLING, self.progress.total_mb, self.progress.total_mb, cancellable=False,
                             what=self.progress.what))
        return outcome(*args, **kwargs)
