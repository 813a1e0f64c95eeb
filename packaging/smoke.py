"""Install an installer as a new user would, use the installed app, uninstall it: ``make package-smoke``.

    python packaging/smoke.py [PACKAGE] [--wheels DIR] [--json FILE]

PACKAGE defaults to this OS's installer in ``dist/``. Steps, each checked:
1. a tiny random-weight SD model is built with ``tests/tiny_models.py`` (this process needs torch + diffusers);
2. install: Linux: the tarball's ``install.sh`` with HOME in a scratch folder (so the data root, menu entry and
   icon go there too); Windows: the NSIS installer with ``/S``; macOS: the ``.app`` copied out of the disk image,
   its first start creating the environment;
3. the first-run set-up of the installed app: ``studio setup --check`` (3: needed), ``studio setup --yes --build
   cpu`` (with ``--wheels``: ``STUDIO_TORCH_WHEELS=DIR``, torch from that folder, its small deps from the index;
   without: from the network), ``studio setup --check`` (0) and ``import torch`` + a matmul in the environment;
4. the window, started twice with the installed environment's python (``first_start.py``): shown, then closed;
5. ``studio generate`` with the installed CLI into the data root's outputs, ``studio info`` reads its recipe;
6. uninstall (keeping data), then: the app's folder, command and menu entries are gone, the picture is intact.
It prints the timings and, with ``--json``, writes them (``report.py`` uses them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import release

PROMPT = "a lighthouse at dusk, installed"
SETUP_NEEDED = 3  # `studio setup --check`'s exit status when the environment has no fitting torch


class SmokeFailure(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)
    print(f"[smoke] ok: {what}", flush=True)


@dataclass
class Installed:
    """Where an installation put things, per OS."""
    cli: list[str]                 # runs the installed `studio` command
    env_python: Path               # the app environment's interpreter
    prefix: Path                   # the app's own folder (removed by uninstall)
    data_root: Path                # the user's outputs, models, settings (kept by uninstall)
    entries: list[Path] = field(default_factory=list)  # menu/desktop entries, commands, icons


class Platform:
    def __init__(self, package: Path, scratch: Path, fresh_cache: bool):
        self.package, self.scratch = package, scratch
        self.env = dict(os.environ)
        for name in ("STUDIO_HOME", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
            self.env.pop(name, None)
        # uv's download cache: a fresh one (everything downloaded, as on a new machine) or, to save downloads on
        # reruns, one kept in build/package; the only thing a smoke run shares with this machine.
        self.env["UV_CACHE_DIR"] = str(scratch / "uv-cache" if fresh_cache else release.WORK / "smoke-uv-cache")

    def install(self) -> Installed: ...
    def uninstall(self, installed: Installed) -> None: ...


class Linux(Platform):
    def __init__(self, package, scratch, fresh_cache):
        super().__init__(package, scratch, fresh_cache)
        home = scratch / "home"
        home.mkdir()
        self.env["HOME"] = str(home)
        for name in [n for n in self.env if n.startswith("XDG_")]:
            del self.env[name]
        self.home = home

    def install(self) -> Installed:
        unpacked = self.scratch / "download"
        with tarfile.open(self.package) as tar:
            tar.extractall(unpacked, filter="data")
        (folder,) = unpacked.iterdir()
        subprocess.run(["sh", str(folder / "install.sh")], env=self.env, check=True)
        share = self.home / ".local" / "share"
        prefix = share / "LatentStudio" / "app"
        entries = [self.home / ".local" / "bin" / "latent-studio", share / "applications" / "latent-studio.desktop",
                   share / "icons" / "hicolor" / "256x256" / "apps" / "latent-studio.png"]
        return Installed([str(entries[0])], prefix / "venv" / "bin" / "python", prefix, share / "LatentStudio",
                         entries)

    def uninstall(self, installed: Installed) -> None:
        subprocess.run(["sh", str(installed.prefix / "uninstall.sh")], env=self.env, check=True)


class Windows(Platform):
    def install(self) -> Installed:
        local = Path(os.environ["LOCALAPPDATA"])
        subprocess.run([str(self.package), "/S"], check=True)
        prefix = local / "LatentStudio" / "app"
        programs = Path(os.environ["APPDATA"]) / "Microsoft" / "Windows" / "Start Menu" / "Programs"
        entries = [programs / "Latent Studio.lnk", Path.home() / "Desktop" / "Latent Studio.lnk"]
        scripts = prefix / "venv" / "Scripts"
        return Installed([str(scripts / "studio.exe")], scripts / "python.exe", prefix, local / "LatentStudio",
                         entries)

    def uninstall(self, installed: Installed) -> None:
        # The uninstaller copies itself to a temporary folder and returns at once: wait for it to finish.
        subprocess.run([str(installed.prefix / "uninstall.exe"), "/S"], check=True)
        deadline = time.monotonic() + 300
        while installed.prefix.exists() and time.monotonic() < deadline:
            time.sleep(1)


class MacOS(Platform):
    def install(self) -> Installed:
        mount = self.scratch / "mnt"
        subprocess.run(["hdiutil", "attach", "-nobrowse", "-readonly", "-mountpoint", str(mount),
                        str(self.package)], check=True)
        applications = self.scratch / "Applications"
        applications.mkdir()
        try:
            subprocess.run(["ditto", str(mount / "Latent Studio.app"), str(applications / "Latent Studio.app")],
                           check=True)
        finally:
            subprocess.run(["hdiutil", "detach", str(mount)], check=True)
        app = applications / "Latent Studio.app"
        data_root = Path.home() / "Library" / "Application Support" / "LatentStudio"
        self.app = app
        return Installed([str(app / "Contents" / "MacOS" / "LatentStudio")],
                         data_root / "app" / "venv" / "bin" / "python", data_root / "app", data_root, [app])

    def uninstall(self, installed: Installed) -> None:
        subprocess.run(["sh", str(self.app / "Contents" / "Resources" / "payload" / "uninstall.command"),
                        str(self.app)], check=True)


PLATFORMS = {"linux": Linux, "windows": Windows, "macos": MacOS}


def default_package(os_name: str) -> Path:
    names = {"linux": release.linux_name() + ".tar.gz", "windows": release.windows_name(),
             "macos": release.macos_name()}
    return release.DIST / names[os_name]


def timed(run_it) -> tuple[float, object]:
    start = time.monotonic()
    result = run_it()
    return time.monotonic() - start, result


def first_start(installed: Installed, env: dict) -> dict:
    """The installed window, started, shown, closed; its timings (see first_start.py)."""
    start = time.monotonic()
    done = subprocess.run([str(installed.env_python), str(release.PACKAGING / "first_start.py"), repr(start)],
                          env={**env, "QT_QPA_PLATFORM": "offscreen"}, capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0:
        raise SmokeFailure(f"the window did not start:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def first_run_setup(installed: Installed, env: dict, wheels: Path | None) -> bool:
    """The installed app's first-run set-up; False when this build of the app has no `studio setup` yet."""
    cli = installed.cli
    probe = subprocess.run([*cli, "setup", "--check"], env=env, capture_output=True, text=True)
    if probe.returncode == 2 and ("invalid choice" in probe.stderr or "unrecognized arguments" in probe.stderr):
        return False
    check(probe.returncode == SETUP_NEEDED, f"`studio setup --check` says a set-up is needed (exit {probe.returncode})")
    setup_env = {**env, **({"STUDIO_TORCH_WHEELS": str(wheels)} if wheels else {})}
    subprocess.run([*cli, "setup", "--yes", "--build", "cpu"], env=setup_env, check=True)
    again = subprocess.run([*cli, "setup", "--check"], env=env)
    check(again.returncode == 0, "`studio setup --check` passes after the set-up")
    return True


