"""Hardware detection, every probe bounded by a deadline: a hung driver or ``nvidia-smi`` costs seconds, never
the window.

NVIDIA: the CUDA driver library through ctypes (``libcuda.so.1`` / ``nvcuda.dll``), in a subprocess so that a
hanging ``cuInit`` can be killed; ``nvidia-smi`` when that fails. Apple silicon: the platform. AMD: ``rocminfo``
(or an ``/opt/rocm`` folder) on Linux. The parsers are pure functions, tested with recorded outputs.
"""

import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from studio.setup.hardware import AmdGpu, Hardware, NvidiaGpu

log = logging.getLogger(__name__)

DEFAULT_DEADLINE_S = 8.0

# Runs in a fresh interpreter: loads the CUDA driver and asks it for the devices, then prints one JSON line.
CUDA_PROBE = r"""
import ctypes, json, sys
lib = None
for name in (["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", "libcuda.so"]):
    try:
        lib = ctypes.CDLL(name)
        break
    except OSError:
        pass
out = {"library": lib is not None}
if lib is not None:
    out["init"] = lib.cuInit(0)
    if out["init"] == 0:
        version, count = ctypes.c_int(), ctypes.c_int()
        lib.cuDriverGetVersion(ctypes.byref(version))
        lib.cuDeviceGetCount(ctypes.byref(count))
        out["driver"] = version.value
        out["gpus"] = []
        for index in range(count.value):
            device, major, minor = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
            lib.cuDeviceGet(ctypes.byref(device), index)
            name = ctypes.create_string_buffer(256)
            lib.cuDeviceGetName(name, 256, device)
            lib.cuDeviceComputeCapability(ctypes.byref(major), ctypes.byref(minor), device)
            out["gpus"].append({"name": name.value.decode("utf-8", "replace"), "capability": [major.value, minor.value]})
print(json.dumps(out))
"""

NVIDIA_SMI_QUERY = ["--query-gpu=name,driver_version,compute_cap", "--format=csv,noheader"]


@dataclass(frozen=True)
class ProbeOutput:
    """What one probe command printed, or why it printed nothing."""

    stdout: str | None
    problem: str | None = None  # "timed out after 5 s", "not found"...


ProbeRunner = Callable[[Sequence[str], float], ProbeOutput]


def run_probe(command: Sequence[str], timeout: float) -> ProbeOutput:
    """Run ``command``; a command that does not answer within ``timeout`` seconds is killed."""
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=max(timeout, 0.1),
                              stdin=subprocess.DEVNULL, creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    except subprocess.TimeoutExpired:
        return ProbeOutput(None, f"did not answer within {timeout:.0f} s")
    except OSError as exc:
        return ProbeOutput(None, f"could not run ({exc.strerror or exc})")
    if done.returncode != 0:
        return ProbeOutput(None, f"failed ({(done.stderr or done.stdout).strip()[:200] or done.returncode})")
    return ProbeOutput(done.stdout)


