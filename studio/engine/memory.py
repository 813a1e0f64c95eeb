"""Out-of-memory handling: recognise it, free what can be freed, and tell the user what to change."""

import gc

import torch

from studio.core.errors import StudioError
from studio.core.request import GenerationRequest


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def release_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


def out_of_memory_error(request: GenerationRequest, device: torch.device) -> StudioError:
    tips = ["a smaller size", "a smaller batch"] if request.batch_size > 1 else ["a smaller size"]
    if device.type in ("cuda", "mps"):
        tips.append("a leaner memory plan (offload, or sequential)")
    return StudioError(
        f"Ran out of memory generating {request.batch_size} x {request.width}x{request.height} on "
        f"{device.type.upper()}; try {', or '.join(tips)}."
    )