def install_torch_directly(installed: Installed, env: dict, wheels: Path | None) -> None:
    """Stand-in for the set-up while the app has none: torch + accelerate with the installed uv."""
    uv = installed.env_python.parent / ("uv.exe" if os.name == "nt" else "uv")
    source = ["--find-links", str(wheels)] if wheels else ["--index-url", "https://download.pytorch.org/whl/cpu",
                                                           "--extra-index-url", "https://pypi.org/simple"]
    subprocess.run([str(uv), "pip", "install", "--python", str(installed.env_python), *source,
                    "torch==2.13.0+cpu" if wheels else "torch", "accelerate"], env=env, check=True)


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def smoke(package: Path, wheels: Path | None, scratch: Path, fresh_cache: bool = False) -> dict:
    os_name = release.host_os()
    platform = PLATFORMS[os_name](package, scratch, fresh_cache)
    env = platform.env
    figures: dict = {"package": package.name, "package_bytes": package.stat().st_size}

    sys.path.insert(0, str(release.REPO))
    from tests import tiny_models

    model = tiny_models.build_tiny_sd(scratch / "tiny-sd")
    print(f"[smoke] installing {package.name} into a scratch user's home", flush=True)
    figures["install_s"], installed = timed(platform.install)
    if os_name == "macos":  # the environment is made by the app's first start: let the CLI trigger it
        subprocess.run([*installed.cli, "info", "--help"], env=env, check=True, stdout=subprocess.DEVNULL)
    check(installed.env_python.exists(), f"the app's environment exists ({installed.env_python})")
    for entry in installed.entries:
        check(entry.exists(), f"installed {entry.name}")
    uv_name = "uv.exe" if os_name == "windows" else "uv"
    check((installed.env_python.parent / uv_name).exists(), "uv sits next to the environment's python")
    no_torch = subprocess.run([str(installed.env_python), "-c", "import torch"], env=env, capture_output=True)
    check(no_torch.returncode != 0, "the installer put no torch in the environment")
    figures["env_before_torch_bytes"] = directory_size(installed.prefix)

    figures["setup_s"], had_setup = timed(lambda: first_run_setup(installed, env, wheels))
    figures["setup_command"] = had_setup
    if not had_setup:
        print("[smoke] NOTE: this build has no `studio setup` (the first-run set-up is another branch); "
              "installing torch with the app's uv instead", flush=True)
        figures["setup_s"], _ = timed(lambda: install_torch_directly(installed, env, wheels))
    verify = subprocess.run([str(installed.env_python), "-c",
                             "import torch; print(torch.__version__, (torch.ones(2, 2) @ torch.ones(2, 2)).sum().item())"],
                            env=env, capture_output=True, text=True)
    check(verify.returncode == 0 and verify.stdout.split()[-1] == "8.0",
          f"torch imports and multiplies in the app's environment ({verify.stdout.strip()})")

    figures["env_with_torch_bytes"] = directory_size(installed.prefix)

    first, second = first_start(installed, env), first_start(installed, env)
    check(first["visible"] and first["closed"] and second["closed"], "the window was shown, then closed (twice)")
    check(first["window_icon"], "the window has the app icon")
    check(not first["torch_imported_at_show"], "torch was not imported before the window was shown")
    figures["first_start_s"], figures["second_start_s"] = first["shown_s"], second["shown_s"]

    figures["generate_s"], done = timed(lambda: subprocess.run(
        [*installed.cli, "generate", "--model", str(model), "--prompt", PROMPT, "--steps", "2", "--width", "64",
         "--height", "64", "--seed", "7", "--device", "cpu"], env=env, capture_output=True, text=True))
    check(done.returncode == 0, f"`studio generate` ran with the installed CLI ({done.stderr.strip()[-300:]})")
    picture = Path(done.stdout.strip().splitlines()[-1])
    check(picture.parent == installed.data_root / "outputs" and picture.is_file(),
          f"the picture is in the data root's outputs ({picture})")
    info = subprocess.run([*installed.cli, "info", str(picture)], env=env, capture_output=True, text=True, check=True)
    check(info.stdout.startswith(PROMPT), "`studio info` reads the recipe back")
    before = digest(picture)

    print("[smoke] uninstalling (keeping the user's data)", flush=True)
    platform.uninstall(installed)
    check(not installed.prefix.exists(), f"the app's folder is gone ({installed.prefix})")
    for entry in installed.entries:
        check(not entry.exists(), f"removed {entry.name}")
    check(picture.is_file() and digest(picture) == before, "the user's picture survived the uninstall, unchanged")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", type=Path)
    parser.add_argument("--wheels", type=Path, default=None,
                        help="a folder of torch wheels for the set-up (STUDIO_TORCH_WHEELS); default: the network")
    parser.add_argument("--json", type=Path, default=None, help="write the timings here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--fresh-cache", action="store_true",
                        help="an empty uv download cache (default: build/package/smoke-uv-cache, kept between runs)")
    args = parser.parse_args(argv)
    package = (args.package or default_package(release.host_os())).resolve()
    if not package.is_file():
        print(f"[smoke] {package} does not exist: run `make package` first", file=sys.stderr)
        return 1
    scratch = Path(tempfile.mkdtemp(prefix="studio-smoke-"))
    try:
        figures = smoke(package, args.wheels, scratch, args.fresh_cache)
    except (SmokeFailure, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"[smoke] FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"[smoke] scratch folder kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print("[smoke] passed: " + ", ".join(f"{k}={v:.1f}s" for k, v in figures.items() if k.endswith("_s")))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
