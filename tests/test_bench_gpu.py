"""The GPU benchmark script runs (on tiny models, on the CPU) and prints its table; without a GPU it says so."""

import pytest
import torch

from tests.bench import gpu


def test_the_self_check_prints_every_row_for_both_families(capsys):
    assert gpu.main(["--self-check"]) == 0
    table = capsys.readouterr().out
    lines = table.splitlines()
    for family in ("SD 1.5", "SDXL"):
        for variant in ("diffusers (SDPA)", "diffusers + channels_last", "engine (channels_last, SDPA)"):
            [row] = [line for line in lines if family in line and variant in line]
            assert float(row.split()[-2]) > 0  # it/s (peak VRAM is 0.00 on the CPU)

@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the benchmark would run")
def test_without_a_gpu_it_says_so_and_exits_cleanly(capsys):
    assert gpu.main([]) == 0
    assert capsys.readouterr().out.startswith("No CUDA GPU here")
