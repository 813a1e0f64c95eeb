"""Schedulers by stable names, swapped with ``from_config`` so the model's betas and prediction type stay."""

from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    LCMScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from studio.core.samplers import SAMPLER_LABELS

_SCHEDULERS: dict[str, tuple[type[SchedulerMixin], dict]] = {
    "euler": (EulerDiscreteScheduler, {}),
    "euler_a": (EulerAncestralDiscreteScheduler, {}),
    "dpmpp_2m": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "dpmpp_2m_karras": (
        DPMSolverMultistepScheduler,
        {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    ),
    "ddim": (DDIMScheduler, {"set_alpha_to_one": False, "clip_sample": False}),
    "unipc": (UniPCMultistepScheduler, {}),
    "lcm": (LCMScheduler, {}),
    "euler_trailing": (EulerDiscreteScheduler, {"timestep_spacing": "trailing"}),
    "euler_a_trailing": (EulerAncestralDiscreteScheduler, {"timestep_spacing": "trailing"}),
    "ddim_trailing": (
        DDIMScheduler, {"set_alpha_to_one": False, "clip_sample": False, "timestep_spacing": "trailing"}
    ),
}
assert set(_SCHEDULERS) == set(SAMPLER_LABELS)

# Labels A1111 uses for the schedulers models ship with, when the user keeps the model's own.
_DEFAULT_LABELS = {
    "PNDMScheduler": "PLMS",
    "EulerDiscreteScheduler": "Euler",
    "EulerAncestralDiscreteScheduler": "Euler a",
    "DDIMScheduler": "DDIM",
    "LMSDiscreteScheduler": "LMS",
    "DPMSolverMultistepScheduler": "DPM++ 2M",
    "UniPCMultistepScheduler": "UniPC",
    "LCMScheduler": "LCM",
    "HeunDiscreteScheduler": "Heun",
    "KDPM2DiscreteScheduler": "DPM2",
    "FlowMatchEulerDiscreteScheduler": "Euler",  # what Forge and ComfyUI write for Flux and SD 3.5
}


def make_scheduler(name: str | None, base: SchedulerMixin) -> SchedulerMixin:
    """A fresh scheduler named ``name`` built on ``base``'s config; None gives a fresh copy of ``base``."""
    if name is None:
        return type(base).from_config(base.config)
    cls, overrides = _SCHEDULERS[name]
    return cls.from_config(base.config, **overrides)


def default_label(scheduler: SchedulerMixin) -> str:
    """The A1111 label of a model's own scheduler."""
    name = type(scheduler).__name__
    if name == "DPMSolverMultistepScheduler" and scheduler.config.get("use_karras_sigmas"):
        return "DPM++ 2M Karras"
    label = _DEFAULT_LABELS.get(name, name.removesuffix("Scheduler"))
    trailing = f"{label} Trailing"
    if scheduler.config.get("timestep_spacing") == "trailing" and trailing in SAMPLER_LABELS.values():
        return trailing  # SDXL-Turbo and Lightning folders ship with it
    return label
