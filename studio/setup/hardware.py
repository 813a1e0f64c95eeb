"""What the set-up knows about the machine: its OS, its GPUs and their drivers (filled in by ``probes``)."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NvidiaGpu:
    name: str
    capability: tuple[int, int]  # compute capability, e.g. (12, 0) for an RTX 50 card

    @property
    def sm(self) -> str:
        return f"sm_{self.capability[0]}{self.capability[1]}"

    @property
    def architecture(self) -> str:
        major, minor = self.capability
        if major >= 10:
            return "Blackwell"
        if major == 9:
            return "Hopper"
        if (major, minor) == (8, 9):
            return "Ada"
        if major == 8:
            return "Ampere"
        if (major, minor) == (7, 5):
            return "Turing"
        if major == 7:
            return "Volta"
        if major == 6:
            return "Pascal"
        if major == 5:
            return "Maxwell"
        return "Kepler or older"


@dataclass(frozen=True)
class AmdGpu:
    name: str
    gfx: str | None = None  # the ROCm architecture, e.g. "gfx1100"; None when rocminfo was not available


@dataclass(frozen=True)
class Hardware:
    system: str  # "linux", "windows" or "darwin"
    machine: str  # "x86_64", "arm64", "aarch64"...
    nvidia: tuple[NvidiaGpu, ...] = ()
    cuda_driver: tuple[int, int] | None = None  # the newest CUDA the NVIDIA driver supports (cuDriverGetVersion)
    driver_version: str | None = None  # the NVIDIA driver's own number, e.g. "580.65.06" (from nvidia-smi)
    amd: tuple[AmdGpu, ...] = ()
    notes: tuple[str, ...] = field(default=())  # probes that failed or timed out, for the log and the panel

    @property
    def apple_silicon(self) -> bool:
        return self.system == "darwin" and self.machine in ("arm64", "aarch64")

    @property
    def intel_mac(self) -> bool:
        return self.system == "darwin" and not self.apple_silicon

    @property
    def best_nvidia(self) -> NvidiaGpu | None:
        """The GPU the engine will use (device 0 is what ``cuda`` means); the set-up must fit it."""
        return self.nvidia[0] if self.nvidia else None

    def describe(self) -> str:
        """One line for people: what was found."""
        if self.nvidia:
            gpu = self.nvidia[0]
            driver = []
            if self.driver_version:
                driver.append(f"driver {self.driver_version}")
            if self.cuda_driver:
                driver.append(f"supports CUDA {self.cuda_driver[0]}.{self.cuda_driver[1]}")
            extra = f" and {len(self.nvidia) - 1} more" if len(self.nvidia) > 1 else ""
            return (f"NVIDIA {gpu.name.removeprefix('NVIDIA ')}{extra} ({gpu.architecture}, compute capability "
                    f"{gpu.capability[0]}.{gpu.capability[1]}" + (f"; {', '.join(driver)}" if driver else "") + ")")
        if self.apple_silicon:
            return "Apple silicon (Metal, MPS)"
        if self.amd:
            gpu = self.amd[0]
            return f"AMD {gpu.name}" + (f" ({gpu.gfx})" if gpu.gfx else "")
        if self.intel_mac:
            return "an Intel Mac (no GPU that PyTorch can use)"
        return "no GPU that PyTorch can use"
