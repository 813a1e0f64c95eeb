"""Build the installers into ``dist/``: ``python packaging/build.py [TARGET ...]`` (``make package``).

Targets:
- ``linux``: ``latent-studio-VERSION-linux-x86_64.tar.gz``: install.sh / uninstall.sh, a ``.desktop`` entry, the
  icon, uv, the lock and the app wheel (per-user install, no root).
- ``windows``: ``LatentStudio-VERSION-windows-x64-setup.exe``, an NSIS installer (``makensis`` on any OS).
- ``macos-app``: ``build/package/macos/dmg/Latent Studio.app`` (plain files: can be assembled anywhere);
  ``macos-dmg``: the disk image, with ``hdiutil`` (macOS only). Signing goes between the two (release workflow).
- ``lock``: re-resolve ``packaging/requirements.lock`` (committed) from pyproject's base dependencies, for every
  OS and Python >= 3.11, pinned to the versions installed in the running environment (the ones the tests ran
  on), with hashes.
Without targets: ``linux windows``, plus ``macos-app macos-dmg`` on macOS.

Downloads (from PyPI only): the pinned uv wheels (``pip download --platform``), which ship the uv binaries, and
setuptools for ``uv build``. The uv for this machine builds the wheel and resolves the lock.
"""

from __future__ import annotations

import argparse
import os
import plistlib
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import release
from PIL import Image

ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
BUNDLE_ID = "org.latentstudio.LatentStudio"


def log(message: str) -> None:
    print(f"[package] {message}", flush=True)


def shown(path: Path) -> str:
    return str(path.relative_to(release.REPO) if path.is_relative_to(release.REPO) else path)


def run(*args, **kwargs) -> None:
    subprocess.run([str(a) for a in args], check=True, **kwargs)


