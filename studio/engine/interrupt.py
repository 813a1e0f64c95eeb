"""Cancelling inside a denoising step, not only between steps.

``pipe._interrupt`` only skips later steps and still pays for the final VAE decode. Instead, forward
pre-hooks on the denoiser's (UNet or transformer) and VAE decoder's blocks raise :class:`Interrupted` as soon as the token is set,
so a cancel takes effect within one block (a fraction of a step) and nothing is decoded.
"""

from contextlib import contextmanager

import torch

from studio.core.cancel import CancelToken


class Interrupted(Exception):
    """Raised inside the pipeline to unwind it at once."""


def _blocks(module: torch.nn.Module) -> list[torch.nn.Module]:
    blocks: list[torch.nn.Module] = []
    # UNets, MMDiTs (Flux, SD 3.5, Chroma), Z-Image's refiners and main layers
    for name in ("down_blocks", "up_blocks", "transformer_blocks", "single_transformer_blocks", "noise_refiner",
                 "context_refiner", "layers"):
        blocks.extend(getattr(module, name, None) or [])
    mid = getattr(module, "mid_block", None)
    if mid is not None:
        blocks.append(mid)
    return blocks or [module]


@contextmanager
def interruptible(pipe, token: CancelToken):
    """While active, any UNet or VAE-decoder block raises :class:`Interrupted` once ``token`` is cancelled."""

    def check(_module, _args):
        if token.cancelled:
            raise Interrupted

    denoiser = getattr(pipe, "unet", None) or pipe.transformer
    modules = _blocks(denoiser) + _blocks(pipe.vae.decoder)
    handles = [m.register_forward_pre_hook(check) for m in modules]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
