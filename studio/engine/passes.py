"""A generation as a plan of passes: the base pass, then (hires fix) an upscale and a refining pass.

Each pass is one diffusers call, run by the engine with the same step callback, preview and cancel machinery;
:class:`Progress` makes their steps one progress bar. A pass after the first takes the previous pass's output
(decoded images, or latents for a latent upscaler), upscaled to its size, as its image-to-image input.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch
from PIL import Image

from studio.core.hires import LATENT_UPSCALERS, PIXEL_FILTERS
from studio.core.request import GenerationRequest, Mode

# Images upscaled by a model (an upscaler from the models folder), given the upscaler's name.
ModelUpscale = Callable[[str, list[Image.Image]], list[Image.Image]]


@dataclass(frozen=True)
class Pass:
    """``request`` gives this pass's size, prompt, steps (diffusers' ``num_inference_steps``), strength and
    scheduler; ``upscaler`` names how the previous pass's output becomes this pass's input (None: the first)."""

    request: GenerationRequest
    upscaler: str | None = None
    latent_output: bool = False  # hand latents to the next pass instead of decoding them

    @property
    def mode(self) -> Mode:
        return Mode.IMAGE_TO_IMAGE if self.upscaler is not None else self.request.mode


def plan(request: GenerationRequest) -> list[Pass]:
    """The passes that make ``request``'s images."""
    hires = request.hires
    base = replace(request, hires=None)
    if hires is None:
        return [Pass(base)]
    width, height = hires.target_size(request.width, request.height)
    refine = replace(
        base,
        width=width,
        height=height,
        steps=hires.inference_steps(request.steps),
        strength=hires.strength,
        prompt=request.prompt if hires.prompt is None else hires.prompt,
        negative_prompt=request.negative_prompt if hires.negative_prompt is None else hires.negative_prompt,
        scheduler=hires.scheduler or request.scheduler,
    )
    return [Pass(base, latent_output=hires.is_latent), Pass(refine, upscaler=hires.upscaler)]


def timestep_count(scheduler, step: Pass) -> int:
    """How many times the pass's step callback will fire, as its pipeline computes it (``num_timesteps``)."""
    request = step.request
    # A flow-matching scheduler with dynamic shifting needs the image's shift (mu); the count does not depend on it.
    scheduler.set_timesteps(request.steps, **({"mu": 1.0} if scheduler.config.get("use_dynamic_shifting") else {}))
    if step.mode is Mode.TEXT_TO_IMAGE:
        return len(scheduler.timesteps)
    kept = min(int(request.steps * request.strength), request.steps)
    return len(scheduler.timesteps[max(request.steps - kept, 0) * scheduler.order :])


class Progress:
    """One progress bar over all passes: the steps of earlier passes plus this pass's, out of their sum.

    Later passes count with their expected totals until they run; the running pass uses its pipeline's own.
    """

    def __init__(self, expected: Sequence[int]) -> None:
        self._expected = list(expected)
        self._index = 0
        self._done = 0

    def start(self, index: int, done_before: int) -> None:
        self._index, self._done = index, done_before

    def at(self, step: int, pass_total: int) -> tuple[int, int]:
        """(step, total) of the whole generation for ``step`` of ``pass_total`` in the running pass."""
        later = sum(self._expected[self._index + 1 :])
        return self._done + step, self._done + pass_total + later


def upscale(previous, upscaler: str, size: tuple[int, int], vae_scale_factor: int, model_upscale: ModelUpscale):
    """The previous pass's output at ``size``: latents (latent upscalers) or images (the others)."""
    width, height = size
    if upscaler in LATENT_UPSCALERS:
        mode, antialias = LATENT_UPSCALERS[upscaler]
        target = (height // vae_scale_factor, width // vae_scale_factor)
        return torch.nn.functional.interpolate(previous, size=target, mode=mode, antialias=antialias)
    images = list(previous)
    if upscaler not in PIXEL_FILTERS:
        images = model_upscale(upscaler, images)
    resample = PIXEL_FILTERS.get(upscaler, Image.Resampling.LANCZOS)
    return [img if img.size == size else img.resize(size, resample) for img in images]
