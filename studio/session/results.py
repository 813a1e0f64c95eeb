"""Finished images, placed back at the canvas's resolution and saved before anyone sees them."""

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QImage

from studio.core.events import Finished
from studio.core.jobs import ImageJob
from studio.core.outputs import save_image
from studio.core.recipe import Recipe
from studio.workers.images import pil_to_qimage


@dataclass(frozen=True, eq=False)
class Result:
    path: Path
    image: QImage
    recipe: Recipe


def save_results(finished: Finished, job: ImageJob) -> list[Result]:
    """Blocking (runs in the session's IO thread): place each image into the source, write it with its
    recipe, then make its QImage."""
    return [
        Result(save_image(image, recipe), pil_to_qimage(image), recipe)
        for image, recipe in zip(job.place(finished.images), finished.recipes)
    ]
