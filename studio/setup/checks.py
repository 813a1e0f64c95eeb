"""Checks before anything is downloaded: the build exists for this machine, the NVIDIA driver is new enough,
the disk has room, the local wheel folder (``STUDIO_TORCH_WHEELS``) holds the wheel. Each problem is one
sentence; ``blocking`` ones stop the install, the others are shown as they are."""

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.setup.builds import Build, platform_machine, driver_allows, required_driver
from studio.setup.hardware import Hardware
from studio.setup.probes import proxy_settings

WHEELS_ENV = "STUDIO_TORCH_WHEELS"
SPARE_MB = 500  # room left over for the models' cache, logs, the next autosave


@dataclass(frozen=True)
class Check:
    sentence: str
    blocking: bool


DiskUsage = Callable[[Path], tuple[int, int, int]]  # shutil.disk_usage's (total, used, free)


def local_wheels(environ: dict[str, str] | None = None) -> Path | None:
    value = (os.environ if environ is None else environ).get(WHEELS_ENV, "").strip()
    return Path(value).expanduser() if value else None


def environment_dir(python: str) -> Path:
    """The environment ``python`` belongs to (``sys.prefix`` for this interpreter; ``<env>/bin/python`` otherwise)."""
    return Path(sys.prefix) if python == sys.executable else Path(python).parent.parent


def preflight(build: Build, hardware: Hardware, *, env_dir: Path, cache_dir: Path, wheels: Path | None = None,
              disk_usage: DiskUsage = shutil.disk_usage, environ: dict[str, str] | None = None) -> list[Check]:
    checks: list[Check] = []
    if not build.supports(hardware.system, platform_machine(hardware)):
        checks.append(Check(f"The {build.name} build has no wheels for {hardware.system} on {hardware.machine}.", True))
    allowed = driver_allows(hardware, build)
    if allowed is False:
        checks.append(Check(f"The {build.name} build needs an NVIDIA driver of the {required_driver(hardware, build)} "
                            "series or newer: update the driver (nvidia.com/drivers), or choose an older CUDA build.",
                            True))
    elif allowed is None:
        checks.append(Check(f"The NVIDIA driver's version is unknown; {build.name} needs the "
                            f"{required_driver(hardware, build)} series or newer.", False))
    checks.extend(disk_checks(f"The {build.name} build", build.sizes(hardware.system)[1], env_dir, cache_dir,
                              disk_usage, "or choose a smaller build"))
    if wheels is not None:
        checks.extend(_wheels(build, wheels))
    proxies = proxy_settings(environ)
    if proxies and wheels is None:
        checks.append(Check(f"Downloading through the proxy from the environment ({', '.join(proxies)}).", False))
    return checks


def disk_checks(what: str, installed_mb: int, env_dir: Path, cache_dir: Path, disk_usage: DiskUsage,
                alternative: str = "") -> list[Check]:
    """Room for ``what`` (installed_mb unpacked). The wheels unpack into uv's cache and are hard-linked into the
    environment: one copy when both are on one disk, two otherwise."""
    places = {}
    for folder in (env_dir, cache_dir):
        existing = next((p for p in (folder, *folder.parents) if p.exists()), folder)
        places.setdefault(existing.stat().st_dev, []).append(existing)
    problems = []
    for folders in places.values():
        need_mb = installed_mb * len(folders) + SPARE_MB
        free_mb = disk_usage(folders[0])[2] // 1_000_000
        if free_mb < need_mb:
            problems.append(Check(f"{what} needs about {_gb(need_mb)} free on the disk of {folders[0]}, which "
                                  f"has {_gb(free_mb)}: free some space{', ' + alternative if alternative else ''}.",
                                  True))
    return problems


def _wheels(build: Build, wheels: Path) -> list[Check]:
    if not wheels.is_dir():
        return [Check(f"{WHEELS_ENV} names {wheels}, which is not a folder.", True)]
    if not any(wheels.glob(f"torch-{build.torch}-*.whl")):
        return [Check(f"The wheel folder {wheels} has no torch-{build.torch} wheel.", True)]
    return [Check(f"Installing torch {build.torch} from the local wheel folder {wheels}.", False)]


def _gb(mb: int) -> str:
    return f"{mb / 1000:.1f} GB" if mb >= 1000 else f"{mb} MB"
