"""Verification in a fresh interpreter: import torch (and the engine's other packages), run a small matmul on
the build's device and compare it with the CPU's answer. The app's own process never imports torch for this.
``run_check`` runs such a check for other packages too (OpenVINO)."""

import json
import logging
import subprocess
from dataclasses import dataclass

from studio.core.errors import StudioError

log = logging.getLogger(__name__)

VERIFY_TIMEOUT_S = 600.0  # a first CUDA import can compile kernels and load gigabytes from a slow disk

VERIFY_SCRIPT = r"""
import json, sys
device = sys.argv[1]
import torch, accelerate
if device == "cuda" and not torch.cuda.is_available():
    print(json.dumps({"torch": torch.__version__, "error": "torch.cuda.is_available() is False"})); raise SystemExit
if device == "mps" and not torch.backends.mps.is_available():
    print(json.dumps({"torch": torch.__version__, "error": "torch.backends.mps.is_available() is False"})); raise SystemExit
a = torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
expected = a @ a
got = (a.to(device) @ a.to(device)).cpu()
name = torch.cuda.get_device_name(0) if device == "cuda" else device
print(json.dumps({"torch": torch.__version__, "device": name, "close": bool(torch.allclose(got, expected, atol=1e-3, rtol=1e-3))}))
"""


@dataclass(frozen=True)
class Verified:
    torch: str
    device: str  # "cpu", "mps" or the CUDA/ROCm device's name


def verification_device(accelerator: str) -> str:
    return {"cuda": "cuda", "rocm": "cuda", "mps": "mps"}.get(accelerator, "cpu")  # ROCm uses torch's cuda API


def verify(python: str, accelerator: str, expected_torch: str | None = None, *,
           timeout: float = VERIFY_TIMEOUT_S) -> Verified:
    """Run the check with ``python``; raise StudioError with one sentence when the environment is not usable."""
    device = verification_device(accelerator)
    result = run_check(python, VERIFY_SCRIPT, device, what="PyTorch", timeout=timeout)
    if "error" in result:
        raise StudioError(f"PyTorch {result['torch']} is installed but cannot use the {device.upper()} device "
                          f"({result['error']}): check the GPU driver, or choose another build.")
    if not result.get("close"):
        raise StudioError(f"PyTorch {result['torch']} computes wrong results on {result['device']}: choose another "
                          "build.")
    if expected_torch and result["torch"] != expected_torch:
        raise StudioError(f"The environment has PyTorch {result['torch']} instead of {expected_torch}: run the set-up "
                          "again to repair it.")
    return Verified(result["torch"], result["device"])


def run_check(python: str, script: str, *args: str, what: str, timeout: float = VERIFY_TIMEOUT_S) -> dict:
    """Run ``script`` in a fresh ``python`` and return the JSON object it printed last; StudioError (one sentence
    naming ``what``) when it times out, fails or prints nothing."""
    try:
        done = subprocess.run([python, "-c", script, *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise StudioError(f"Checking the installed {what} took longer than {timeout:.0f} s; install it again to "
                          "repair it.") from exc
    log.info("Verification of %s %s exit %s: %s %s", what, " ".join(args), done.returncode, done.stdout.strip(),
             done.stderr[-4000:])
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise StudioError(f"The installed {what} does not start ({last[:200]}): install it again to repair it.")
    return json.loads(lines[-1])
