"""The engine worker: previews become self-contained QImages, failures become one sentence."""

import gc

import numpy as np
import pytest
from PySide6.QtGui import QImage

from studio.core.cancel import CancelToken
from studio.core.request import GenerationRequest
from studio.workers.engine_worker import EngineWorker
from studio.workers.images import array_to_qimage
from tests.ui.fakes import FakeEngine


def test_a_preview_qimage_owns_its_pixels():
    rgb = np.zeros((3, 5, 3), np.uint8)
    rgb[1, 2] = (10, 20, 30)
    image = array_to_qimage(rgb[:, :, :])
    del rgb
    gc.collect()
    assert (image.width(), image.height(), image.format()) == (5, 3, QImage.Format.Format_RGB888)
    assert image.pixelColor(2, 1).getRgb()[:3] == (10, 20, 30)


def test_a_non_contiguous_array_is_converted_correctly():
    rgb = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)[:, ::2]
    image = array_to_qimage(rgb)
    assert image.pixelColor(1, 3).getRgb()[:3] == tuple(rgb[3, 1])


class Exploding(FakeEngine):
    def generate(self, request, on_step=None, cancel=None, on_notice=None):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")


@pytest.fixture
def worker(qapp):
    worker = EngineWorker(Exploding)
    worker.load("/models/any")
    return worker


def test_an_unexpected_failure_becomes_one_sentence(worker, qtbot):
    with qtbot.waitSignal(worker.failed) as blocker:
        worker.generate(GenerationRequest("x", steps=1, width=64, height=64), CancelToken())
    assert blocker.args[0] == "The generation failed unexpectedly (RuntimeError); details are in the log."


def test_a_request_cancelled_while_queued_never_starts(worker, qtbot):
    token = CancelToken()
    token.cancel()
    with qtbot.waitSignal(worker.cancelled):
        worker.generate(GenerationRequest("x", steps=1, width=64, height=64), token)


def test_a_failing_engine_constructor_is_a_failed_load(qapp, qtbot):
    def no_engine():
        raise ImportError("libtorch_cuda.so: cannot open shared object file")

    worker = EngineWorker(no_engine)
    with qtbot.waitSignal(worker.load_failed) as blocker:
        worker.load("/models/any")
    assert "failed unexpectedly (ImportError)" in blocker.args[0]


def test_qimages_become_pillow_images_pixel_for_pixel():
    from PySide6.QtGui import QColor

    from studio.workers.images import qimage_to_pil

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (7, 13, 3), dtype=np.uint8)  # an odd width: rows are padded in QImage
    image = array_to_qimage(rgb).convertToFormat(QImage.Format.Format_RGB32)
    back = qimage_to_pil(image)
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), rgb)

    mask = QImage(13, 7, QImage.Format.Format_Grayscale8)
    mask.fill(0)
    mask.setPixelColor(12, 6, QColor(200, 200, 200))
    back = qimage_to_pil(mask)
    assert back.mode == "L" and back.size == (13, 7)
    assert np.asarray(back)[6, 12] == 200 and np.asarray(back).sum() == 200
