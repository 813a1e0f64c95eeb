"""Installing a build: the checks before downloading, uv's failures as one sentence, cancel and resume, and
one real install of the CPU wheel into a scratch environment through `studio setup`."""

import json
import os
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from studio.core.errors import StudioError
from studio.setup import journal
from studio.setup.builds import get_build, propose
from studio.setup.hardware import Hardware, NvidiaGpu
from studio.setup.installer import SetupCancelled, explain_failure, find_uv, run_uv
from studio.setup.procedure import Situation, install, look, torch_plan
from studio.setup.installed import InstalledTorch, assess
from tests.setup_env import calls, make_fake_uv, packages_in, posix_only, scratch_env

ROOT = Path(__file__).resolve().parent.parent
WHEELS = Path("/opt/wheels")
CPU_LINUX = Hardware("linux", "x86_64")
needs_wheels = pytest.mark.skipif(not any(WHEELS.glob("torch-2.13.0+cpu-*.whl")), reason="no local CPU wheel")


@pytest.fixture
def fake_uv(tmp_path):
    return make_fake_uv(tmp_path)

def test_a_full_disk_stops_the_install_before_anything_is_downloaded():
    with pytest.raises(StudioError, match=r"needs about .* free on the disk of .* free some space"):
        install(get_build("cpu"), CPU_LINUX, on_progress=lambda p: None, uv="/nonexistent/uv",
                disk_usage=lambda path: (10**12, 10**12 - 200_000_000, 200_000_000))
    assert journal.read_record() is None  # nothing was started


def test_an_old_driver_stops_a_cuda_install_with_the_driver_it_needs():
    blackwell = Hardware("windows", "x86_64", (NvidiaGpu("NVIDIA GeForce RTX 5070", (12, 0)),), cuda_driver=(12, 6))
    with pytest.raises(StudioError, match="580 series or newer"):
        install(get_build("cu130"), blackwell, on_progress=lambda p: None, uv="/nonexistent/uv")


def test_uv_running_out_of_disk_is_one_sentence():
    plan = torch_plan(get_build("cpu"), sys.executable, "uv", Path("cache"))
    output = ["Resolved 26 packages in 1.2s", "error: Failed to extract archive: torch-2.13.0+cpu-cp311.whl",
              "  Caused by: No space left on device (os error 28)"]
    assert explain_failure(output, plan).startswith("The disk filled up during the PyTorch install")


def test_no_network_is_one_sentence_and_changes_nothing(tmp_path):
    python = str(scratch_env(tmp_path / "env"))
    environ = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
               "ALL_PROXY": "http://127.0.0.1:9", "UV_HTTP_RETRIES": "0", "NO_PROXY": ""}
    plan = replace(torch_plan(get_build("cpu"), python, find_uv(), tmp_path / "cache"), environ=environ)
    with pytest.raises(StudioError) as failure:
        run_uv(plan, lambda p: None, threading.Event())
    sentence = str(failure.value)
    assert sentence.startswith("PyTorch could not be downloaded:") and "proxy" in sentence, sentence
    assert "torch" not in packages_in(python)


@posix_only
def test_a_cancelled_install_resumes_from_what_was_downloaded(fake_uv):
    cancel = threading.Event()
    seen = []

    def on_progress(progress):
        seen.append(progress)
        if progress.done_mb >= 5:
            cancel.set()

    with pytest.raises(SetupCancelled):
        install(get_build("cpu"), CPU_LINUX, on_progress=on_progress, cancel=cancel, uv=str(fake_uv))
    record = journal.read_record()
    assert record.status == journal.FAILED and record.message == "cancelled"
    downloaded = len(list(journal.uv_cache_dir().glob("chunk-*")))
    assert 5 <= downloaded < 40
    assert any(p.speed_mb_s and p.eta_s for p in seen)  # MB, speed and time left were measured

    verified = install(get_build("cpu"), CPU_LINUX, on_progress=lambda p: None, uv=str(fake_uv))
    assert calls(fake_uv)[-1]["cached"] == downloaded  # the second run started from the first one's downloads
    assert verified.torch == "2.13.0+cpu" and verified.device == "cpu"  # verified in a subprocess
    assert journal.read_record().status == journal.VERIFIED
    args = calls(fake_uv)[-1]["args"]
    assert "torch==2.13.0+cpu" in args and "accelerate>=0.30" in args and args[args.index("--python") + 1] == sys.executable


