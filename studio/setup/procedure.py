"""The set-up from start to end, for the window and the command line alike: look at the machine, then
check, install, verify and record one build."""

import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.core.errors import StudioError
from studio.setup import journal
from studio.setup.builds import Build, Proposal, propose
from studio.setup.checks import DiskUsage, local_wheels, preflight
from studio.setup.hardware import Hardware
from studio.setup.installed import Fit, InstalledTorch, assess, installed_torch
from studio.setup.installer import VERIFYING, InstallPlan, Progress, SetupCancelled, run_uv
from studio.setup.probes import detect
from studio.setup.requirements import engine_requirements
from studio.setup.verify import Verified, verify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Situation:
    """What the set-up found: the hardware, the build it proposes, the torch there is and whether it fits."""

    hardware: Hardware
    proposal: Proposal
    installed: InstalledTorch | None
    fit: Fit
    record: journal.Record | None = None

    @property
    def interrupted(self) -> bool:
        """The last install was cut off after it started changing the environment (or never got verified)."""
        return self.record is not None and self.record.status == journal.INSTALLING

    @property
    def declined(self) -> bool:
        """The user chose to keep this torch although it does not fit."""
        return bool(self.installed and self.record and self.record.declined == self.installed.version)

    @property
    def needs_setup(self) -> bool:
        return self.interrupted or (not self.fit.ok and not self.declined)

    def explain(self) -> str:
        if self.interrupted:
            return (f"The last set-up of the {self.record.build} build was interrupted: run it again to finish it "
                    "(what was downloaded is reused).")
        return self.fit.reason


def look(*, detect_hardware: Callable[[], Hardware] = detect) -> Situation:
    """Probe the machine (bounded in time) and compare with the installed torch. Never imports torch."""
    hardware = detect_hardware()
    proposal = propose(hardware)
    installed = installed_torch()
    situation = Situation(hardware, proposal, installed, assess(installed, hardware, proposal), journal.read_record())
    log.info("Set-up: %s; proposes %s (%s); %s", hardware.describe(), proposal.build and proposal.build.name,
             proposal.reason, situation.explain())
    return situation


def keep_current(installed: InstalledTorch) -> None:
    """Remember that the user keeps this torch, so the next start does not ask again."""
    journal.write_record(journal.Record("", journal.KEPT, torch=installed.version, declined=installed.version))


def find_uv() -> str:
    try:
        import uv
    except ImportError as exc:
        raise StudioError("The uv package is missing from Latent Studio's environment: reinstall Latent Studio.") from exc
    return uv.find_uv_bin()


def install(build: Build, hardware: Hardware, *, on_progress: Callable[[Progress], None],
            cancel: threading.Event | None = None, python: str = sys.executable, uv: str | None = None,
            wheels: Path | None = None, disk_usage: DiskUsage | None = None) -> Verified:
    """Check, install, verify ``build`` into ``python``'s environment. Raises StudioError (one sentence) or
    SetupCancelled; either way the record says the install is unfinished and a retry resumes it."""
    cancel = cancel or threading.Event()
    wheels = wheels if wheels is not None else local_wheels()
    cache_dir = journal.uv_cache_dir()
    env_dir = Path(sys.prefix) if python == sys.executable else Path(python).parent.parent
    extra = {"disk_usage": disk_usage} if disk_usage else {}
    checks = preflight(build, hardware, env_dir=env_dir, cache_dir=cache_dir, wheels=wheels, **extra)
    for check in checks:
        log.info("Set-up check (%s): %s", "blocking" if check.blocking else "note", check.sentence)
    blocking = [check.sentence for check in checks if check.blocking]
    if blocking:
        raise StudioError(blocking[0])
    installed = installed_torch() if python == sys.executable else None
    plan = InstallPlan(build, python, uv or find_uv(), cache_dir, tuple(engine_requirements()), wheels,
                       reinstall=installed is not None and installed.version == build.torch,
                       total_mb=build.sizes(hardware.system)[1])
    journal.write_record(journal.Record(build.name, journal.INSTALLING))
    try:
        run_uv(plan, on_progress, cancel)
        on_progress(Progress(VERIFYING, cancellable=False))
        verified = verify(python, build.accelerator, build.torch)
    except SetupCancelled:
        journal.write_record(journal.Record(build.name, journal.FAILED, message="cancelled"))
        raise
    except StudioError as exc:
        journal.write_record(journal.Record(build.name, journal.FAILED, message=str(exc)))
        raise
    journal.write_record(journal.Record(build.name, journal.VERIFIED, torch=verified.torch, device=verified.device))
    _empty_cache(plan)
    return verified


def _empty_cache(plan: InstallPlan) -> None:
    """After a verified install the cached wheels are only a second copy (when the cache is on another disk)."""
    try:
        subprocess.run([plan.uv, "cache", "clean", "--cache-dir", str(plan.cache_dir)], capture_output=True,
                       timeout=300, stdin=subprocess.DEVNULL, creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    except (OSError, subprocess.TimeoutExpired):
        log.warning("Could not empty the set-up's download cache %s", plan.cache_dir, exc_info=True)
