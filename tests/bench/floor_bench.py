"""The fp32 floor of a UNet call on this CPU: the SD 1.5 UNet's FLOPs per call (CFG batch of 2, counted by
``torch.utils.flop_counter``) over the best rate of a large fp32 matrix multiply (best of 5, torch's threads).
No kernel library runs a whole UNet faster than that, so it bounds what an fp32 backend can gain."""

import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from tests.bench.sd15 import sd15_unet

MATMUL_SIZE = 4096


def run(size: int = 512) -> dict:
    unet = sd15_unet().eval()
    latent = size // 8
    inputs = (torch.randn(2, 4, latent, latent), torch.tensor([500.0, 500.0]), torch.randn(2, 77, 768))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        unet(*inputs)
    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE), torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    flops = counter.get_total_flops()
    peak = 2 * MATMUL_SIZE ** 3 / best
    return dict(size=size, tflop=flops / 1e12, gflops=peak / 1e9, threads=torch.get_num_threads(),
                floor_s=flops / peak)


def report(figures: dict) -> str:
    return (f"SD 1.5 UNet at {figures['size']}x{figures['size']}, CFG batch 2: {figures['tflop']:.3f} TFLOP a call\n"
            f"fp32 matrix multiply ({MATMUL_SIZE}x{MATMUL_SIZE}, {figures['threads']} threads): "
            f"{figures['gflops']:.0f} GFLOPS\n"
            f"so a UNet call in fp32 takes at least {figures['floor_s']:.2f} s on this CPU")
