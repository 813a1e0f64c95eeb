"""The PyTorch builds the set-up offers, and which one fits a machine (a pure table: no probing here).

Facts for torch 2.13.0 (PyTorch's release matrix and wheel indexes): CUDA builds cu126 (Maxwell to Hopper,
the last with Pascal and Volta kernels), cu129 (Linux only) and cu130 (Turing to Blackwell; PyPI's default
on Linux); ROCm 7.2 on Linux; macOS wheels only for Apple silicon (with MPS). Each build is pinned to an exact
version from one index. Driver needs follow NVIDIA's CUDA toolkit table: a CUDA 12.x build runs on drivers
of the 525 (Linux) / 528 (Windows) series or newer, a CUDA 13.x build needs the 580 series; Blackwell GPUs
need a 570-series driver whatever the build.
"""

from dataclasses import dataclass, field

from studio.core.errors import StudioError
from studio.setup.hardware import Hardware, NvidiaGpu

TORCH_VERSION = "2.13.0"
PYTORCH_INDEX = "https://download.pytorch.org/whl"
BLACKWELL_MIN_DRIVER = "570"
BLACKWELL_MIN_CUDA = (12, 8)  # what a 570-series driver reports through cuDriverGetVersion
# ROCm 7.2's GPU architectures (PyTorch's ROCm wheels, as listed by uv's torch backend table).
ROCM72_GFX = frozenset({"gfx900", "gfx906", "gfx908", "gfx90a", "gfx942", "gfx950", "gfx1030", "gfx1100",
                        "gfx1101", "gfx1102", "gfx1150", "gfx1151", "gfx1200", "gfx1201"})
INTEL_MAC_SENTENCE = ("PyTorch publishes no builds for Intel Macs since version 2.2, and Latent Studio needs a "
                      "newer one: use an Apple-silicon Mac, or a Windows or Linux PC (a CPU-only PC works, slowly).")


@dataclass(frozen=True)
class Build:
    name: str  # what `studio setup --build` takes; for index builds also uv's --torch-backend name
    label: str
    torch: str  # the exact version pinned, local tag included
    index_url: str
    platforms: frozenset[tuple[str, str]]  # (system, machine) pairs it has wheels for
    accelerator: str  # "cpu", "cuda", "rocm" or "mps": the device the verification runs on
    download_mb: dict[str, int] = field(default_factory=dict)  # per system, torch and its dependencies (estimates)
    installed_mb: dict[str, int] = field(default_factory=dict)
    cuda: tuple[int, int] | None = None
    sm: frozenset[tuple[int, int]] = frozenset()  # compute capabilities it has kernels for
    min_driver: dict[str, str] = field(default_factory=dict)  # per system, NVIDIA driver series
    min_cuda_driver: tuple[int, int] | None = None  # the same, as cuDriverGetVersion reports it

    @property
    def uses_torch_backend(self) -> bool:
        return self.index_url.startswith(PYTORCH_INDEX)

    def supports(self, system: str, machine: str) -> bool:
        return (system, machine) in self.platforms

    def runs_on(self, gpu: NvidiaGpu) -> bool:
        """A kernel for compute capability X.Y runs on X.Z with Z >= Y (NVIDIA's binary compatibility rule)."""
        major, minor = gpu.capability
        return any(sm_major == major and sm_minor <= minor for sm_major, sm_minor in self.sm)

    def sizes(self, system: str) -> tuple[int, int]:
        """(download, installed) in MB: estimates, for the panel and the free-space check."""
        return self.download_mb.get(system, 0), self.installed_mb.get(system, 0)


_LINUX = {("linux", "x86_64"), ("linux", "aarch64")}
_WINDOWS = {("windows", "x86_64")}
_CUDA12_DRIVER = {"linux": "525.60.13", "windows": "528.33"}
_CUDA13_DRIVER = {"linux": "580", "windows": "580"}
_TURING_TO_BLACKWELL = frozenset({(7, 5), (8, 0), (8, 6), (9, 0), (10, 0), (12, 0)})

