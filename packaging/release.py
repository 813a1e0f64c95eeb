"""What a release is made of: the version, the pinned uv, the Python each OS gets, the installers' file names.

Shared by ``build.py`` (makes the installers), ``smoke.py`` (installs one and uses it) and ``report.py``.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
DIST = REPO / "dist"
WORK = REPO / "build" / "package"
LOCK = PACKAGING / "requirements.lock"
ICON_PNG = REPO / "studio" / "resources" / "icon.png"

UV_VERSION = "0.13.9"
# uv-managed Python for Windows and macOS (installed on the user's machine by the installer / first launch).
# Linux uses the system python3 when it is >= LOCK_PYTHON, else this one through uv.
MANAGED_PYTHON = "3.12"
LOCK_PYTHON = "3.11"  # the lowest Python the lock is resolved for

# Wheel platform tags of the uv binary each installer ships (pip download --platform).
UV_PLATFORMS = {
    "linux": "manylinux_2_17_x86_64",
    "windows": "win_amd64",
    "macos": "macosx_11_0_arm64",
}


def host_os() -> str:
    """"linux", "windows" or "macos": the installer this machine builds natively and can smoke-test."""
    return {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")


def version() -> str:
    with (REPO / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]["version"]


def linux_name(ver: str | None = None) -> str:
    return f"latent-studio-{ver or version()}-linux-x86_64"


def windows_name(ver: str | None = None) -> str:
    return f"LatentStudio-{ver or version()}-windows-x64-setup.exe"


def macos_name(ver: str | None = None) -> str:
    return f"LatentStudio-{ver or version()}-macos-arm64.dmg"