# -- inputs shared by every installer -----------------------------------------------------------------------
def uv_binary(target: str) -> Path:
    """The pinned uv binary for ``target`` ("linux", "windows", "macos"), taken out of its PyPI wheel."""
    exe = "uv.exe" if target == "windows" else "uv"
    out = release.WORK / "uv" / target / exe
    if out.exists():
        return out
    wheels = release.WORK / "uv" / target / "wheel"
    log(f"downloading uv {release.UV_VERSION} for {target}")
    run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--platform", release.UV_PLATFORMS[target], "-d", wheels, f"uv=={release.UV_VERSION}")
    (wheel,) = wheels.glob(f"uv-{release.UV_VERSION}-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        member = f"uv-{release.UV_VERSION}.data/scripts/{exe}"
        out.write_bytes(zf.read(member))
    out.chmod(0o755)
    return out


def app_wheel() -> Path:
    """The app's wheel, built from this checkout (with the icon and model configs as package data)."""
    out = release.WORK / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    log("building the app wheel")
    run(uv_binary(release.host_os()), "build", "--quiet", "--wheel", "--out-dir", out, release.REPO)
    (wheel,) = out.glob("latent_studio-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        if "studio/resources/icon.png" not in zf.namelist():
            raise SystemExit(f"{wheel.name} lacks studio/resources/icon.png (package data)")
    return wheel


def release_env() -> str:
    """``release.env``: the values the shell scripts read (sourced by install.sh and the macOS launcher)."""
    return (f"VERSION={release.version()}\nMANAGED_PYTHON={release.MANAGED_PYTHON}\n"
            f"LOCK_PYTHON={release.LOCK_PYTHON}\n")


def copy_script(src: Path, dest: Path) -> None:
    shutil.copyfile(src, dest)
    dest.chmod(0o755)


def write_lock() -> None:
    constraints = release.WORK / "installed.txt"
    constraints.parent.mkdir(parents=True, exist_ok=True)
    uv = uv_binary(release.host_os())
    frozen = subprocess.run([str(uv), "pip", "freeze", "--exclude-editable", "--python", sys.executable],
                            check=True, capture_output=True, text=True).stdout
    constraints.write_text(frozen)
    resolved = release.WORK / "lock.txt"
    run(uv, "pip", "compile", "--quiet", "--universal", "--python-version", release.LOCK_PYTHON,
        "--generate-hashes", "--no-header", "--no-annotate", "-c", constraints, "-o", resolved,
        release.REPO / "pyproject.toml")
    header = (
        "# Latent Studio's base dependencies (no torch: the first-run set-up installs the build that fits the\n"
        "# machine), pinned with hashes for every OS and Python >= 3.11; what the installers install.\n"
        "# Regenerate with `python packaging/build.py lock` in the environment the tests run in.\n")
    release.LOCK.write_text(header + resolved.read_text())
    log(f"wrote {shown(release.LOCK)}")


# -- Linux -----------------------------------------------------------------------------------------------------
def build_linux(wheel: Path) -> Path:
    name = release.linux_name()
    stage = release.WORK / "linux" / name
    shutil.rmtree(stage.parent, ignore_errors=True)
    stage.mkdir(parents=True)
    for script in ("linux/install.sh", "linux/uninstall.sh", "posix/make_env.sh"):
        copy_script(release.PACKAGING / script, stage / Path(script).name)
    shutil.copyfile(release.PACKAGING / "linux" / "latent-studio.desktop", stage / "latent-studio.desktop")
    shutil.copyfile(release.ICON_PNG, stage / "icon.png")
    shutil.copyfile(release.LOCK, stage / "requirements.lock")
    shutil.copyfile(wheel, stage / wheel.name)
    copy_script(uv_binary("linux"), stage / "uv")
    (stage / "release.env").write_text(release_env())
    out = release.DIST / f"{name}.tar.gz"

    def normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = 0o755 if info.isdir() or info.mode & stat.S_IXUSR else 0o644
        return info

    with tarfile.open(out, "w:gz") as tar:
        tar.add(stage, arcname=name, filter=normalized)
    log(f"wrote {shown(out)}")
    return out


# -- Windows ---------------------------------------------------------------------------------------------------
def pe_machine(path: Path) -> int:
    """The COFF machine type of a Windows executable; raises ValueError when ``path`` is not a PE file."""
    with path.open("rb") as f:
        head = f.read(4096)
    if head[:2] != b"MZ" or len(head) < 0x40:
        raise ValueError(f"{path.name} has no MZ header")
    offset = int.from_bytes(head[0x3C:0x40], "little")
    if head[offset:offset + 4] != b"PE\0\0":
        raise ValueError(f"{path.name} has no PE signature")
    return int.from_bytes(head[offset + 4:offset + 6], "little")


def build_windows(wheel: Path) -> Path:
    makensis = shutil.which("makensis")
    if not makensis:
        raise SystemExit("makensis not found: install NSIS (Debian/Ubuntu: apt-get install nsis; "
                         "Windows: choco install nsis)")
    payload = release.WORK / "windows" / "payload"
    shutil.rmtree(payload, ignore_errors=True)
    payload.mkdir(parents=True)
    shutil.copyfile(uv_binary("windows"), payload / "uv.exe")
    shutil.copyfile(release.LOCK, payload / "requirements.lock")
    shutil.copyfile(wheel, payload / wheel.name)
    Image.open(release.ICON_PNG).save(payload / "icon.ico", sizes=ICO_SIZES)
    out = release.DIST / release.windows_name()
    define = "/D" if sys.platform == "win32" else "-D"
    log("running makensis")
    run(makensis, "-V2", f"{define}VERSION={release.version()}", f"{define}PAYLOAD={payload}",
        f"{define}WHEEL={wheel.name}", f"{define}PYTHON={release.MANAGED_PYTHON}", f"{define}OUTFILE={out}",
        release.PACKAGING / "windows" / "installer.nsi")
    pe_machine(out)
    log(f"wrote {shown(out)} (a PE executable)")
    return out


# -- macOS -----------------------------------------------------------------------------------------------------
def macos_dmg_root() -> Path:
    return release.WORK / "macos" / "dmg"


def info_plist(ver: str) -> dict:
    return {
        "CFBundleName": "Latent Studio",
        "CFBundleDisplayName": "Latent Studio",
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleVersion": ver,
        "CFBundleShortVersionString": ver,
        "CFBundleExecutable": "LatentStudio",
        "CFBundleIconFile": "icon.icns",
        "CFBundlePackageType": "APPL",
        "CFBundleInfoDictionaryVersion": "6.0",
        "LSMinimumSystemVersion": "12.0",
        "LSApplicationCategoryType": "public.app-category.graphics-design",
        "NSHighResolutionCapable": True,
    }


def build_macos_app(wheel: Path) -> Path:
    root = macos_dmg_root()
    shutil.rmtree(root, ignore_errors=True)
    contents = root / "Latent Studio.app" / "Contents"
    payload = contents / "Resources" / "payload"
    (contents / "MacOS").mkdir(parents=True)
    payload.mkdir(parents=True)
    with (contents / "Info.plist").open("wb") as f:
        plistlib.dump(info_plist(release.version()), f)
    copy_script(release.PACKAGING / "macos" / "launcher.sh", contents / "MacOS" / "LatentStudio")
    Image.open(release.ICON_PNG).save(contents / "Resources" / "icon.icns")
    copy_script(release.PACKAGING / "posix" / "make_env.sh", payload / "make_env.sh")
    copy_script(release.PACKAGING / "macos" / "uninstall.command", payload / "uninstall.command")
    copy_script(uv_binary("macos"), payload / "uv")
    shutil.copyfile(release.LOCK, payload / "requirements.lock")
    shutil.copyfile(wheel, payload / wheel.name)
    (payload / "release.env").write_text(release_env())
    copy_script(release.PACKAGING / "macos" / "uninstall.command", root / "Uninstall Latent Studio.command")
    log(f"assembled {shown(contents.parent)}")
    return contents.parent


def build_macos_dmg() -> Path:
    root = macos_dmg_root()
    if not (root / "Latent Studio.app").is_dir():
        raise SystemExit("run the macos-app target first")
    if not shutil.which("hdiutil"):
        raise SystemExit("hdiutil not found: the disk image is made on macOS")
    link = root / "Applications"
    if not link.is_symlink():
        link.symlink_to("/Applications")
    out = release.DIST / release.macos_name()
    out.unlink(missing_ok=True)
    run("hdiutil", "create", "-quiet", "-volname", "Latent Studio", "-srcfolder", root, "-ov", "-format", "UDZO",
        out)
    log(f"wrote {shown(out)}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*",
                        choices=["linux", "windows", "macos-app", "macos-dmg", "lock", []], default=[])
    targets = parser.parse_args(argv).targets or (
        ["linux", "windows"] + (["macos-app", "macos-dmg"] if sys.platform == "darwin" else []))
    release.DIST.mkdir(exist_ok=True)
    if "lock" in targets:
        write_lock()
    needs_wheel = {"linux", "windows", "macos-app"} & set(targets)
    wheel = app_wheel() if needs_wheel else None
    builders = {"linux": build_linux, "windows": build_windows, "macos-app": build_macos_app}
    for target in targets:
        if target in builders:
            builders[target](wheel)
        elif target == "macos-dmg":
            build_macos_dmg()
    return 0


if __name__ == "__main__":
    os.chdir(release.REPO)
    raise SystemExit(main())
