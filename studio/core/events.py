"""What a running generation reports back, in order: StepUpdate*, then one of Finished/Cancelled/Failed."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from studio.core.recipe import Recipe


@dataclass(frozen=True)
class StepUpdate:
    step: int  # 1-based: the number of denoising steps done
    total: int
    preview: np.ndarray = field(repr=False)  # HxWx3 uint8 RGB


@dataclass(frozen=True)
class Finished:
    images: list[Image.Image] = field(repr=False)
    recipes: list[Recipe]
    paths: list[Path] = field(default_factory=list)  # where each image was saved


@dataclass(frozen=True)
class Cancelled:
    pass


@dataclass(frozen=True)
class Failed:
    message: str  # one sentence for the user; details are in the log
