"""An immutable generation request and its validation (one clear sentence per problem)."""

import math
import random
from dataclasses import dataclass, field, replace
from enum import Enum

from PIL import Image

from studio.core.control import ControlInput, check_controls
from studio.core.image_prompt import ImagePrompt
from studio.core.errors import StudioError
from studio.core.extra_networks import lora_refs, unsupported_network_refusal
from studio.core.hires import HiresPass
from studio.core.samplers import SCHEDULER_NAMES
from studio.core.text import is_valid_text

MAX_SEED = 2**32 - 1
MAX_SIDE = 4096
MAX_BATCH = 16
MAX_CLIP_SKIP = 12


class Mode(str, Enum):
    TEXT_TO_IMAGE = "txt2img"
    IMAGE_TO_IMAGE = "img2img"
    INPAINT = "inpaint"


@dataclass(frozen=True)
class GenerationRequest:
    """Everything that decides the pixels. ``seed=None`` means "pick one"; see :meth:`with_concrete_seed`.

    ``init_image`` (RGB) makes it image-to-image; adding ``mask`` (L, white = repaint) makes it inpainting.
    ``scheduler=None`` keeps the model's own scheduler. ``hires`` (text-to-image only) adds a second pass
    that upscales the result and refines it at a larger size; ``width``/``height`` stay the first pass's.
    """

    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    steps: int = 25
    cfg_scale: float = 7.0
    width: int = 512
    height: int = 512
    scheduler: str | None = None
    batch_size: int = 1
    strength: float = 0.75
    init_image: Image.Image | None = field(default=None, compare=False, repr=False)
    mask: Image.Image | None = field(default=None, compare=False, repr=False)
    mask_feather: int = 8
    clip_skip: int = 1  # A1111's meaning: 1 = the text encoder's last layer, 2 = the one before, ...
    hires: HiresPass | None = None
    vae: str = ""  # a VAE file's name in the VAE folders; "" = the model's own
    control: tuple[ControlInput, ...] = ()  # ControlNet layers, applied in every pass
    image_prompt: ImagePrompt | None = None  # an IP-Adapter image prompt, applied in every pass

    @property
    def mode(self) -> Mode:
        if self.init_image is None:
            return Mode.TEXT_TO_IMAGE
        return Mode.INPAINT if self.mask is not None else Mode.IMAGE_TO_IMAGE

    def with_concrete_seed(self) -> "GenerationRequest":
        if self.seed is not None:
            return self
        return replace(self, seed=random.SystemRandom().randint(0, MAX_SEED))

    def validate(self) -> None:
        """Raise :class:`StudioError` with one sentence for the first thing that cannot work."""
        for label, text in (("prompt", self.prompt), ("negative prompt", self.negative_prompt)):
            if not is_valid_text(text):
                raise StudioError(f"The {label} holds bytes that are not valid UTF-8 text; type it again.")
        if self.steps < 1 or self.steps > 500:
            raise StudioError(f"Steps must be between 1 and 500 (got {self.steps}).")
        if not 0 <= self.cfg_scale <= 50:
            raise StudioError(f"CFG scale must be between 0 and 50 (got {self.cfg_scale:g}).")
        for side, value in (("Width", self.width), ("Height", self.height)):
            if value < 64 or value > MAX_SIDE:
                raise StudioError(f"{side} must be between 64 and {MAX_SIDE} pixels (got {value}).")
            if value % 8:
                raise StudioError(
                    f"{side} must be a multiple of 8 (got {value}; try {value // 8 * 8} or {(value // 8 + 1) * 8})."
                )
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise StudioError(f"Batch size must be between 1 and {MAX_BATCH} (got {self.batch_size}).")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise StudioError(f"Seed must be between 0 and {MAX_SEED} (got {self.seed}).")
        if self.scheduler is not None and self.scheduler not in SCHEDULER_NAMES:
            raise StudioError(
                f"Unknown scheduler '{self.scheduler}'; choose one of: {', '.join(SCHEDULER_NAMES)}."
            )
        if self.mask is not None and self.init_image is None:
            raise StudioError("A mask needs an image to paint on.")
        if self.init_image is not None:
            check_strength(self.strength, self.steps)
            if self.init_image.size != (self.width, self.height):
                raise StudioError(
                    f"The image is {self.init_image.width}x{self.init_image.height} but the request is "
                    f"{self.width}x{self.height}."
                )
        if self.mask is not None and self.mask.size != self.init_image.size:
            raise StudioError(
                f"The mask is {self.mask.width}x{self.mask.height} but the image is "
                f"{self.init_image.width}x{self.init_image.height}; they must be the same size."
            )
        if self.mask_feather < 0 or self.mask_feather > 256:
            raise StudioError(f"Mask feather must be between 0 and 256 pixels (got {self.mask_feather}).")
        if not 1 <= self.clip_skip <= MAX_CLIP_SKIP:
            raise StudioError(f"Clip skip must be between 1 and {MAX_CLIP_SKIP} (got {self.clip_skip}).")
        lora_refs(self.prompt, self.negative_prompt)  # a malformed <lora:...> tag is one sentence here
        refusal = unsupported_network_refusal(self.prompt, self.negative_prompt)
        if refusal:
            raise StudioError(refusal)
        check_controls(self.control)
        if self.image_prompt is not None:
            self.image_prompt.validate()
        if self.hires is not None:
            if self.init_image is not None:
                raise StudioError("Hires fix is for text-to-image; turn it off to work on an image.")
            self.hires.validate(self.width, self.height, self.steps, MAX_SIDE)


def check_strength(strength: float, steps: int) -> None:
    """Raise :class:`StudioError` unless ``strength`` and ``steps`` leave a step to run from an image."""
    if not 0 < strength <= 1:
        raise StudioError(f"Strength must be above 0 and at most 1 (got {strength:g}).")
    if int(steps * strength) < 1:  # diffusers runs int(steps * strength) steps from an image
        raise StudioError(
            f"At strength {strength:g}, {steps} step(s) leave no step to run; use at least "
            f"{math.ceil(1 / strength)} steps or a higher strength."
        )
