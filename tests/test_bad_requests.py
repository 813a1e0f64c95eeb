"""Impossible requests and odd sources, each one sentence or fitted; pickle errors name the file."""

import pytest
from PIL import Image

from studio.core import region
from studio.core.errors import StudioError
from studio.core.jobs import image_job
from studio.core.request import MAX_SIDE, GenerationRequest, check_strength


@pytest.mark.parametrize("size", [(16000, 50), (50, 16000), (16384, 1), (9000, 300), (5000, 5000), (300, 200)])
def test_any_source_shape_is_fitted_within_the_request_limits(size):
    plan = region.plan(size, None, 512)
    width, height = plan.size
    assert 64 <= width <= MAX_SIDE and 64 <= height <= MAX_SIDE and width % 8 == height % 8 == 0
    job = image_job(GenerationRequest(prompt="a cat", strength=0.5), Image.new("RGB", size), None, native=512)
    job.request.validate()
    assert job.place([Image.new("RGB", plan.size)])[0].size == size


def test_a_fitted_strip_keeps_its_aspect_until_the_short_side_reaches_64():
    assert region.plan((9000, 300), None, 512).size == (2808, 96)  # about 512x512 pixels, 30:1 to multiples of 8
    assert region.plan((16000, 50), None, 512).size == (4096, 64)  # 320:1 cannot be: the short side stays 64


@pytest.mark.parametrize("field", ["prompt", "negative_prompt"])
def test_text_that_was_not_utf8_is_one_sentence(field):
    request = GenerationRequest(**{"prompt": "a cat", field: "caf\udce9"})
    with pytest.raises(StudioError, match="holds bytes that are not valid UTF-8 text"):
        request.validate()


@pytest.mark.parametrize("strength, steps, ok", [(0.5, 1, False), (0.5, 2, True), (0.3, 3, False), (0.3, 4, True),
                                                 (1.0, 1, True), (0.0, 10, False), (1.5, 10, False)])
def test_strength_and_steps_must_leave_a_step(strength, steps, ok):
    if ok:
        check_strength(strength, steps)
    else:
        with pytest.raises(StudioError):
            check_strength(strength, steps)


def test_a_damaged_pickle_allowed_explicitly_is_named(tmp_path):
    from studio.engine.engine import Engine

    junk = tmp_path / "my-model.ckpt"
    junk.write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(StudioError) as err:
        Engine("cpu").load(str(junk), allow_pickle=True)
    assert str(err.value).startswith("'my-model.ckpt' is not a readable checkpoint")