# -- parsers ---------------------------------------------------------------------------------------
def parse_cuda_probe(stdout: str) -> tuple[tuple[NvidiaGpu, ...], tuple[int, int] | None]:
    """The CUDA probe's JSON -> (GPUs, the CUDA version the driver supports)."""
    data = json.loads(stdout.strip().splitlines()[-1])
    if not data.get("library") or data.get("init") != 0:
        return (), None
    version = int(data.get("driver", 0))
    gpus = tuple(NvidiaGpu(gpu["name"], (int(gpu["capability"][0]), int(gpu["capability"][1])))
                 for gpu in data.get("gpus", []))
    return gpus, ((version // 1000, version % 1000 // 10) if version else None)


def parse_nvidia_smi(stdout: str) -> tuple[tuple[NvidiaGpu, ...], str | None]:
    """``nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader`` -> (GPUs, driver)."""
    gpus, driver = [], None
    for line in stdout.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 3 or "." not in parts[2]:
            continue
        major, minor = parts[2].split(".", 1)
        if not (major.isdigit() and minor.isdigit()):
            continue
        gpus.append(NvidiaGpu(parts[0], (int(major), int(minor))))
        driver = driver or parts[1]
    return tuple(gpus), driver


def parse_rocminfo(stdout: str) -> tuple[AmdGpu, ...]:
    """The GPU agents in ``rocminfo``'s output (CPU agents are listed there too)."""
    gpus, agent = [], {}

    def flush() -> None:
        if agent.get("Device Type") == "GPU" and agent.get("Name", "").startswith("gfx"):
            gpus.append(AmdGpu(agent.get("Marketing Name") or agent["Name"], agent["Name"]))

    for line in stdout.splitlines():
        text = line.strip()
        if text.startswith("Agent ") and text[6:].strip().isdigit():
            flush()
            agent = {}
        elif ":" in text:
            key, value = (part.strip() for part in text.split(":", 1))
            agent.setdefault(key, value)  # the first Name in an agent is its own; later ones are its caches'
    flush()
    return tuple(gpus)


# -- detection -------------------------------------------------------------------------------------
def current_system() -> tuple[str, str]:
    system = {"win32": "windows", "darwin": "darwin"}.get(sys.platform, "linux")
    return system, platform.machine().lower() or "unknown"


def detect(*, deadline_s: float = DEFAULT_DEADLINE_S, run: ProbeRunner = run_probe,
           system: tuple[str, str] | None = None, which: Callable[[str], str | None] = shutil.which,
           rocm_root: Path = Path("/opt/rocm")) -> Hardware:
    """Probe the machine. Never raises and never takes (much) longer than ``deadline_s`` in all."""
    os_name, machine = system or current_system()
    end = time.monotonic() + deadline_s
    notes: list[str] = []

    def left() -> float:
        return max(end - time.monotonic(), 0.1)

    if os_name == "darwin":
        return Hardware(os_name, machine)

    nvidia, cuda_driver, driver_version = (), None, None
    probe = run([sys.executable, "-c", CUDA_PROBE], left())
    if probe.stdout is not None:
        try:
            nvidia, cuda_driver = parse_cuda_probe(probe.stdout)
        except (ValueError, KeyError, IndexError, TypeError):
            notes.append("The CUDA driver probe printed something unexpected.")
            log.warning("CUDA probe output not understood: %r", probe.stdout)
    else:
        notes.append(f"The CUDA driver probe {probe.problem}.")
    smi = which("nvidia-smi")
    if smi and (not nvidia or not driver_version):
        answer = run([smi, *NVIDIA_SMI_QUERY], left())
        if answer.stdout is not None:
            smi_gpus, driver_version = parse_nvidia_smi(answer.stdout)
            nvidia = nvidia or smi_gpus
        else:
            notes.append(f"nvidia-smi {answer.problem}.")

    amd: tuple[AmdGpu, ...] = ()
    if os_name == "linux" and not nvidia:
        rocminfo = which("rocminfo") or (str(rocm_root / "bin" / "rocminfo")
                                         if (rocm_root / "bin" / "rocminfo").exists() else None)
        if rocminfo:
            answer = run([rocminfo], left())
            if answer.stdout is not None:
                amd = parse_rocminfo(answer.stdout)
            else:
                notes.append(f"rocminfo {answer.problem}.")
        if not amd and rocm_root.is_dir():
            amd = (AmdGpu("GPU (ROCm is installed; rocminfo did not name the card)"),)
    for note in notes:
        log.info("Hardware detection: %s", note)
    return Hardware(os_name, machine, nvidia, cuda_driver, driver_version, amd, tuple(notes))


def proxy_settings(environ: dict[str, str] | None = None) -> list[str]:
    """The proxy variables uv will use (it reads them from the environment the app passes on), credentials hidden."""
    environ = os.environ if environ is None else environ
    names = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")
    return [f"{name}={_hide_credentials(environ[name])}" for name in names if environ.get(name)]


def _hide_credentials(url: str) -> str:
    parts = urlsplit(url)
    if not (parts.username or parts.password) or not parts.hostname:
        return url
    return parts._replace(netloc=f"***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")).geturl()
