"""Running uv: ``uv pip install <packages>`` into the app's environment, with progress and cancel. The set-up
installs ``torch==<exact build>`` and the rest of the engine extra this way, and OpenVINO (the optional backend).

uv resolves, then downloads and unpacks every wheel into its cache, and only then touches the environment
(uninstall the old build, hard-link the new one: seconds). So cancelling or losing the network while
downloading leaves the environment as it was, and a retry reuses every wheel already in the cache. Cancel
is refused only during that last linking step. uv shows no progress bars when its output is a pipe, so the
progress is measured: the bytes its cache grows by (unpacked sizes), against the packages' installed size.
"""

import logging
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.errors import StudioError

log = logging.getLogger(__name__)

RESOLVING, DOWNLOADING, INSTALLING, VERIFYING = "resolving", "downloading", "installing", "verifying"


class SetupCancelled(Exception):
    """The user cancelled while downloading: the environment is unchanged, the cache keeps what arrived."""


@dataclass(frozen=True)
class Progress:
    phase: str
    done_mb: float = 0.0
    total_mb: float = 0.0  # an estimate (the packages' unpacked size)
    speed_mb_s: float | None = None
    eta_s: float | None = None
    cancellable: bool = True
    what: str = "PyTorch"  # what is being installed, as the user reads it

    def describe(self) -> str:
        if self.phase == RESOLVING:
            return f"Finding the packages for {self.what}…"
        if self.phase == INSTALLING:
            return f"Installing {self.what} into Latent Studio's environment (a few seconds)…"
        if self.phase == VERIFYING:
            return f"Checking that {self.what} works…"
        text = f"Downloading and unpacking {self.what}: {self.done_mb:,.0f} of about {self.total_mb:,.0f} MB"
        if self.speed_mb_s:
            text += f" · {self.speed_mb_s:,.1f} MB/s"
        if self.eta_s is not None:
            text += f" · about {_duration(self.eta_s)} left"
        return text


@dataclass(frozen=True)
class InstallPlan:
    what: str  # "PyTorch", "OpenVINO": for progress and sentences
    packages: tuple[str, ...]  # requirements as uv takes them, the main one first: "torch==2.13.0+cpu", ...
    python: str  # the environment's interpreter: the app's own, sys.executable
    uv: str
    cache_dir: Path
    source_options: tuple[str, ...] = ()  # where from: ("--torch-backend", "cu130"), ("--find-links", DIR); () PyPI
    source: str = "PyPI"  # the same, as the user reads it
    reinstall: tuple[str, ...] = ()  # packages that are there but broken: link them again
    total_mb: float = 0.0  # their installed size (estimate), for the progress
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def command(self) -> list[str]:
        command = [self.uv, "pip", "install", "--python", self.python, "--cache-dir", str(self.cache_dir),
                   *self.packages, *self.source_options]
        for name in self.reinstall:
            command += ["--reinstall-package", name]
        return command


