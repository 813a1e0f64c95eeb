"""The fp32 floor of a UNet call on this CPU: the SD 1.5 UNet's FLOPs per call (CFG batch of 2, counted by
``torch.utils.flop_counter``) over the best rate of a large fp32 matrix multiply (best of 5), in torch and, when
it is installed, in OpenVINO. Both are timed because their kernels differ by CPU: on an AMD EPYC (Zen 4) torch's
BLAS (MKL) ran at 160 GFLOPS and OpenVINO's (oneDNN) at 284, so torch's rate alone would put the floor above
what OpenVINO achieves. No kernel library runs a whole UNet faster than the best rate, so it bounds what an fp32
backend can gain."""

import importlib.util
import time
from collections.abc import Callable

import numpy as np
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
    rates = {"torch": _rate(lambda: torch.mm(a, b))}
    if importlib.util.find_spec("openvino") is not None:
        rates["OpenVINO"] = _rate(_openvino_matmul(a.numpy(), b.numpy()))
    flops = counter.get_total_flops()
    peak = max(rates.values())
    return dict(size=size, tflop=flops / 1e12, gflops={name: rate / 1e9 for name, rate in rates.items()},
                threads=torch.get_num_threads(), floor_s=flops / peak)


def _rate(matmul: Callable[[], object]) -> float:
    """FLOP/s of the quickest of five ``MATMUL_SIZE``-square products (after one to warm up)."""
    matmul()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        matmul()
        best = min(best, time.perf_counter() - start)
    return 2 * MATMUL_SIZE ** 3 / best


def _openvino_matmul(a: np.ndarray, b: np.ndarray) -> Callable[[], object]:
    """``a @ b`` compiled by OpenVINO for the CPU in fp32, as the backend compiles the UNet."""
    import openvino as ov
    import openvino.opset13 as ops

    from studio.engine.openvino_backend.converted import EXACT_CONFIG

    left = ops.parameter(a.shape, ov.Type.f32)
    model = ov.Model([ops.matmul(left, ops.constant(b), False, False)], [left])
    request = ov.Core().compile_model(model, "CPU", EXACT_CONFIG).create_infer_request()
    return lambda: request.infer({0: a})


def report(figures: dict) -> str:
    rates = ", ".join(f"{name} {gflops:.0f}" for name, gflops in figures["gflops"].items())
    return (f"SD 1.5 UNet at {figures['size']}x{figures['size']}, CFG batch 2: {figures['tflop']:.3f} TFLOP a call\n"
            f"fp32 matrix multiply ({MATMUL_SIZE}x{MATMUL_SIZE}, {figures['threads']} threads), GFLOPS: {rates}\n"
            f"so a UNet call in fp32 takes at least {figures['floor_s']:.2f} s on this CPU")
