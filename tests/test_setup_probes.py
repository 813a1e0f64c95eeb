"""Hardware detection from recorded probe outputs, and a hung probe that is cut off at its deadline."""

import json
import sys

from studio.setup.builds import propose
from studio.setup.probes import (
    CUDA_PROBE,
    ProbeOutput,
    detect,
    parse_nvidia_smi,
    parse_rocminfo,
    proxy_settings,
    run_probe,
)

CUDA_OUTPUT = json.dumps({"library": True, "init": 0, "driver": 12080,
                          "gpus": [{"name": "NVIDIA GeForce RTX 5080", "capability": [12, 0]}]})
NVIDIA_SMI_OUTPUT = "NVIDIA GeForce RTX 4070, 560.35.03, 8.9\nNVIDIA GeForce GTX 1060 6GB, 560.35.03, 6.1\n"
ROCMINFO_OUTPUT = """\
*******
Agent 1
*******
  Name:                    AMD Ryzen 9 7950X 16-Core Processor
  Marketing Name:          AMD Ryzen 9 7950X 16-Core Processor
  Device Type:             CPU
*******
Agent 2
*******
  Name:                    gfx1100
  Uuid:                    GPU-5a3c
  Marketing Name:          Radeon RX 7900 XTX
  Device Type:             GPU
  ISA Info:
    ISA 1
      Name:                    amdgcn-amd-amdhsa--gfx1100
"""


def fake_runner(answers):
    calls = []

    def run(command, timeout):
        calls.append(command)
        for key, output in answers.items():
            if key in " ".join(command):
                return output
        return ProbeOutput(None, "could not run (not found)")
    return run, calls


def test_the_cuda_driver_probe_names_gpu_capability_and_driver(tmp_path):
    run, _ = fake_runner({"cuInit": ProbeOutput(CUDA_OUTPUT)})
    hardware = detect(run=run, system=("linux", "x86_64"), which=lambda name: None, rocm_root=tmp_path / "none")
    assert hardware.nvidia[0].name == "NVIDIA GeForce RTX 5080" and hardware.nvidia[0].capability == (12, 0)
    assert hardware.cuda_driver == (12, 8)
    assert "Blackwell" in hardware.describe() and "CUDA 12.8" in hardware.describe()
    assert propose(hardware).build.name == "cu129"


def test_nvidia_smi_is_the_fallback_when_the_driver_library_fails(tmp_path):
    run, calls = fake_runner({"cuInit": ProbeOutput(None, "failed (libcuda.so.1: cannot open)"),
                              "--query-gpu": ProbeOutput(NVIDIA_SMI_OUTPUT)})
    hardware = detect(run=run, system=("linux", "x86_64"), which=lambda name: f"/usr/bin/{name}",
                      rocm_root=tmp_path / "none")
    assert [gpu.capability for gpu in hardware.nvidia] == [(8, 9), (6, 1)]
    assert hardware.driver_version == "560.35.03" and hardware.cuda_driver is None
    assert any("nvidia-smi" in command[0] for command in calls)
    assert propose(hardware).build.name == "cu129"  # 560 is too old for cu130 (580), fine for CUDA 12


def test_rocminfo_lists_only_gpu_agents(tmp_path):
    run, _ = fake_runner({"cuInit": ProbeOutput(json.dumps({"library": False})),
                          "rocminfo": ProbeOutput(ROCMINFO_OUTPUT)})
    hardware = detect(run=run, system=("linux", "x86_64"), which=lambda name: "/opt/rocm/bin/rocminfo"
                      if name == "rocminfo" else None, rocm_root=tmp_path / "none")
    assert [(gpu.name, gpu.gfx) for gpu in hardware.amd] == [("Radeon RX 7900 XTX", "gfx1100")]
    assert propose(hardware).build.name == "rocm7.2"
    assert parse_rocminfo("") == ()
    assert parse_nvidia_smi("garbage line\n") == ((), None)


def test_macs_are_described_by_the_platform_alone():
    run, calls = fake_runner({})
    assert detect(run=run, system=("darwin", "arm64")).apple_silicon
    assert detect(run=run, system=("darwin", "x86_64")).intel_mac
    assert calls == []


def test_a_hung_probe_is_killed_at_the_deadline(tmp_path):
    def hanging(command, timeout):
        return run_probe([sys.executable, "-c", "import time; time.sleep(120)"], timeout)

    hardware = detect(run=hanging, deadline_s=1.0, system=("linux", "x86_64"), which=lambda name: f"/usr/bin/{name}",
                      rocm_root=tmp_path / "none")
    assert hardware.nvidia == ()
    assert any("did not answer" in note for note in hardware.notes), hardware.notes
    assert propose(hardware).build.name == "cpu"


def test_the_real_cuda_probe_runs_here_and_finds_no_gpu():
    answer = run_probe([sys.executable, "-c", CUDA_PROBE], 30)
    assert answer.stdout is not None and json.loads(answer.stdout)["library"] in (True, False)


def test_proxies_from_the_environment_are_reported_without_passwords():
    found = proxy_settings({"HTTPS_PROXY": "http://user:secret@proxy.example:3128", "PATH": "/bin"})
    assert found == ["HTTPS_PROXY=http://***@proxy.example:3128"]
