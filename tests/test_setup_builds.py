"""The GPU-to-build table and the fit of an installed torch: pure functions over described machines."""

import pytest

from studio.setup.builds import BUILDS, PYTORCH_INDEX, TORCH_VERSION, builds_for, driver_allows, get_build, propose
from studio.setup.hardware import AmdGpu, Hardware, NvidiaGpu
from studio.setup.installed import InstalledTorch, assess

RTX_5090 = NvidiaGpu("NVIDIA GeForce RTX 5090", (12, 0))
RTX_4090 = NvidiaGpu("NVIDIA GeForce RTX 4090", (8, 9))
GTX_1080 = NvidiaGpu("NVIDIA GeForce GTX 1080", (6, 1))


def nvidia(gpu, cuda=(13, 0), system="linux", driver=None):
    return Hardware(system, "x86_64", (gpu,), cuda_driver=cuda, driver_version=driver)


@pytest.mark.parametrize(("hardware", "expected"), [
    (nvidia(RTX_5090, (13, 0)), "cu130"),
    (nvidia(RTX_5090, (12, 8)), "cu129"),  # a 570-series driver: the CUDA 12 build with Blackwell kernels
    (nvidia(RTX_5090, (12, 8), system="windows"), "cu130"),  # no cu129 on Windows: the driver check will ask for 580
    (nvidia(RTX_4090, (13, 0)), "cu130"),
    (nvidia(RTX_4090, (12, 6), system="windows"), "cu126"),
    (nvidia(GTX_1080, (13, 0)), "cu126"),  # Pascal: only cu126 still has its kernels
    (nvidia(NvidiaGpu("Tesla K80", (3, 7))), "cpu"),
    (Hardware("linux", "x86_64"), "cpu"),
    (Hardware("windows", "AMD64"), "cpu"),
    (Hardware("darwin", "arm64"), "mps"),
    (Hardware("linux", "x86_64", amd=(AmdGpu("Radeon RX 7900 XTX", "gfx1100"),)), "rocm7.2"),
    (Hardware("linux", "x86_64", amd=(AmdGpu("Radeon 680M", "gfx1035"),)), "cpu"),  # not in ROCm's list
    (Hardware("windows", "AMD64", amd=(AmdGpu("Radeon RX 7900 XTX", "gfx1100"),)), "cpu"),
])
def test_each_machine_gets_the_build_that_fits(hardware, expected):
    proposal = propose(hardware)
    assert proposal.build is not None and proposal.build.name == expected, proposal.reason
    assert proposal.build in builds_for(hardware)


def test_blackwell_reason_names_its_needs():
    reason = propose(nvidia(RTX_5090)).reason
    assert "sm_120" in reason and "570" in reason


def test_an_intel_mac_is_told_what_it_can_run():
    proposal = propose(Hardware("darwin", "x86_64"))
    assert proposal.build is None
    assert "Intel Macs" in proposal.reason and "Apple-silicon" in proposal.reason


@pytest.mark.parametrize(("hardware", "build", "allowed"), [
    (nvidia(RTX_4090, (12, 8)), "cu130", False),
    (nvidia(RTX_4090, (12, 8)), "cu126", True),
    (nvidia(RTX_5090, (12, 6)), "cu129", False),  # Blackwell needs the 570 series even for a CUDA 12 build
    (nvidia(RTX_5090, None, driver="570.86.10"), "cu129", True),  # nvidia-smi's number when ctypes failed
    (nvidia(RTX_5090, None, driver="566.36", system="windows"), "cu126", False),
    (nvidia(RTX_4090, None), "cu130", None),
])
def test_driver_needs_follow_nvidias_table(hardware, build, allowed):
    assert driver_allows(hardware, get_build(build)) is allowed


def test_every_build_is_pinned_to_one_exact_version_from_one_index():
    for build in BUILDS:
        assert build.torch.split("+")[0] == TORCH_VERSION
        if build.uses_torch_backend:  # uv's --torch-backend NAME reads the same index
            assert build.index_url == f"{PYTORCH_INDEX}/{build.name}" and build.torch.endswith(f"+{build.name}")


@pytest.mark.parametrize(("version", "hardware", "ok", "words"), [
    (None, Hardware("linux", "x86_64"), False, "not installed"),
    ("2.13.0+cpu", nvidia(RTX_4090), False, "CPU build"),
    ("2.13.0+cu126", nvidia(RTX_5090), False, "Blackwell"),
    ("2.13.0+cu130", nvidia(GTX_1080), False, "cu126"),
    ("2.13.0+cu130", nvidia(RTX_4090, (12, 8)), False, "driver"),
    ("2.13.0+cu130", nvidia(RTX_5090), True, "fits"),
    ("2.13.0+cpu", Hardware("linux", "x86_64"), True, "fits"),
    ("2.13.0", Hardware("darwin", "arm64"), True, "fits"),
    ("2.13.0+cpu", Hardware("linux", "x86_64", amd=(AmdGpu("RX 7900 XTX", "gfx1100"),)), False, "ROCm"),
    ("2.1.0+cpu", Hardware("linux", "x86_64"), False, "too old"),
])
def test_the_installed_torch_is_judged_against_the_machine(version, hardware, ok, words):
    installed = InstalledTorch(version) if version else None
    fit = assess(installed, hardware, propose(hardware))
    assert fit.ok is ok and words in fit.reason, fit.reason
