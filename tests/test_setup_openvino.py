"""Installing OpenVINO with the set-up's uv machinery: the uv command (the pin of pyproject's openvino extra),
progress, cancel leaving the environment as it was, failures as one sentence, the first-run set-up's optional
second step, `studio setup --openvino`, and a running process finding the new package without a restart.

The real uv runs against a local package index (tests/download_server.py) that serves a small stand-in
``openvino`` wheel into scratch environments; the fake uv (tests/setup_env.py) stands in where the target is this
test environment, which it never changes. The real OpenVINO of this environment answers the checks there.
"""

import base64
import hashlib
import importlib.metadata
import io
import os
import subprocess
import sys
import textwrap
import threading
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from studio.core.errors import StudioError
from studio.setup import journal, openvino_install
from studio.setup.builds import get_build
from studio.setup.hardware import Hardware
from studio.setup.installer import DOWNLOADING, VERIFYING, InstallPlan, SetupCancelled, explain_failure, find_uv
from studio.setup.openvino_install import install_openvino, offer_openvino
from studio.setup.procedure import set_up
from tests.setup_env import calls, make_fake_uv, packages_in, posix_only, scratch_env

ROOT = Path(__file__).resolve().parent.parent
PIN = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["openvino"]
STAND_IN = "2026.4.1"  # the stand-in wheel's version: it satisfies the pin
CPU_LINUX = Hardware("linux", "x86_64")
pytest.importorskip("openvino", reason="the checks on this environment run its OpenVINO")


def _record(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def stand_in_wheel(version: str = STAND_IN, payload_mb: int = 4) -> tuple[str, bytes, bytes]:
    """A pure-Python ``openvino`` wheel with what the set-up's check imports (``Core().available_devices``) and
    ``payload_mb`` of incompressible data, so the download takes measurable room: (file name, wheel, METADATA)."""
    info = f"openvino-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: openvino\nVersion: {version}\n".encode()
    files = {
        "openvino/__init__.py": b'class Core:\n    available_devices = ["CPU"]\n',
        "openvino/payload.bin": os.urandom(payload_mb * 1_000_000),
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},{_record(data)},{len(data)}\n" for path, data in files.items()) + f"{info}/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as wheel:
        for path, data in {**files, f"{info}/RECORD": record.encode()}.items():
            wheel.writestr(path, data)
    return f"openvino-{version}-py3-none-any.whl", buffer.getvalue(), metadata


@pytest.fixture
def openvino_index(download_server, monkeypatch):
    """A PEP 503 index on 127.0.0.1 with the stand-in wheel (and its PEP 658 metadata), set as uv's default
    index for this test; returns the wheel's ``Served`` (set ``hold_after`` to stall its download)."""
    name, wheel, metadata = stand_in_wheel()
    url = f"/files/{name}"
    digest = hashlib.sha256(metadata).hexdigest()
    page = (f'<html><body><a href="{url}#sha256={hashlib.sha256(wheel).hexdigest()}" '
            f'data-dist-info-metadata="sha256={digest}" data-core-metadata="sha256={digest}">{name}</a></body></html>')
    for path in ("/simple/openvino/", "/simple/openvino"):
        download_server.serve(path, page.encode(), content_type="text/html", etag=None)
    download_server.serve(f"{url}.metadata", metadata, etag=None)
    download_server.serve(url, wheel, etag=None)
    monkeypatch.setenv("UV_DEFAULT_INDEX", download_server.url("/simple"))
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    return download_server.files[url]


def site_packages(python: Path) -> Path:
    return Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())



@pytest.fixture
def fake_uv(tmp_path):
    return make_fake_uv(tmp_path)

