"""The set-up from start to end, for the window and the command line alike: look at the machine, then
check, install, verify and record one build, and OpenVINO with it when asked."""

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.core.errors import StudioError
from studio.setup import journal
from studio.setup.builds import Build, Proposal, propose
from studio.setup.checks import DiskUsage, environment_dir, local_wheels, preflight
from studio.setup.hardware import Hardware
from studio.setup.installed import Fit, InstalledTorch, assess, installed_torch
from studio.setup.installer import VERIFYING, InstallPlan, Progress, SetupCancelled, empty_cache, find_uv, run_uv
from studio.setup.openvino_install import install_openvino
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


def install(build: Build, hardware: Hardware, *, on_progress: Callable[[Progress], None],
            cancel: threading.Event | None = None, python: str = sys.executable, uv: str | None = None,
            wheels: Path | None = None, disk_usage: DiskUsage | None = None) -> Verified:
    """Check, install, verify ``build`` into ``python``'s environment. Raises StudioError (one sentence) or
    SetupCancelled; either way the record says the install is unfinished and a retry resumes it."""
    cancel = cancel or threading.Event()
    wheels = wheels if wheels is not None else local_wheels()
    cache_dir = journal.uv_cache_dir()
    extra = {"disk_usage": disk_usage} if disk_usage else {}
    checks = preflight(build, hardware, env_dir=environment_dir(python), cache_dir=cache_dir, wheels=wheels, **extra)
    for check in checks:
        log.info("Set-up check (%s): %s", "blocking" if check.blocking else "note", check.sentence)
    blocking = [check.sentence for check in checks if check.blocking]
    if blocking:
        raise StudioError(blocking[0])
    installed = installed_torch() if python == sys.executable else None
    plan = torch_plan(build, python, uv or find_uv(), cache_dir, wheels,
                      reinstall=installed is not None and installed.version == build.torch,
                      total_mb=build.sizes(hardware.system)[1])
    journal.write_record(journal.Record(build.name, journal.INSTALLING))
    try:
        run_uv(plan, on_progress, cancel)
        on_progress(Progress(VERIFYING, cancellable=False, what=plan.what))
        verified = verify(python, build.accelerator, build.torch)
    except SetupCancelled:
        journal.write_record(journal.Record(build.name, journal.FAILED, message="cancelled"))
        raise
    except StudioError as exc:
        journal.write_record(journal.Record(build.name, journal.FAILED, message=str(exc)))
        raise
    journal.write_record(journal.Record(build.name, journal.VERIFIED, torch=verified.torch, device=verified.device))
    empty_cache(plan)
    return verified


def torch_plan(build: Build, python: str, uv: str, cache_dir: Path, wheels: Path | None = None, *,
               reinstall: bool = False, total_mb: float = 0.0) -> InstallPlan:
    """``torch==<the build's exact version>`` and the rest of the engine extra, from the build's index (uv's
    ``--torch-backend``, so torch's other packages still come from PyPI) or from a local wheel folder."""
    if wheels is not None:
        source: tuple[str, ...] = ("--find-links", str(wheels))
    elif build.uses_torch_backend:
        source = ("--torch-backend", build.name)  # torch and its CUDA/ROCm packages from build.index_url
    else:
        source = ()
    return InstallPlan("PyTorch", (f"torch=={build.torch}", *engine_requirements()), python, uv, cache_dir, source,
                       str(wheels) if wheels is not None else build.index_url,
                       reinstall=("torch",) if reinstall else (), total_mb=total_mb)


@dataclass(frozen=True)
class SetUp:
    """What a set-up installed: the verified torch, and OpenVINO when it was asked for."""

    verified: Verified
    openvino: str = ""  # the OpenVINO version installed with it
    openvino_problem: str = ""  # one sentence: why OpenVINO was not installed (torch is, all the same)


def set_up(build: Build, hardware: Hardware, *, on_progress: Callable[[Progress], None],
           cancel: threading.Event | None = None, openvino: bool = False, python: str = sys.executable,
           uv: str | None = None, wheels: Path | None = None) -> SetUp:
    """``install`` the build, then, when asked, OpenVINO as a second uv run: its failure or cancel leaves the
    verified torch in place and is told in ``openvino_problem``."""
    cancel = cancel or threading.Event()
    verified = install(build, hardware, on_progress=on_progress, cancel=cancel, python=python, uv=uv, wheels=wheels)
    if not openvino:
        return SetUp(verified)
    try:
        version = install_openvino(on_progress=on_progress, cancel=cancel, python=python, uv=uv, wheels=wheels)
    except SetupCancelled:
        return SetUp(verified, openvino_problem="The OpenVINO install was cancelled; nothing of it was installed.")
    except StudioError as exc:
        return SetUp(verified, openvino_problem=str(exc))
    return SetUp(verified, version)
