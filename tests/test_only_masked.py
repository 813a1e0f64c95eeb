""""Only the masked region" through the real engine: the crop is rendered at the model's size and scaled back,
every pixel outside the feathered mask stays the source's own."""

import numpy as np
from PIL import Image

from studio.core import mask as maskmath
from studio.core.jobs import image_job
from studio.core.request import GenerationRequest
from studio.engine.engine import Engine


class RecordingEngine(Engine):
    """The real engine, remembering the size of each request it was given."""

    def __init__(self) -> None:
        super().__init__("cpu", previews="linear")
        self.sizes = []

    def generate(self, request, on_step=None, cancel=None):
        self.sizes.append((request.width, request.height))
        return super().generate(request, on_step=on_step, cancel=cancel)


def test_a_small_masked_crop_is_generated_at_the_model_size_and_pasted_back_exactly(tiny_sd_dir):
    engine = RecordingEngine()
    native = engine.load(str(tiny_sd_dir)).family.native_size
    source = Image.fromarray(np.random.default_rng(5).integers(0, 256, (400, 600, 3), dtype=np.uint8))
    mask = Image.new("L", source.size, 0)
    mask.paste(255, (250, 150, 330, 214))
    template = GenerationRequest("a cat", seed=3, steps=2, scheduler="euler", mask_feather=4)
    job = image_job(template, source, mask, native=native, only_masked=True, padding=32)
    left, top, right, bottom = job.region.box
    assert right - left < 160 and bottom - top < 160  # the mask plus padding, far below the model's 512

    result = engine.generate(job.request)

    [(width, height)] = engine.sizes
    assert width > 2 * (right - left) and height > 2 * (bottom - top)
    assert abs(width * height - native * native) / (native * native) < 0.05
    assert result.images[0].size == (width, height)
    [placed] = job.place(result.images)
    assert placed.size == source.size
    out, src = np.asarray(placed), np.asarray(source)
    paste = np.asarray(maskmath.composite_mask(mask, round(4 * job.region.scale)))
    assert np.array_equal(out[paste == 0], src[paste == 0])
    assert not np.array_equal(out[150:214, 250:330], src[150:214, 250:330])