@posix_only
def test_the_install_runs_uv_for_the_extras_pin_and_measures_its_progress(fake_uv):
    seen = []
    version = install_openvino(on_progress=seen.append, uv=str(fake_uv))

    assert version == importlib.metadata.version("openvino")  # checked in a fresh interpreter of this environment
    args = calls(fake_uv)[-1]["args"]
    assert args[:2] == ["pip", "install"] and PIN[0] in args and PIN[0].startswith("openvino>=")
    assert args[args.index("--python") + 1] == sys.executable
    assert args[args.index("--cache-dir") + 1] == str(journal.uv_cache_dir())
    assert "--torch-backend" not in args and "--reinstall-package" not in args
    downloading = [p for p in seen if p.phase == DOWNLOADING]
    assert downloading and all(p.what == "OpenVINO" for p in seen)
    assert any(p.speed_mb_s and p.eta_s for p in downloading)  # MB, speed and time left were measured
    assert "Downloading and unpacking OpenVINO:" in downloading[-1].describe()
    assert seen[-1].phase == VERIFYING and seen[-1].describe() == "Checking that OpenVINO works…"
    assert journal.read_record() is None  # the PyTorch set-up's record is not OpenVINO's business


def test_a_cancelled_download_leaves_the_environment_unchanged_and_a_retry_installs_it(openvino_index, tmp_path):
    python = scratch_env(tmp_path / "env")
    openvino_index.hold_after = 2_000_000  # the index stalls after 2 of the wheel's 4 MB
    cancel = threading.Event()
    seen = []
    started = time.monotonic()

    def on_progress(progress):
        seen.append(progress)
        if progress.phase == DOWNLOADING and (progress.done_mb >= 0.5 or time.monotonic() - started > 10):
            cancel.set()

    with pytest.raises(SetupCancelled):
        install_openvino(on_progress=on_progress, cancel=cancel, python=str(python))
    assert "openvino" not in packages_in(python) and not (site_packages(python) / "openvino").exists()
    assert any(p.phase == DOWNLOADING and p.done_mb >= 0.5 for p in seen), seen  # the stalled download was measured

    openvino_index.gate.set()  # the index answers in full now
    assert install_openvino(on_progress=lambda p: None, python=str(python)) == STAND_IN
    assert f"openvino {STAND_IN}" in " ".join(packages_in(python).split())
    imported = subprocess.run([str(python), "-c", "import openvino; print(openvino.Core().available_devices)"],
                              capture_output=True, text=True)
    assert imported.stdout.strip() == "['CPU']", imported.stderr


def test_no_network_is_one_sentence_and_changes_nothing(tmp_path, monkeypatch):
    python = scratch_env(tmp_path / "env")
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")  # nothing listens there
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    with pytest.raises(StudioError) as failure:
        install_openvino(on_progress=lambda p: None, python=str(python))
    sentence = str(failure.value)
    assert sentence.startswith("OpenVINO could not be downloaded: 127.0.0.1 cannot be reached"), sentence
    assert "nothing was changed" in sentence and "openvino" not in packages_in(python)


@posix_only
def test_a_full_disk_stops_it_before_uv_runs_and_a_full_disk_during_uv_is_one_sentence(fake_uv):
    with pytest.raises(StudioError, match=r"^OpenVINO needs about .* free on the disk of .*: free some space\.$"):
        install_openvino(on_progress=lambda p: None, uv=str(fake_uv),
                         disk_usage=lambda path: (10**12, 10**12 - 300_000_000, 300_000_000))
    assert calls(fake_uv) == []

    plan = InstallPlan("OpenVINO", tuple(PIN), sys.executable, "uv", Path("cache"))
    output = ["Resolved 3 packages in 0.4s", "error: Failed to extract archive: openvino-2026.4.1-cp311.whl",
              "  Caused by: No space left on device (os error 28)"]
    assert explain_failure(output, plan) == ("The disk filled up during the OpenVINO install: free some space and "
                                             "try again (what was already downloaded is kept).")
    missing = ["error: No solution found when resolving dependencies:",
               "  Because there is no version of openvino==2026.4 and you require openvino>=2026.4, we can conclude "
               "that your requirements are unsatisfiable."]
    assert explain_failure(missing, plan) == "openvino>=2026.4 is not available for this Python and system from PyPI."


def test_the_set_up_offers_it_with_the_cpu_build_only(monkeypatch):
    assert not offer_openvino(get_build("cpu"))  # already installed here
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not
    assert offer_openvino(get_build("cpu"))
    assert not any(offer_openvino(get_build(name)) for name in ("cu130", "cu126", "rocm7.2", "mps"))


