"""The progress bar: step i/N, speed and time left."""

from PySide6.QtWidgets import QProgressBar, QWidget

from studio.session import Progress


def describe(progress: Progress) -> str:
    step = f"Step {progress.step}/{progress.total}"
    parts = [f"{step} (strength {progress.strength:g})" if progress.strength else step]
    if progress.rate:
        # Slow machines take seconds per step; "0.1 it/s" reads worse than "9.8 s/it".
        parts.append(f"{progress.rate:.1f} it/s" if progress.rate >= 1 else f"{1 / progress.rate:.1f} s/it")
    if progress.step == progress.total:
        parts.append(f"done in {_duration(progress.elapsed)}")
    elif progress.eta is not None:
        parts.append(f"ETA {_duration(progress.eta)}")
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


class GenerationProgressBar(QProgressBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("progressBar")
        self.setTextVisible(True)
        self.show_idle("")

    def show_idle(self, text: str) -> None:
        if self.maximum() == 0:
            # Fusion keeps animating a bar that was busy until it paints it complete once;
            # left running, that animation costs the generation thread CPU time.
            self.setRange(0, 1)
            self.setValue(1)
            self.repaint()
        self.setRange(0, 1)
        self.setValue(0)
        self.setFormat(text)
        self._waiting = False

    def show_busy(self, text: str) -> None:
        """Work of unknown length and no competing computation (a model load): a busy indicator."""
        self.setRange(0, 0)
        self.setFormat(text)

    def show_waiting(self, text: str) -> None:
        """Before the first step: a still bar, because an animated one slows the first step down."""
        self.show_idle(text)
        self._waiting = True

    @property
    def waiting(self) -> bool:
        return self._waiting

    def show_progress(self, progress: Progress) -> None:
        self._waiting = False
        self.setToolTip(
            f"At strength {progress.strength:g}, {progress.total} of the {progress.asked} steps run: a lower strength "
            "starts later in the schedule and keeps more of the image."
            if progress.strength and progress.asked else ""
        )
        self.setRange(0, progress.total)
        self.setValue(progress.step)
        self.setFormat(describe(progress))
