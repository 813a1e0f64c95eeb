"""A request prepared from a full-size source image and mask, and the way its results go back.

The CLI and the window both use this: a source of any size is fitted to the model (:mod:`region`), the
engine generates at that size, and :meth:`ImageJob.place` returns images at the source's resolution.
"""

from dataclasses import dataclass, replace

from PIL import Image

from studio.core import region as regions
from studio.core.mask import is_empty
from studio.core.request import GenerationRequest


@dataclass(frozen=True)
class ImageJob:
    request: GenerationRequest  # at generation size
    source: Image.Image | None = None  # full-size source (None: text-to-image)
    mask: Image.Image | None = None  # full-size mask
    region: regions.Region | None = None

    def place(self, images: list[Image.Image]) -> list[Image.Image]:
        """Results at the source's resolution; outside the feathered mask the source's own pixels."""
        if self.source is None or self.region is None:
            return images
        return [
            regions.paste_back(self.source, img, self.region, self.mask, self.request.mask_feather) for img in images
        ]


def image_job(template: GenerationRequest, source: Image.Image | None, mask: Image.Image | None, *,
              native: int, only_masked: bool = False, padding: int = 32,
              size: tuple[int, int] | None = None, grid: int = 8) -> ImageJob:
    """``template`` gives the prompt and settings; its size is used only for text-to-image.

    The generation size is fitted to ``native`` (sides multiples of ``grid``) unless ``size`` asks for one.
    """
    if source is None:
        return ImageJob(request=replace(template, init_image=None, mask=None))
    mask = None if is_empty(mask) else mask
    plan = regions.plan(source.size, mask, native, only_masked=only_masked and mask is not None, padding=padding,
                        grid=grid)
    if size is not None:
        plan = replace(plan, size=size)
    request = replace(
        template,
        width=plan.size[0],
        height=plan.size[1],
        init_image=regions.crop(source.convert("RGB"), plan),
        mask=regions.crop_mask(mask, plan) if mask is not None else None,
        # a control image of the source's size is cut like the source; another size is fitted as it is
        control=tuple(replace(c, image=regions.crop(c.image, plan)) if c.image and c.image.size == source.size else c
                      for c in template.control),
    )
    return ImageJob(request=request, source=source, mask=mask, region=plan)
