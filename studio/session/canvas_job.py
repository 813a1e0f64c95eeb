"""A generation prepared from the canvas: its QImages become Pillow images, fitted to the model by core.jobs."""

from PySide6.QtGui import QImage

from studio.core.jobs import ImageJob, image_job
from studio.core.request import GenerationRequest
from studio.workers.images import qimage_to_pil


def prepare_job(template: GenerationRequest, source: QImage | None, mask: QImage | None, *, native: int,
                only_masked: bool, padding: int, grid: int = 8) -> ImageJob:
    """Blocking: converting and scaling a large image takes a while, so the session runs this in its IO thread."""
    return image_job(
        template,
        None if source is None else qimage_to_pil(source),
        None if mask is None else qimage_to_pil(mask),
        native=native,
        only_masked=only_masked,
        padding=padding,
        grid=grid,
    )