@posix_only
def test_the_first_run_set_up_installs_it_after_torch_and_its_cancel_keeps_torch(fake_uv):
    cancel = threading.Event()
    seen = []

    def on_progress(progress):
        seen.append(progress.what)
        if progress.what == "OpenVINO" and progress.done_mb >= 3:
            cancel.set()

    done = set_up(get_build("cpu"), CPU_LINUX, on_progress=on_progress, cancel=cancel, openvino=True,
                  uv=str(fake_uv))
    torch_run, openvino_run = (call["args"] for call in calls(fake_uv))
    assert "torch==2.13.0+cpu" in torch_run and PIN[0] not in torch_run
    assert PIN[0] in openvino_run and not any(arg.startswith("torch") for arg in openvino_run)
    assert seen.index("OpenVINO") > seen.index("PyTorch") and set(seen[seen.index("OpenVINO"):]) == {"OpenVINO"}
    assert done.verified.torch == "2.13.0+cpu" and done.openvino == ""
    assert done.openvino_problem == "The OpenVINO install was cancelled; nothing of it was installed."
    assert journal.read_record().status == journal.VERIFIED  # torch's install stands


@posix_only
def test_studio_setup_openvino(fake_uv, monkeypatch, capsys):
    from studio.setup.command import main

    version = importlib.metadata.version("openvino")
    assert main(["--openvino"]) == 0  # torch fits and OpenVINO works: nothing to do
    assert f"OpenVINO {version} is installed and works." in capsys.readouterr().out
    assert calls(fake_uv) == []

    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not installed
    monkeypatch.setattr(openvino_install, "find_uv", lambda: str(fake_uv))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: nothing is asked
    assert main(["--openvino"]) == 3
    assert "Nothing was installed; `studio setup --yes --openvino` installs without asking." in capsys.readouterr().out
    assert main(["--yes", "--openvino"]) == 0
    out = capsys.readouterr().out
    assert "Installing OpenVINO (about 60 MB to download) into" in out and f"OpenVINO {version} works" in out
    assert [call["args"][2:] for call in calls(fake_uv)] == [
        ["--python", sys.executable, "--cache-dir", str(journal.uv_cache_dir()), *PIN]]


def test_a_running_process_finds_it_without_a_restart(openvino_index, tmp_path):
    """The app's process looked for OpenVINO (not there), installs it, and then finds and imports it."""
    python = scratch_env(tmp_path / "env")
    script = textwrap.dedent(f"""
        import sys
        from studio.core.backends import openvino_installed
        from studio.setup.openvino_install import install_openvino
        # From here on this process imports from the scratch environment only (it has no OpenVINO yet).
        sys.path = [p for p in sys.path if "site-packages" not in p] + [{str(site_packages(python))!r}]
        print(openvino_installed())
        print(install_openvino(on_progress=lambda p: None, python={str(python)!r}, uv={find_uv()!r}))
        print(openvino_installed())
        import openvino
        print(openvino.__file__.startswith({str(tmp_path)!r}), openvino.Core().available_devices)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.stdout.split("\n")[:4] == ["False", STAND_IN, "True", "True ['CPU']"], done.stdout + done.stderr


def test_a_broken_install_is_one_sentence(tmp_path):
    python = scratch_env(tmp_path / "env")
    broken = site_packages(python) / "openvino"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('libopenvino.so.2026.4.1: cannot open shared object')\n")
    with pytest.raises(StudioError, match=r"^The installed OpenVINO does not start \(ImportError: libopenvino"):
        openvino_install.verify_openvino(str(python))
    (broken / "__init__.py").write_text("class Core:\n    available_devices = []\n")
    (site_packages(python) / "openvino-1.0.dist-info").mkdir()
    (site_packages(python) / "openvino-1.0.dist-info" / "METADATA").write_text("Name: openvino\nVersion: 1.0\n")
    with pytest.raises(StudioError, match=r"^OpenVINO 1.0 is installed but does not see this computer's CPU"):
        openvino_install.verify_openvino(str(python))

