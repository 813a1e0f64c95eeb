"""A scripted stand-in for the engine, for behaviour that does not depend on real pixels."""

import threading

import numpy as np
from PIL import Image

from studio.core.errors import GenerationCancelled, StudioError
from studio.core.events import Finished, StepUpdate
from studio.core.model_info import ModelFamily, ModelInfo
from studio.core.recipe import Recipe


class FakeEngine:
    """Loads any existing path except ones containing "broken"; each step waits ``step_seconds``.

    ``gate``, when given, holds every step until it is set, so a test can act in the middle of a run.
    """

    def __init__(self, step_seconds: float = 0.005, gate: threading.Event | None = None) -> None:
        self.step_seconds = step_seconds
        self.gate = gate
        self.info: ModelInfo | None = None
        self.requests = []
        self.options = None  # the Engine menu's choices (EngineOptions), as the real engine's configure takes them

    def configure(self, options) -> None:
        self.options = options

    def load(self, source: str) -> ModelInfo:
        if "broken" in source:
            raise StudioError(f"The model folder '{source}' is incomplete or damaged (no unet).")
        self.info = ModelInfo(
            name=source.rstrip("/").split("/")[-1], source=source, family=ModelFamily.SD1, inpaint_unet=False,
            model_hash="0123456789", default_sampler="PLMS", device="cpu", dtype="float32",
        )
        return self.info

    def generate(self, request, on_step=None, cancel=None, on_notice=None) -> Finished:
        request = request.with_concrete_seed()
        self.requests.append(request)
        for i in range(request.steps):
            if self.gate is not None:
                self.gate.wait(5)
            if cancel is not None and cancel.cancelled:
                raise GenerationCancelled()
            threading.Event().wait(self.step_seconds)
            if on_step is not None:
                value = 255 * (i + 1) // request.steps
                on_step(StepUpdate(i + 1, request.steps, np.full((request.height // 8, request.width // 8, 3), value, np.uint8)))
        images, recipes = [], []
        for index in range(request.batch_size):
            seed = request.seed + index
            images.append(Image.new("RGB", (request.width, request.height), (seed % 256, index * 40 % 256, 90)))
            recipes.append(Recipe(
                prompt=request.prompt, negative_prompt=request.negative_prompt, seed=seed, steps=request.steps,
                cfg_scale=request.cfg_scale, width=request.width, height=request.height, sampler="PLMS",
                model=self.info.name, batch_size=request.batch_size, batch_index=index,
            ))
        return Finished(images=images, recipes=recipes)
