"""The Linux uninstaller (run for real on a scratch home), the lock, the icon and the macOS bundle's metadata."""

import plistlib
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from tests.installers.conftest import PACKAGING

REPO = PACKAGING.parent


def _fake_install(home: Path) -> tuple[Path, list[Path], Path]:
    """What install.sh leaves behind (minus the environment's contents), and a picture the user made."""
    share = home / ".local" / "share"
    prefix = share / "LatentStudio" / "app"
    (prefix / "venv" / "bin").mkdir(parents=True)
    (prefix / "venv" / "bin" / "python").write_text("")
    (prefix / "installed-version").write_text("0.1.0\n")
    entries = [home / ".local" / "bin" / "latent-studio", share / "applications" / "latent-studio.desktop",
               share / "icons" / "hicolor" / "256x256" / "apps" / "latent-studio.png"]
    for entry in entries:
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_text("x")
    (prefix / "installed-files").write_text("".join(f"{e}\n" for e in entries))
    (prefix / "uninstall.sh").write_bytes((PACKAGING / "linux" / "uninstall.sh").read_bytes())
    picture = share / "LatentStudio" / "outputs" / "00000-1.png"
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"\x89PNG user's work")
    return prefix, entries, picture


def _uninstall(prefix: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["sh", str(prefix / "uninstall.sh"), *args], env=env, capture_output=True, text=True)


def test_uninstall_removes_the_app_and_keeps_the_users_pictures(tmp_path):
    prefix, entries, picture = _fake_install(tmp_path)
    done = _uninstall(prefix, tmp_path)
    assert done.returncode == 0, done.stderr
    assert not prefix.exists() and not any(e.exists() for e in entries)
    assert picture.read_bytes() == b"\x89PNG user's work"
    assert "still in" in done.stdout


def test_uninstall_purge_removes_the_data_root_too(tmp_path):
    prefix, _, picture = _fake_install(tmp_path)
    assert _uninstall(prefix, tmp_path, "--purge").returncode == 0
    assert not picture.parent.parent.exists()


def test_uninstall_refuses_a_folder_that_is_no_installation(tmp_path):
    prefix, entries, _ = _fake_install(tmp_path)
    (prefix / "installed-version").unlink()
    done = _uninstall(prefix, tmp_path)
    assert done.returncode == 1 and "nothing removed" in done.stderr
    assert prefix.exists() and all(e.exists() for e in entries)


@pytest.mark.parametrize("script", ["posix/make_env.sh", "linux/install.sh", "linux/uninstall.sh",
                                    "macos/launcher.sh", "macos/uninstall.command"])
def test_shell_scripts_parse(script):
    assert subprocess.run(["sh", "-n", str(PACKAGING / script)]).returncode == 0


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~; \[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_lock_pins_every_base_dependency_with_hashes_and_no_torch():
    with (REPO / "pyproject.toml").open("rb") as f:
        base = {_name(r) for r in tomllib.load(f)["project"]["dependencies"]}
    text = (PACKAGING / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^ ;\\\n]+)", text, flags=re.M))
    assert base <= {n.lower() for n in pins}
    assert not {"torch", "accelerate"} & set(pins)
    entries = [e for e in re.split(r"\n(?=[A-Za-z])", text) if not e.startswith("#")]
    assert entries and all("--hash=sha256:" in e for e in entries)


def test_icon_is_what_the_tool_renders():
    import make_icon  # packaging/tools

    committed = Image.open(REPO / "studio" / "resources" / "icon.png")
    assert committed.size == (512, 512) and committed.mode == "RGBA"
    assert ImageChops.difference(committed, make_icon.render()).getbbox() is None
    assert committed.getpixel((0, 0))[3] == 0 and committed.getpixel((256, 256))[3] == 255


def test_macos_bundle_metadata_names_the_launcher_and_version():
    import build

    plist = plistlib.loads(plistlib.dumps(build.info_plist("1.2.3")))
    assert plist["CFBundleExecutable"] == "LatentStudio" and plist["CFBundleShortVersionString"] == "1.2.3"
    assert plist["CFBundleIconFile"] == "icon.icns" and plist["CFBundlePackageType"] == "APPL"
