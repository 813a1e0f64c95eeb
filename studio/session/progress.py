"""Step progress with a rate and an ETA, measured from the first step on.

The time before the first step (prompt encoding, a first-call warm-up) says nothing about how long the
remaining steps take, so the rate is measured between steps once there are two of them.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from studio.core.steps import StepPlan


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    rate: float | None = None  # steps per second
    eta: float | None = None  # seconds left
    elapsed: float = 0.0  # seconds since the generation started
    strength: float | None = None  # image-to-image strength when it makes the run shorter than the steps asked
    asked: int | None = None  # the steps asked, when more than ``total`` run

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 0.0


class ProgressClock:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.start()

    def start(self) -> None:
        self._started = self._clock()
        self._first: tuple[int, float] | None = None

    def update(self, step: int, total: int, plan: StepPlan | None = None) -> Progress:
        """``step`` of ``total`` as the sampler counts them; with a ``plan``, reported in the user's steps."""
        if plan is not None:
            step, total = plan.step(step, total), plan.runs
        now = self._clock()
        if self._first is None:
            self._first = (step, now)
        first_step, first_time = self._first
        if step > first_step and now > first_time:
            rate = (step - first_step) / (now - first_time)
        elif now > self._started:
            rate = step / (now - self._started)
        else:
            rate = None
        eta = (total - step) / rate if rate else None
        strength = plan.strength if plan is not None else None
        return Progress(step, total, rate, eta, now - self._started, strength, plan.asked if strength else None)