def run_uv(plan: InstallPlan, on_progress: Callable[[Progress], None], cancel: threading.Event, *,
           poll_s: float = 0.5) -> None:
    """Run the install; raise SetupCancelled, or StudioError with one sentence (uv's output goes to the log)."""
    plan.cache_dir.mkdir(parents=True, exist_ok=True)
    log.info("Running %s", " ".join(plan.command()))
    process = subprocess.Popen(plan.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               encoding="utf-8", errors="replace", stdin=subprocess.DEVNULL, env=plan.environ,
                               creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    output: list[str] = []
    phase = [RESOLVING]

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            output.append(line)
            log.info("uv: %s", line)
            if line.startswith("Resolved"):
                phase[0] = DOWNLOADING
            elif line.startswith(("Prepared", "Uninstalled", "Installed", "Checked")):
                phase[0] = INSTALLING

    reader = threading.Thread(target=read, name="uv-output", daemon=True)
    reader.start()
    meter = _Meter(plan.cache_dir, plan.total_mb, plan.what)
    while True:
        try:
            process.wait(timeout=poll_s)
            break
        except subprocess.TimeoutExpired:
            pass
        if cancel.is_set() and phase[0] != INSTALLING:
            process.terminate()
            process.wait()
            reader.join(timeout=5)
            log.info("The install was cancelled while %s", phase[0])
            raise SetupCancelled()
        on_progress(meter.progress(phase[0]))
    reader.join(timeout=5)
    if process.returncode != 0:
        raise StudioError(explain_failure(output, plan))
    on_progress(Progress(INSTALLING, plan.total_mb, plan.total_mb, cancellable=False, what=plan.what))


def empty_cache(plan: InstallPlan, *names: str) -> None:
    """After a verified install the cached wheels are only a second copy (when the cache is on another disk):
    remove the packages ``names`` from the cache, or everything when none are given."""
    try:
        subprocess.run([plan.uv, "cache", "clean", *names, "--cache-dir", str(plan.cache_dir)], capture_output=True,
                       timeout=300, stdin=subprocess.DEVNULL, creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    except (OSError, subprocess.TimeoutExpired):
        log.warning("Could not empty the set-up's download cache %s", plan.cache_dir, exc_info=True)


def find_uv() -> str:
    try:
        import uv
    except ImportError as exc:
        raise StudioError("The uv package is missing from Latent Studio's environment: reinstall Latent Studio.") from exc
    return uv.find_uv_bin()


class _Meter:
    def __init__(self, folder: Path, total_mb: float, what: str) -> None:
        self.folder = folder
        self.total_mb = total_mb
        self.what = what
        self.start_bytes = folder_size(folder)
        self.last: tuple[float, int] = (time.monotonic(), self.start_bytes)
        self.speed: float | None = None

    def progress(self, phase: str) -> Progress:
        now, size = time.monotonic(), folder_size(self.folder)
        then, before = self.last
        if now > then:
            rate = max(size - before, 0) / 1e6 / (now - then)
            self.speed = rate if self.speed is None else 0.7 * self.speed + 0.3 * rate
        self.last = (now, size)
        done = max(size - self.start_bytes, 0) / 1e6
        eta = (self.total_mb - done) / self.speed if self.speed and self.total_mb > done else None
        return Progress(phase, done, max(self.total_mb, done), self.speed, eta, cancellable=phase != INSTALLING,
                        what=self.what)


def folder_size(folder: Path) -> int:
    total, stack = 0, [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        pass  # uv renames and removes its temporary files as it goes
        except OSError:
            pass
    return total


_NETWORK = ("failed to fetch", "error sending request", "dns error", "connection refused", "tcp connect error",
            "network is unreachable", "tunnel error", "timed out", "could not connect", "failed to download",
            "connection reset", "no route to host")
_NO_SPACE = ("no space left on device", "os error 28", "os error 112", "not enough space on the disk")
_IN_USE = ("os error 5)", "os error 32", "access is denied", "being used by another process")
_NOT_FOUND = ("no solution found", "there is no version of", "no matching distribution", "not found in the")


def explain_failure(output: list[str], plan: InstallPlan) -> str:
    """uv's output -> the one sentence the user sees."""
    text = "\n".join(output).lower()
    if any(key in text for key in _NO_SPACE):
        return (f"The disk filled up during the {plan.what} install: free some space and try again (what was "
                "already downloaded is kept).")
    if any(key in text for key in _IN_USE):
        return (f"{plan.what}'s files are in use by a running program: close Latent Studio's other windows and "
                "programs using its Python, then try again.")
    if any(key in text for key in _NETWORK):
        host = re.search(r"https?://([^/\s:]+)", "\n".join(output))
        where = host[1] if host else "the package index"
        return (f"{plan.what} could not be downloaded: {where} cannot be reached (check the network connection or "
                "the proxy settings); nothing was changed, so it can simply be tried again.")
    if any(key in text for key in _NOT_FOUND):
        return f"{plan.packages[0].replace('==', ' ')} is not available for this Python and system from {plan.source}."
    if "permission denied" in text or "os error 13" in text:
        return (f"Latent Studio's environment cannot be written ({plan.python}): run Latent Studio as the user who "
                "installed it.")
    errors = [line for line in output if line.lower().startswith("error")] or output[-1:] or ["no output"]
    return f"The {plan.what} install failed ({errors[-1][:200]}); details in the log."


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(round(seconds), 1)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
