"""Steps as the user counts them, from the timesteps a sampler reports."""

from PIL import Image

from studio.core.request import GenerationRequest
from studio.core.steps import StepPlan


def test_text_to_image_runs_every_step_and_maps_an_extra_warm_up_timestep():
    plan = StepPlan.of(GenerationRequest("x", steps=20))
    assert (plan.asked, plan.runs, plan.strength) == (20, 20, None)
    shown = [plan.step(done, 21) for done in range(1, 22)]  # PLMS: 21 timesteps for 20 steps
    assert shown == sorted(shown) and shown[0] == 1 and shown[-1] == 20 and shown.count(20) == 1
    assert [plan.step(done, 20) for done in range(1, 21)] == list(range(1, 21))  # samplers that count exactly


def test_image_to_image_runs_the_strengths_share_of_the_steps():
    image = Image.new("RGB", (64, 64))
    plan = StepPlan.of(GenerationRequest("x", steps=8, strength=0.75, width=64, height=64, init_image=image))
    assert (plan.asked, plan.runs, plan.strength) == (8, 6, 0.75)  # diffusers: int(8 * 0.75)
    assert plan.step(7, 7) == 6 and plan.step(6, 7) == 5
    tiny = StepPlan.of(GenerationRequest("x", steps=3, strength=0.1, width=64, height=64, init_image=image))
    assert tiny.runs == 1
    full = StepPlan.of(GenerationRequest("x", steps=8, strength=1.0, width=64, height=64, init_image=image))
    assert (full.runs, full.strength) == (8, None)


def test_a_tiled_refine_counts_the_steps_of_every_tile_on_one_bar():
    plan = StepPlan.tiled(GenerationRequest("x", steps=20, strength=0.35), 6)
    assert (plan.asked, plan.runs, plan.strength) == (120, 42, 0.35)  # int(20 * 0.35) = 7 steps per tile
    assert plan.step(84, 84) == 42  # Heun: twice the timesteps, the same steps shown
