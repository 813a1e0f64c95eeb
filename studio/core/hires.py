"""Hires fix: text-to-image at the base size, then upscaled and refined by image-to-image at the target size.

A :class:`HiresPass` is the small frozen record inside a :class:`~studio.core.request.GenerationRequest` that
asks for the second pass; :mod:`studio.core.metadata` writes it the way AUTOMATIC1111 does.
"""

from dataclasses import dataclass

from PIL import Image

from studio.core.errors import StudioError
from studio.core.samplers import SCHEDULER_NAMES

# A1111's latent upscale modes: name -> (torch interpolate mode, antialias).
LATENT_UPSCALERS: dict[str, tuple[str, bool]] = {
    "Latent": ("bilinear", False),
    "Latent (antialiased)": ("bilinear", True),
    "Latent (bicubic)": ("bicubic", False),
    "Latent (bicubic antialiased)": ("bicubic", True),
    "Latent (nearest)": ("nearest", False),
    "Latent (nearest-exact)": ("nearest-exact", False),
}
# Pixel-space resampling by name (Pillow's filters); any other name is an upscaler model file.
PIXEL_FILTERS: dict[str, Image.Resampling] = {"Lanczos": Image.Resampling.LANCZOS, "Nearest": Image.Resampling.NEAREST}
PIXEL_UPSCALERS: tuple[str, ...] = tuple(PIXEL_FILTERS)
BUILTIN_UPSCALERS: tuple[str, ...] = (*LATENT_UPSCALERS, *PIXEL_UPSCALERS)

MIN_SCALE, MAX_SCALE = 1.0, 4.0
MAX_SCHEDULE = 1000  # a model's training timesteps: the most steps a schedule can be divided into


@dataclass(frozen=True)
class HiresPass:
    """The second pass. ``width``/``height`` (both or neither) give the target size; else ``scale`` does.

    ``steps`` is the number of denoising steps the second pass runs (0: as many as the first pass), as in
    A1111. ``prompt``, ``negative_prompt`` and ``scheduler`` None keep the first pass's.
    """

    scale: float = 2.0
    strength: float = 0.5
    steps: int = 0
    upscaler: str = "Latent"
    width: int | None = None
    height: int | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    scheduler: str | None = None

    @property
    def is_latent(self) -> bool:
        return self.upscaler in LATENT_UPSCALERS

    def target_size(self, width: int, height: int) -> tuple[int, int]:
        """The final size for a first pass of ``width`` x ``height`` (multiples of 8)."""
        if self.width is not None and self.height is not None:
            return self.width, self.height
        return round(width * self.scale / 8) * 8, round(height * self.scale / 8) * 8

    def steps_for(self, base_steps: int) -> int:
        """The denoising steps the second pass runs."""
        return self.steps or base_steps

    def inference_steps(self, base_steps: int) -> int:
        """diffusers' ``num_inference_steps`` that makes image-to-image at this strength run exactly
        :meth:`steps_for` steps (diffusers runs ``int(num_inference_steps * strength)`` of them)."""
        wanted = self.steps_for(base_steps)
        steps = max(wanted, int(wanted / self.strength))
        while int(steps * self.strength) < wanted:
            steps += 1
        return steps

    def validate(self, base_width: int, base_height: int, base_steps: int, max_side: int) -> None:
        """Raise :class:`StudioError` with one sentence for the first thing that cannot work."""
        if (self.width is None) != (self.height is None):
            raise StudioError("Give the hires size as both width and height (for example 1024x768).")
        if self.width is None and not MIN_SCALE <= self.scale <= MAX_SCALE:
            raise StudioError(f"Hires scale must be between {MIN_SCALE:g} and {MAX_SCALE:g} (got {self.scale:g}).")
        if self.width is not None:
            for side, value in (("width", self.width), ("height", self.height)):
                if not 64 <= value <= max_side:
                    raise StudioError(f"Hires {side} must be between 64 and {max_side} pixels (got {value}).")
                if value % 8:
                    raise StudioError(f"Hires {side} must be a multiple of 8 (got {value}).")
        width, height = self.target_size(base_width, base_height)
        if max(width, height) > max_side:
            raise StudioError(f"The hires size {width}x{height} is above the {max_side}-pixel limit; lower the scale.")
        if not 0 < self.strength <= 1:
            raise StudioError(f"Hires strength must be above 0 and at most 1 (got {self.strength:g}).")
        if not 0 <= self.steps <= 500:
            raise StudioError(f"Hires steps must be between 0 (as many as the first pass) and 500 (got {self.steps}).")
        if self.inference_steps(base_steps) > MAX_SCHEDULE:
            raise StudioError(
                f"Hires strength {self.strength:g} is too low for {self.steps_for(base_steps)} hires steps; "
                "raise the strength or use fewer steps."
            )
        if not self.upscaler.strip():
            raise StudioError("Choose a hires upscaler (for example Latent or Lanczos).")
        if self.scheduler is not None and self.scheduler not in SCHEDULER_NAMES:
            raise StudioError(
                f"Unknown hires sampler '{self.scheduler}'; choose one of: {', '.join(SCHEDULER_NAMES)}."
            )
