"""The engine waits at this gate until the set-up says torch is ready, so the engine (and torch) never starts on
an environment that has none, or the wrong one. The window is up meanwhile: only the engine thread waits."""

import threading
from collections.abc import Callable
from typing import TypeVar

from studio.core.errors import StudioError

T = TypeVar("T")


class EngineGate:
    def __init__(self) -> None:
        self._decided = threading.Event()
        self._refusal: str | None = None

    @property
    def is_open(self) -> bool:
        return self._decided.is_set() and self._refusal is None

    def open(self) -> None:
        self._refusal = None
        self._decided.set()

    def refuse(self, sentence: str) -> None:
        """Let waiting engine starts fail with ``sentence`` (PyTorch is not set up, or the app is closing)."""
        if not self.is_open:
            self._refusal = sentence
            self._decided.set()

    def guard(self, make_engine: Callable[[], T]) -> Callable[[], T]:
        def gated() -> T:
            self._decided.wait()
            if self._refusal is not None:
                raise StudioError(self._refusal)
            return make_engine()
        return gated
