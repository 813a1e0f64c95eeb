"""`packaging/build.py` builds the real installers (downloads the pinned uv wheels and setuptools from PyPI)."""

import shutil
import tarfile
import zipfile

import pytest
from PIL import Image

import build
import release


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    saved = release.DIST
    release.DIST = dist
    targets = ["linux", "macos-app"] + (["windows"] if shutil.which("makensis") else [])
    try:
        build.main(targets)
    finally:
        release.DIST = saved
    return dist


def test_linux_tarball_holds_the_installer_uv_lock_and_app_wheel(built):
    name = release.linux_name()
    with tarfile.open(built / f"{name}.tar.gz") as tar:
        members = {m.name.removeprefix(f"{name}/"): m for m in tar.getmembers()}
        env = tar.extractfile(members["release.env"]).read().decode()
        desktop = tar.extractfile(members["latent-studio.desktop"]).read().decode()
        wheel = next(n for n in members if n.startswith("latent_studio-") and n.endswith(".whl"))
        wheel_names = zipfile.ZipFile(tar.extractfile(members[wheel])).namelist()
    for script in ("install.sh", "uninstall.sh", "make_env.sh", "uv"):
        assert members[script].mode & 0o111, script
    assert f"VERSION={release.version()}" in env
    assert wheel == f"latent_studio-{release.version()}-py3-none-any.whl"
    assert "studio/resources/icon.png" in wheel_names
    assert not any(n.startswith("torch") for n in wheel_names)
    assert 'Exec="@STUDIO@"' in desktop and "Icon=latent-studio" in desktop


def test_windows_installer_is_a_pe_executable(built):
    if not shutil.which("makensis"):
        pytest.skip("NSIS (makensis) is not installed: apt-get install nsis")
    exe = built / release.windows_name()
    assert build.pe_machine(exe) == 0x14C  # NSIS's stub is 32-bit x86 (runs on x64 Windows)
    assert exe.stat().st_size > 5_000_000  # uv.exe, the wheel and the lock are inside


def test_pe_check_rejects_other_files(tmp_path):
    fake = tmp_path / "setup.exe"
    fake.write_bytes(b"MZ" + b"\0" * 200)
    with pytest.raises(ValueError, match="PE signature"):
        build.pe_machine(fake)


def test_macos_app_bundle_is_assembled(built):
    contents = build.macos_dmg_root() / "Latent Studio.app" / "Contents"
    assert (contents / "MacOS" / "LatentStudio").stat().st_mode & 0o111
    assert Image.open(contents / "Resources" / "icon.icns").size[0] >= 512
    payload = contents / "Resources" / "payload"
    assert {"uv", "make_env.sh", "uninstall.command", "requirements.lock", "release.env"} <= {
        p.name for p in payload.iterdir()}
    assert (payload / "uv").read_bytes()[:4] in (b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")  # Mach-O
