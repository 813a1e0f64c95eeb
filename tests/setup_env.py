"""For the set-up's install tests: scratch environments made by the real uv, and a stand-in for uv (a script
with a shebang, so POSIX only) that "downloads" 40 chunks of 1 MB into the cache (slowly), or finishes at once
when they are already there, as uv does with its cache, and empties the cache on `uv cache clean` (without
package names); it never touches an environment. It records each run (its arguments, the chunks it found) in
calls.jsonl beside itself."""

import json
import subprocess
import sys
from pathlib import Path

from studio.setup.installer import find_uv

import pytest

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="the fake uv is a script with a shebang")

FAKE_UV = """\
#!{python}
import json, sys, time
from pathlib import Path
args = sys.argv[1:]
cache = Path(args[args.index("--cache-dir") + 1])
if args[:2] == ["cache", "clean"]:
    if args[2] == "--cache-dir":
        for chunk in cache.glob("chunk-*"):
            chunk.unlink()
    raise SystemExit(0)
cache.mkdir(parents=True, exist_ok=True)
cached = len(list(cache.glob("chunk-*")))
with open(Path(__file__).with_name("calls.jsonl"), "a") as log:
    log.write(json.dumps({{"args": args, "cached": cached}}) + "\\n")
print("Resolved 2 packages in 10ms", flush=True)
for index in range(cached, 40):
    (cache / f"chunk-{{index:02d}}").write_bytes(b"x" * 1_000_000)
    time.sleep(0.1)
print("Prepared 2 packages in 4s", flush=True)
print("Installed 2 packages in 200ms", flush=True)
"""


def make_fake_uv(folder: Path) -> Path:
    """The fake uv in ``folder`` (a test module's ``fake_uv`` fixture)."""
    path = folder / "fake-uv"
    path.write_text(FAKE_UV.format(python=sys.executable))
    path.chmod(0o755)
    return path


def calls(fake_uv: Path) -> list[dict]:
    log = fake_uv.with_name("calls.jsonl")
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def venv_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def scratch_env(folder: Path) -> Path:
    """A new empty environment for this Python (uv venv: offline, a fraction of a second); its interpreter."""
    subprocess.run([find_uv(), "venv", "-q", str(folder), "--python", sys.executable], check=True)
    return venv_python(folder)


def packages_in(python: Path) -> str:
    """``uv pip list`` of that environment."""
    return subprocess.run([find_uv(), "pip", "list", "--python", str(python)], capture_output=True, text=True,
                          check=True).stdout