BUILDS: tuple[Build, ...] = (
    Build("cpu", "CPU only", f"{TORCH_VERSION}+cpu", f"{PYTORCH_INDEX}/cpu", frozenset(_LINUX | _WINDOWS), "cpu",
          {"linux": 230, "windows": 150}, {"linux": 850, "windows": 600}),
    Build("mps", "Apple silicon (MPS)", TORCH_VERSION, "https://pypi.org/simple",
          frozenset({("darwin", "arm64")}), "mps", {"darwin": 90}, {"darwin": 350}),
    Build("cu126", "NVIDIA, CUDA 12.6 (Maxwell to Hopper)", f"{TORCH_VERSION}+cu126", f"{PYTORCH_INDEX}/cu126",
          frozenset(_LINUX | _WINDOWS), "cuda", {"linux": 2900, "windows": 2600}, {"linux": 6500, "windows": 5500},
          cuda=(12, 6), sm=frozenset({(5, 0), (6, 0), (7, 0), (7, 5), (8, 0), (8, 6), (9, 0)}),
          min_driver=_CUDA12_DRIVER, min_cuda_driver=(12, 0)),
    Build("cu129", "NVIDIA, CUDA 12.9 (Turing to Blackwell)", f"{TORCH_VERSION}+cu129", f"{PYTORCH_INDEX}/cu129",
          frozenset({("linux", "x86_64")}), "cuda", {"linux": 3100}, {"linux": 7000},
          cuda=(12, 9), sm=_TURING_TO_BLACKWELL, min_driver=_CUDA12_DRIVER, min_cuda_driver=(12, 0)),
    Build("cu130", "NVIDIA, CUDA 13.0 (Turing to Blackwell)", f"{TORCH_VERSION}+cu130", f"{PYTORCH_INDEX}/cu130",
          frozenset(_LINUX | _WINDOWS), "cuda", {"linux": 3000, "windows": 2700}, {"linux": 7000, "windows": 6000},
          cuda=(13, 0), sm=_TURING_TO_BLACKWELL, min_driver=_CUDA13_DRIVER, min_cuda_driver=(13, 0)),
    Build("rocm7.2", "AMD, ROCm 7.2", f"{TORCH_VERSION}+rocm7.2", f"{PYTORCH_INDEX}/rocm7.2",
          frozenset({("linux", "x86_64")}), "rocm", {"linux": 4800}, {"linux": 15000}),
)


def normalize_machine(machine: str) -> str:
    machine = machine.lower()
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "arm64", "aarch64": "aarch64"}.get(machine, machine)


def builds_for(hardware: Hardware) -> list[Build]:
    """The builds with wheels for this OS and processor, in table order."""
    machine = platform_machine(hardware)
    return [build for build in BUILDS if build.supports(hardware.system, machine)]


def get_build(name: str) -> Build:
    for build in BUILDS:
        if build.name == name:
            return build
    raise StudioError(f"There is no PyTorch build called '{name}'; choose one of {', '.join(b.name for b in BUILDS)}.")


@dataclass(frozen=True)
class Proposal:
    build: Build | None  # None: nothing PyTorch publishes runs here (an Intel Mac)
    reason: str  # one sentence: why this build


