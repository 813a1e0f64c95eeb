"""Installing OpenVINO (the optional backend for CPUs and Intel GPUs) with the set-up's uv
machinery: the ``openvino`` extra as pyproject.toml pins it, into the app's environment, with progress and cancel,
then a check in a fresh interpreter. The first-run set-up offers it on machines whose build is the CPU one; the
window's Engine menu and ``studio setup --openvino`` install it later.

No restart is needed afterwards: ``openvino_installed`` refreshes the import caches before it looks, so the engine
finds (and imports) the new package in the running app.
"""

import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from studio.core.backends import openvino_installed
from studio.core.errors import StudioError
from studio.setup import journal
from studio.setup.builds import Build
from studio.setup.checks import DiskUsage, disk_checks, environment_dir, local_wheels
from studio.setup.installer import VERIFYING, InstallPlan, Progress, empty_cache, find_uv, run_uv
from studio.setup.requirements import OPENVINO, extra_requirements
from studio.setup.verify import run_check

WHAT = "OpenVINO"
DOWNLOAD_MB = 60  # the openvino wheel and openvino-telemetry (Linux x86_64, 2026.4); numpy is there already
INSTALLED_MB = 185  # unpacked
VERIFY_SCRIPT = r"""
import importlib.metadata, json
import openvino
devices = list(openvino.Core().available_devices)
print(json.dumps({"version": importlib.metadata.version("openvino"), "devices": devices}))
"""


def offer_openvino(build: Build) -> bool:
    """The set-up offers OpenVINO with a CPU build (no CUDA, ROCm or MPS: where OpenVINO's fast precision pays)."""
    return build.accelerator == "cpu" and not openvino_installed()


def install_openvino(*, on_progress: Callable[[Progress], None], cancel: threading.Event | None = None,
                     python: str = sys.executable, uv: str | None = None, wheels: Path | None = None,
                     disk_usage: DiskUsage = shutil.disk_usage, reinstall: bool = False) -> str:
    """Install, check and return OpenVINO's version. Raises StudioError (one sentence) or SetupCancelled; a cancel
    or a failure leaves the environment as it was (uv changes it only after everything is downloaded)."""
    cancel = cancel or threading.Event()
    wheels = wheels if wheels is not None else local_wheels()
    cache_dir = journal.uv_cache_dir()
    no_room = disk_checks(WHAT, INSTALLED_MB, environment_dir(python), cache_dir, disk_usage)
    if no_room:
        raise StudioError(no_room[0].sentence)
    plan = InstallPlan(WHAT, tuple(extra_requirements(OPENVINO)), python, uv or find_uv(), cache_dir,
                       ("--find-links", str(wheels)) if wheels is not None else (),
                       str(wheels) if wheels is not None else "PyPI",
                       reinstall=("openvino",) if reinstall else (), total_mb=INSTALLED_MB)
    run_uv(plan, on_progress, cancel)
    on_progress(Progress(VERIFYING, cancellable=False, what=WHAT))
    version = verify_openvino(python)
    empty_cache(plan, "openvino")
    return version


def verify_openvino(python: str = sys.executable) -> str:
    """Import OpenVINO in a fresh ``python`` and ask it for its devices; its version, or StudioError."""
    result = run_check(python, VERIFY_SCRIPT, what=WHAT)
    if "CPU" not in result.get("devices", []):
        raise StudioError(f"OpenVINO {result.get('version', '')} is installed but does not see this computer's CPU "
                          f"(devices: {', '.join(result.get('devices', [])) or 'none'}); details in the log.")
    return result["version"]