def test_an_install_cut_off_by_a_crash_is_offered_again_at_start():
    journal.write_record(journal.Record("cu130", journal.INSTALLING))
    situation = look(detect_hardware=lambda: CPU_LINUX)
    assert situation.fit.ok and situation.needs_setup  # the torch found may be half-linked: verify it again
    assert "interrupted" in situation.explain() and "cu130" in situation.explain()


def test_a_wrong_build_at_start_asks_for_a_repair_unless_the_user_keeps_it():
    hardware = Hardware("linux", "x86_64", (NvidiaGpu("NVIDIA GeForce RTX 4090", (8, 9)),), cuda_driver=(13, 0))
    installed = InstalledTorch("2.13.0+cpu")
    situation = Situation(hardware, propose(hardware), installed, assess(installed, hardware, propose(hardware)))
    assert situation.needs_setup and "CPU build" in situation.explain()
    kept = replace(situation, record=journal.Record("", journal.KEPT, declined="2.13.0+cpu"))
    assert not kept.needs_setup


def test_a_damaged_record_is_set_aside():
    path = journal.setup_dir() / "state.json"
    path.write_text("{not json")
    assert journal.read_record() is None
    assert not path.exists() and list(journal.setup_dir().glob("state.damaged-*.json"))


@needs_wheels
def test_studio_setup_installs_the_cpu_build_into_a_fresh_environment(tmp_path):
    """A new user's environment: the app and its base dependencies, no torch; then `studio setup`."""
    uv = find_uv()
    python = scratch_env(tmp_path / "app-env")
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), str(ROOT)], check=True, timeout=600)
    env = {**os.environ, "STUDIO_HOME": str(tmp_path / "home"), "STUDIO_TORCH_WHEELS": str(WHEELS)}
    env.pop("PYTHONPATH", None)
    studio = [str(python.with_name("studio")), "setup"]
    before = subprocess.run([*studio, "--check"], env=env, capture_output=True, text=True, timeout=120)
    assert before.returncode == 3 and "not installed" in before.stdout, before.stdout + before.stderr

    done = subprocess.run([*studio, "--yes", "--build", "cpu"], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PyTorch 2.13.0+cpu works (cpu)" in done.stdout

    after = subprocess.run([*studio, "--check"], env=env, capture_output=True, text=True, timeout=120)
    assert after.returncode == 0 and "fits" in after.stdout
    engine_ready = subprocess.run([str(python), "-c", textwrap.dedent("""
        import torch, accelerate
        print(torch.__version__, (torch.ones(2, 2) @ torch.ones(2, 2)).sum().item())""")],
        env=env, capture_output=True, text=True, timeout=300)
    assert engine_ready.stdout.split() == ["2.13.0+cpu", "8.0"], engine_ready.stderr
    record = json.loads((tmp_path / "home" / "setup" / "state.json").read_text())
    assert record["status"] == "verified" and record["torch"] == "2.13.0+cpu"


def test_studio_setup_check_says_what_it_found(capsys):
    from studio.setup.command import main

    assert main(["--check"]) == 0  # the test environment's own CPU torch fits this machine
    out = capsys.readouterr().out
    assert "Found: no GPU" in out and "Proposed build: cpu (torch 2.13.0+cpu)" in out and "OK:" in out
    assert main(["--list-builds"]) == 0
    listing = capsys.readouterr().out
    assert "* cpu" in listing and "cu130" in listing and "580+" in listing
    assert main(["--yes"]) == 0  # it fits: nothing to install
    assert "OK: PyTorch 2.13.0+cpu fits" in capsys.readouterr().out
    assert main(["--yes", "--build", "cu999"]) == 2
    assert "no PyTorch build called 'cu999'" in capsys.readouterr().err
