"""One component converted to OpenVINO: converted once per graph key and kept on disk, compiled per input shape.

Conversion traces the PyTorch module with the first real inputs (``openvino.convert_model``) and saves the model
in OpenVINO's IR (``model.xml`` + ``model.bin``, fp32: ``compress_to_fp16=False``, which would change pixels) under
``<root>/cache/openvino/<name>-<key>/``, written to a temporary folder and renamed, so a crash leaves no half model.
The IR keeps dynamic shapes; each run compiles it for its static shapes (faster on the CPU than dynamic ones). On
the CPU that takes a few seconds (SD 1.5's UNet at 512x512: 2.3-2.9 s), and OpenVINO's ``CACHE_DIR`` does not pay:
a cache hit took 2.1 s, writing the blob 9 s more and 3.4 GB of disk per size. On a GPU, where compiling builds
kernels, ``CACHE_DIR`` is the model folder's ``compiled-<precision>/`` (removing the folder removes its blobs with
it): one folder per precision, because OpenVINO's blob key leaves the precision out (a bf16 compile found the fp32
blob and computed NaNs). Only the last compiled shape is kept in memory (each holds a copy of the weights).

Precision: fp32 by default (``INFERENCE_PRECISION_HINT`` f32: PyTorch's pictures); ``fast`` leaves the choice to
OpenVINO, which computes in bf16 on CPUs with AMX or AVX-512 BF16 (the SD 1.5 UNet at 512x512 on this CPU: 1.6 s a
step instead of 5.8 s) and fp16 on GPUs: other pixels, so it is an opt-in, and :attr:`ConvertedModel.precision`
says what the last call computed in.

With ``int8`` the converted model's weights (MatMul, convolution and embedding constants) are compressed to 8 bits
with a per-channel scale and zero point by ``nncf.compress_weights`` (INT8_ASYM, data-free) before it is saved:
a quarter of the file, and other pixels. The compressed IR runs without NNCF; only converting needs it.

Tracing's temporaries (about 2.5 GB for SD 1.5's UNet) are handed back to the kernel once the model is saved
(:func:`studio.core.allocator.release_freed_blocks`): the app keeps freed blocks in malloc's heap for the next
call, and OpenVINO's compile, which allocates elsewhere, would add its copy of the weights on top. Measured at
512x512: converting and running SD 1.5's UNet alone peaked at 12.8 GB without, 11.1 GB with; a whole first run
of ``studio generate --backend openvino`` at 18.6 GB without, 17.0 GB with.

Inference runs asynchronously and is polled, so a cancelled token stops it inside a step (``InferRequest.cancel``).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from studio.core import allocator
from studio.core.cancel import CancelToken
from studio.engine.interrupt import Interrupted

log = logging.getLogger(__name__)

POLL_MS = 50  # how often a running inference looks at the cancel token
# fp32 by default: OpenVINO picks bf16/fp16 on CPUs and GPUs that have them, which changes pixels.
EXACT_CONFIG = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
FAST_CONFIG = {"PERFORMANCE_HINT": "LATENCY"}


class ConvertedModel:
    """``graph`` is the traceable module (tensors in, a tensor or a tuple of tensors out), called with keyword
    tensors; a call gives its outputs as a tuple."""

    def __init__(self, core, device: str, folder: Path, graph: Callable[[], torch.nn.Module], *,
                 int8: bool = False) -> None:
        self._core = core
        self._device = device
        self.folder = folder
        self._graph = graph
        self._int8 = int8
        self._model = None  # the IR, read once
        self._compiled: tuple[tuple, object] | None = None  # ((shapes, fast), CompiledModel)
        self._request = None
        self.compiles = 0  # shapes compiled (on a GPU each may add a blob to the folder)
        self.precision = ""  # what the last compiled model computes in: "f32", "bf16", "f16"

    @property
    def cached(self) -> bool:
        return (self.folder / "model.xml").is_file()

    def convert(self, example: dict[str, torch.Tensor]) -> float:
        """Trace the module with ``example`` and save the IR; the seconds it took."""
        start = time.perf_counter()
        work = self.folder.with_name(f".{self.folder.name}.{os.getpid()}.partial")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            self._save_converted(example, work)
            try:
                os.replace(work, self.folder)
            except OSError:  # another process saved it first: theirs is the same model
                if not self.cached:
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
            allocator.release_freed_blocks()  # the traced graph and its copy of the weights are gone by now
        return time.perf_counter() - start

    def _save_converted(self, example: dict[str, torch.Tensor], folder: Path) -> None:
        import openvino as ov

        with torch.inference_mode(False), torch.no_grad():
            inputs = {name: _as_traced(tensor).clone() for name, tensor in example.items()}
            model = ov.convert_model(self._graph(), example_input=inputs)
        if self._int8:
            model = _compressed_int8(model)
        ov.save_model(model, folder / "model.xml", compress_to_fp16=False)

    def __call__(self, inputs: dict[str, torch.Tensor], cancel: CancelToken | None, *,
                 fast: bool = False) -> tuple[torch.Tensor, ...]:
        """``fast``: in the precision OpenVINO computes fastest on this device (see :attr:`precision`)."""
        arrays = {name: np.ascontiguousarray(_as_traced(t).cpu().numpy()) for name, t in inputs.items()}
        request = self._request_for(tuple((name, a.shape) for name, a in arrays.items()), fast)
        request.start_async(arrays)
        while True:  # the token first: a cancel that came before the call stops it as well
            if cancel is not None and cancel.cancelled:
                request.cancel()
                self._request = None  # a cancelled request is not reused
                raise Interrupted
            if request.wait_for(POLL_MS):
                break
        count = len(self._compiled[1].outputs)
        return tuple(torch.from_numpy(request.get_output_tensor(i).data.copy()) for i in range(count))

    def _request_for(self, shapes: tuple, fast: bool):
        if self._compiled is None or self._compiled[0] != (shapes, fast):
            self._compiled = None  # free the previous shape's copy first
            self._request = None
            if self._model is None:
                self._model = self._core.read_model(self.folder / "model.xml")
                shutil.rmtree(self.folder / "compiled", ignore_errors=True)  # earlier versions' blobs, for any precision
            model = self._model.clone()
            model.reshape({name: list(shape) for name, shape in shapes})
            start = time.perf_counter()
            config = FAST_CONFIG if fast else EXACT_CONFIG
            if self._device != "CPU":
                config = config | {"CACHE_DIR": str(self.folder / f"compiled-{'fast' if fast else 'f32'}")}
            compiled = self._core.compile_model(model, self._device, config)
            self.precision = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
            log.info("OpenVINO: compiled %s for %s on %s in %s in %.1f s", self.folder.name, shapes, self._device,
                     self.precision, time.perf_counter() - start)
            self._compiled = ((shapes, fast), compiled)
            self.compiles += 1
        if self._request is None:
            self._request = self._compiled[1].create_infer_request()
        return self._request


def _as_traced(tensor: torch.Tensor) -> torch.Tensor:
    """Float inputs in fp32 (what the graphs are converted in), token ids as they are."""
    tensor = tensor.detach()
    return tensor.to(torch.float32) if tensor.is_floating_point() else tensor


def converted_size(graph: Callable[[], torch.nn.Module]) -> int:
    """About the bytes a conversion puts on disk: the fp32 IR (on a GPU a compiled blob about as large comes with
    each size and precision)."""
    module = graph()
    return 4 * sum(t.numel() for t in list(module.parameters()) + list(module.buffers()))


def _compressed_int8(model):
    import nncf

    nncf.set_log_level(logging.WARNING)  # its per-layer tables and progress bars would fill the CLI's output
    return nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)


def memory_short_for_conversion(graph: Callable[[], torch.nn.Module]) -> str:
    """Why converting would not fit in free memory ("" when it fits, or when the free memory is unknown).

    Tracing holds a second copy of the weights (OpenVINO's constants) next to PyTorch's: an fp32 SDXL UNet (10 GB)
    needs about 20 GB free on top of the loaded pipeline. Running out kills the process rather than raising, so
    this is checked before, from Linux's MemAvailable."""
    needed = 2 * sum(p.numel() * p.element_size() for p in graph().parameters())
    free = _available_memory()
    if free is None or free >= needed:
        return ""
    return f"needs about {needed / 1e9:.0f} GB, {free / 1e9:.0f} GB free"


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None
