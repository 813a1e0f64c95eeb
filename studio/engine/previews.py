"""Step previews: the predicted clean image (x0) of each step, turned into RGB cheaply.

The default is a linear latent->RGB projection (well under a millisecond at 512x512, output at 1/8 size).
A tiny autoencoder (TAESD) gives a full-size preview when its weights are on disk, and is used only while
it costs less than a fraction of a denoising step. Previews only read tensors: the final image is unchanged.
"""

import functools
import logging
import time

import numpy as np
import torch

from studio.engine.taesd import TinyAutoencoder

log = logging.getLogger(__name__)

# A family's latent->RGB factors: a (channels x 3) matrix and a bias of 3 (``FamilyPlugin.preview_factors``).
Factors = tuple[np.ndarray, np.ndarray]


class X0Capture:
    """Wraps a scheduler's ``step`` on the instance to remember what the step predicted as the clean latent.

    Schedulers that return ``pred_original_sample`` (Euler, Euler a, DDIM, LCM) give it directly; multistep
    solvers in data-prediction mode (DPM++, UniPC) keep it in ``model_outputs[-1]``; for the rest (PNDM...)
    it is derived from the noise prediction and ``alphas_cumprod``. Flow-matching schedulers (Flux, SD 3.5)
    step with a velocity ``v``: the clean latent is ``x_t - sigma * v`` at the step's sigma.
    """

    def __init__(self, scheduler) -> None:
        self.scheduler = scheduler
        self.latest: torch.Tensor | None = None
        step = scheduler.step

        # functools.wraps keeps step's signature visible: pipelines pass ``generator`` (and ``eta``) only to a
        # step that declares it, and without it Euler a's and LCM's noise would not follow the seed.
        @functools.wraps(step)
        def wrapped(model_output, timestep, sample, *args, **kwargs):
            sigma = self._flow_sigma(timestep)  # before the step, which moves the step index on
            out = step(model_output, timestep, sample, *args, **kwargs)
            if sigma is not None:
                self.latest = sample[:1] - sigma.to(sample.device, sample.dtype) * model_output[:1]
            else:
                self.latest = self._x0(out, model_output, timestep, sample)
            return out

        self._wrapped = wrapped
        scheduler.step = wrapped

    def _flow_sigma(self, timestep):
        """The sigma of this step for a flow-matching scheduler (which has sigmas but no ``alphas_cumprod``)."""
        scheduler = self.scheduler
        if hasattr(scheduler, "alphas_cumprod") or getattr(scheduler, "sigmas", None) is None:
            return None
        if scheduler.step_index is None:
            scheduler._init_step_index(timestep)
        return scheduler.sigmas[scheduler.step_index]

    def _x0(self, out, model_output, timestep, sample) -> torch.Tensor:
        pred = out[1] if isinstance(out, tuple) and len(out) > 1 else getattr(out, "pred_original_sample", None)
        if pred is not None:
            return pred
        outputs = getattr(self.scheduler, "model_outputs", None)
        config = self.scheduler.config
        data_prediction = config.get("algorithm_type", "") in ("dpmsolver++", "sde-dpmsolver++") or config.get(
            "predict_x0", False
        )
        if outputs and outputs[-1] is not None and data_prediction:
            return outputs[-1]
        alphas = getattr(self.scheduler, "alphas_cumprod", None)
        sample, model_output = sample[:1], model_output[:1]  # only the first image is previewed
        if alphas is None:
            return sample
        a = alphas[int(timestep)].to(sample.device, sample.dtype)
        if config.get("prediction_type") == "v_prediction":
            return a.sqrt() * sample - (1 - a).sqrt() * model_output
        return (sample - (1 - a).sqrt() * model_output) / a.sqrt()

    def restore(self) -> None:
        if self.scheduler.__dict__.get("step") is self._wrapped:
            del self.scheduler.step


def linear_preview(latents: torch.Tensor, factors: Factors) -> np.ndarray:
    """First image of a latent batch -> HxWx3 uint8 at latent resolution.

    Done in numpy on purpose: a tiny torch op still wakes torch's intra-op thread pool, which costs
    milliseconds per call when the UNet's threads keep the cores busy; numpy does it in ~0.05 ms.
    """
    factors, bias = factors
    lat = latents[0].detach().to("cpu", torch.float32).numpy()
    rgb = np.tensordot(lat, factors, axes=([0], [0])) + bias
    return ((np.clip(rgb, -1.0, 1.0) + 1.0) * 127.5).round().astype(np.uint8)


class Previewer:
    """Turns the latest x0 into an RGB array: by the tiny autoencoder (TAESD, full size) while it costs at most
    ``budget`` times the measured denoising step, else by the linear projection."""

    def __init__(self, factors: Factors, taesd: TinyAutoencoder | None = None, budget: float = 0.1) -> None:
        self.factors = factors
        self.taesd = taesd
        self.budget = budget

    def __call__(self, x0: torch.Tensor, step_seconds: float) -> np.ndarray:
        if self.taesd is not None:
            start = time.perf_counter()
            rgb = self.taesd.decode(x0[:1])[0]
            cost = time.perf_counter() - start
            if cost > self.budget * step_seconds:
                log.info("TAESD preview takes %.3fs per %.3fs step: switching to the linear preview", cost, step_seconds)
                self.taesd = None
            return rgb
        return linear_preview(x0, self.factors)

