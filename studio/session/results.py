"""Finished images, placed back at the canvas's resolution and saved before anyone sees them."""

from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtGui import QImage

from studio.core.errors import StudioError
from studio.core.events import Finished
from studio.core.image_io import load_image
from studio.core.jobs import ImageJob
from studio.core.metadata import read_recipe
from studio.core.outputs import save_image
from studio.core.recipe import Recipe
from studio.workers.images import pil_to_qimage


THUMBNAIL = 168  # pixels on the longer side: sharp at the results strip's size on a 2x screen


@dataclass(frozen=True, eq=False)
class Result:
    path: Path
    image: QImage  # RGB32, the format the canvas draws without converting
    thumbnail: QImage
    recipe: Recipe | None  # None for an image that carries no recipe (one added to the outputs folder by hand)


def save_results(finished: Finished, job: ImageJob) -> list[Result]:
    """Blocking (runs in the session's IO thread): place each image into the source, write it with its
    recipe, then make its QImage and thumbnail, so that the GUI thread never converts a large image."""
    return [
        Result(save_image(image, recipe), _display_image(image), _thumbnail(image), recipe)
        for image, recipe in zip(job.place(finished.images), finished.recipes)
    ]


def load_result(path: Path) -> Result:
    """An output already on disk as a result to show (blocking: off the GUI thread); a file that is not a
    readable image raises :class:`StudioError`."""
    image = load_image(path)
    try:
        recipe = read_recipe(path)
    except StudioError:
        recipe = None
    return Result(path, _display_image(image), _thumbnail(image), recipe)


def _display_image(image: Image.Image) -> QImage:
    return pil_to_qimage(image).convertToFormat(QImage.Format.Format_RGB32)


def _thumbnail(image: Image.Image) -> QImage:
    small = image.copy()
    small.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return pil_to_qimage(small)
