"""The steps a user asked for, and the steps a sampler reports.

Samplers do not always run the number of steps asked: PLMS (diffusers' PNDM) adds a warm-up timestep (21
for 20), and image-to-image or inpainting at strength ``s`` skips the first part of the schedule (diffusers runs
``int(steps * s)`` of them). Progress is shown in the user's steps, so 20 asked reads "20/20" at the end; with
hires fix, the steps of both passes; with a tiled refine, the steps of all tiles.
"""

from dataclasses import dataclass

from studio.core.request import GenerationRequest, Mode


@dataclass(frozen=True)
class StepPlan:
    asked: int  # the steps the user set
    runs: int  # of those, the steps this run denoises
    strength: float | None = None  # set when the strength makes ``runs`` fewer than ``asked``

    @classmethod
    def of(cls, request: GenerationRequest) -> "StepPlan":
        if request.mode is Mode.TEXT_TO_IMAGE or request.strength >= 1:
            steps = request.steps + (request.hires.steps_for(request.steps) if request.hires else 0)
            return cls(steps, steps)  # with hires fix, one bar counts both passes' steps
        return cls.tiled(request, 1)

    @classmethod
    def tiled(cls, request: GenerationRequest, tiles: int) -> "StepPlan":
        """Image-to-image at ``request``'s steps and strength once per tile (a tiled refine), on one bar."""
        runs = max(1, min(int(request.steps * request.strength), request.steps))
        return cls(request.steps * tiles, runs * tiles, request.strength if runs < request.steps else None)

    def step(self, done: int, total: int) -> int:
        """The sampler's ``done`` of ``total`` timesteps as steps of :attr:`runs`: the last one only at the end."""
        if total <= 0 or done >= total:
            return self.runs
        return max(0, min(max(1, round(done * self.runs / total)), self.runs - 1))
