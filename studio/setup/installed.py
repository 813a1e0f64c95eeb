"""Which torch the app's environment has, and whether it fits the machine, without importing it.

The version comes from the package metadata (``importlib.metadata``); its local tag names the build:
``+cpu``, ``+cu130``, ``+rocm7.2``; no tag means PyPI's own wheel (CUDA on Linux, CPU on Windows, MPS on macOS).
"""

import importlib
import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass

from studio.setup.builds import BLACKWELL_MIN_CUDA, ROCM72_GFX, TORCH_VERSION, Proposal
from studio.setup.hardware import Hardware

MIN_TORCH = (2, 4)  # the engine extra's lower bound


@dataclass(frozen=True)
class InstalledTorch:
    version: str  # e.g. "2.13.0+cu130"

    @property
    def release(self) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", self.version.split("+")[0])[:3])

    @property
    def local(self) -> str | None:
        return self.version.split("+", 1)[1] if "+" in self.version else None

    def accelerator(self, system: str) -> str:
        local = self.local or ""
        if local.startswith("cu"):
            return "cuda"
        if local.startswith("rocm"):
            return "rocm"
        if local.startswith("cpu") or local:
            return "cpu"
        return {"linux": "cuda", "darwin": "mps"}.get(system, "cpu")

    def cuda(self) -> tuple[int, int] | None:
        """The CUDA version of a ``+cuXYZ`` build (``cu130`` -> (13, 0)); None for PyPI's untagged wheels."""
        match = re.fullmatch(r"cu(\d+)(\d)", self.local or "")
        return (int(match[1]), int(match[2])) if match else None


def installed_torch() -> InstalledTorch | None:
    """The torch this interpreter would import, or None. Does not import it."""
    importlib.invalidate_caches()  # a set-up in this process may just have installed it
    if importlib.util.find_spec("torch") is None:
        return None
    try:
        return InstalledTorch(importlib.metadata.version("torch"))
    except importlib.metadata.PackageNotFoundError:
        return None  # a torch folder without metadata is a broken install: set it up again


@dataclass(frozen=True)
class Fit:
    ok: bool
    reason: str  # one sentence: what is installed and whether it suits this machine


def assess(installed: InstalledTorch | None, hardware: Hardware, proposal: Proposal) -> Fit:
    """Does the installed torch fit this machine? A wrong build is named, so the window can offer a repair."""
    if installed is None:
        return Fit(False, "PyTorch is not installed in Latent Studio's environment yet.")
    if installed.release[:2] < MIN_TORCH:
        return Fit(False, f"PyTorch {installed.version} is too old for Latent Studio (it needs "
                          f"{MIN_TORCH[0]}.{MIN_TORCH[1]} or newer; the set-up installs {TORCH_VERSION}).")
    kind = installed.accelerator(hardware.system)
    gpu = hardware.best_nvidia
    if gpu is not None:
        name = f"the NVIDIA {gpu.name.removeprefix('NVIDIA ')}"
        if kind != "cuda":
            return Fit(False, f"PyTorch {installed.version} is a {kind.upper()} build, so it cannot use {name}: "
                              "repair it with a CUDA build.")
        cuda = installed.cuda()
        if cuda is not None and gpu.capability[0] >= 10 and cuda < BLACKWELL_MIN_CUDA:
            return Fit(False, f"PyTorch {installed.version} (CUDA {cuda[0]}.{cuda[1]}) has no kernels for {name} "
                              f"({gpu.sm}, Blackwell needs CUDA 12.8 or newer): repair it.")
        if cuda is not None and cuda >= (12, 8) and gpu.capability < (7, 5):
            return Fit(False, f"PyTorch {installed.version} (CUDA {cuda[0]}.{cuda[1]}) has no kernels for {name} "
                              f"({gpu.architecture}, {gpu.sm}): repair it with cu126.")
        if cuda is not None and hardware.cuda_driver is not None and hardware.cuda_driver[0] < cuda[0]:
            return Fit(False, f"PyTorch {installed.version} needs a newer NVIDIA driver than this one (CUDA "
                              f"{hardware.cuda_driver[0]}.{hardware.cuda_driver[1]}): update the driver or repair.")
        return Fit(True, f"PyTorch {installed.version} fits {name}.")
    if hardware.amd and hardware.system == "linux" and kind != "rocm" and proposal.build is not None \
            and proposal.build.accelerator == "rocm":
        return Fit(False, f"PyTorch {installed.version} cannot use the AMD GPU: repair it with the ROCm build.")
    if hardware.amd and kind == "rocm" and hardware.amd[0].gfx and hardware.amd[0].gfx not in ROCM72_GFX:
        return Fit(True, f"PyTorch {installed.version} is installed (ROCm may not support {hardware.amd[0].gfx}).")
    if kind == "rocm" and not hardware.amd:
        return Fit(False, f"PyTorch {installed.version} is an AMD (ROCm) build, but no AMD GPU was found.")
    return Fit(True, f"PyTorch {installed.version} fits this computer.")