def propose(hardware: Hardware) -> Proposal:
    """The build to suggest. A suggestion only: the user confirms it or picks another."""
    if hardware.intel_mac:
        return Proposal(None, INTEL_MAC_SENTENCE)
    if hardware.apple_silicon:
        return Proposal(get_build("mps"), "Apple silicon runs PyTorch's macOS build, which uses the GPU through MPS.")
    available = {build.name: build for build in builds_for(hardware)}
    cpu = available.get("cpu")
    gpu = hardware.best_nvidia
    if gpu is not None:
        return _propose_cuda(hardware, gpu, available, cpu)
    if hardware.amd:
        gfx = hardware.amd[0].gfx
        if "rocm7.2" not in available:
            return Proposal(cpu, "PyTorch's AMD (ROCm) builds are for Linux only, so this PC gets the CPU build.")
        if gfx is not None and gfx not in ROCM72_GFX:
            return Proposal(cpu, f"PyTorch's ROCm build has no kernels for this AMD GPU ({gfx}), so it gets the "
                                 "CPU build.")
        return Proposal(available["rocm7.2"], "AMD GPUs on Linux run PyTorch's ROCm build.")
    return Proposal(cpu, "No GPU that PyTorch can use was found, so the CPU build fits (generating is slow).")


def _propose_cuda(hardware: Hardware, gpu: NvidiaGpu, available: dict[str, Build], cpu: Build | None) -> Proposal:
    fitting = [build for build in available.values() if build.accelerator == "cuda" and build.runs_on(gpu)]
    if not fitting:
        return Proposal(cpu, f"PyTorch {TORCH_VERSION} has no CUDA build for the {gpu.architecture} generation "
                             f"(compute capability {gpu.capability[0]}.{gpu.capability[1]}), so it gets the CPU build.")
    # Newest CUDA first; among those the driver can run, take the newest. If the driver runs none of them,
    # propose the newest anyway: the pre-download check then says which driver to install.
    fitting.sort(key=lambda build: build.cuda or (0, 0), reverse=True)
    driver_ok = [build for build in fitting if driver_allows(hardware, build) is not False]
    choice = (driver_ok or fitting)[0]
    what = f"the {gpu.architecture} generation ({gpu.sm})"
    if gpu.capability[0] >= 10:
        return Proposal(choice, f"Blackwell GPUs need a build with {gpu.sm} kernels (CUDA 12.8 or newer) and a "
                                f"{BLACKWELL_MIN_DRIVER}-series driver: {choice.name} has them.")
    if choice.name == "cu126" and gpu.capability < (7, 5):
        return Proposal(choice, f"{choice.name} is the last CUDA build with kernels for {what}.")
    if driver_ok and choice is not fitting[0]:
        return Proposal(choice, f"{choice.name} runs on {what} with this driver; {fitting[0].name} would need "
                                f"a {fitting[0].min_driver.get(hardware.system, '?')}-series driver.")
    return Proposal(choice, f"{choice.name} is the newest CUDA build for {what}.")


def driver_allows(hardware: Hardware, build: Build) -> bool | None:
    """Whether the NVIDIA driver is new enough for ``build`` (and for a Blackwell GPU); None when unknown."""
    if build.accelerator != "cuda":
        return True
    needs_cuda = build.min_cuda_driver or (0, 0)
    gpu = hardware.best_nvidia
    if gpu is not None and gpu.capability[0] >= 10:
        needs_cuda = max(needs_cuda, BLACKWELL_MIN_CUDA)
    if hardware.cuda_driver is not None:
        return hardware.cuda_driver >= needs_cuda
    if hardware.driver_version:
        needs = [build.min_driver.get(hardware.system, "0")]
        if gpu is not None and gpu.capability[0] >= 10:
            needs.append(BLACKWELL_MIN_DRIVER)
        return all(_version(hardware.driver_version) >= _version(need) for need in needs)
    return None


def required_driver(hardware: Hardware, build: Build) -> str:
    """'580' or '570' (for a Blackwell GPU) or '525.60.13': the driver series ``build`` needs here."""
    needs = build.min_driver.get(hardware.system, "")
    gpu = hardware.best_nvidia
    if gpu is not None and gpu.capability[0] >= 10 and _version(needs) < _version(BLACKWELL_MIN_DRIVER):
        return BLACKWELL_MIN_DRIVER
    return needs


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def platform_machine(hardware: Hardware) -> str:
    machine = normalize_machine(hardware.machine)
    return "arm64" if hardware.system == "darwin" and machine == "aarch64" else machine
