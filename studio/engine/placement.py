"""Putting a loaded pipeline's components where its memory plan (``core.memory_plan``) says.

The plans are diffusers' own offload calls (``enable_model_cpu_offload``, ``enable_sequential_cpu_offload``,
which install accelerate hooks) and, for "text encoders offloaded after encoding", accelerate's
``cpu_offload_with_hook`` on each encoder (it moves in to encode, the one before it moves out) plus a hook on the
denoiser that sends every encoder back to the CPU before the first denoising step. The mode pipelines share the
loaded modules, so the hooks serve them too.
"""

from __future__ import annotations

import itertools

import torch
from accelerate import cpu_offload_with_hook
from accelerate.hooks import ModelHook, add_hook_to_module

from studio.core.memory_plan import ComponentSizes, MemoryPlan

_CPU = torch.device("cpu")


def component_sizes(pipe) -> ComponentSizes:
    """The bytes of each of ``pipe``'s modules as they are stored (quantized weights at their packed size)."""
    return ComponentSizes.of({name: _bytes(module) for name, module in _modules(pipe)})


class Placement:
    """``pipe`` placed for ``plan`` on ``device`` (the execution device: the GPU, or the CPU for RAM)."""

    def __init__(self, pipe, plan: MemoryPlan, device: torch.device) -> None:
        self.pipe, self.plan, self.device = pipe, plan, device
        self.apply()

    def apply(self) -> None:
        """(Again) put every component where the plan says: after a component was swapped (a VAE), too."""
        pipe = self.pipe
        pipe.remove_all_hooks()
        if self.plan is MemoryPlan.OFFLOAD:
            pipe.enable_model_cpu_offload(device=self.device)
        elif self.plan is MemoryPlan.SEQUENTIAL:
            pipe.enable_sequential_cpu_offload(device=self.device)
        elif self.plan is MemoryPlan.OFFLOAD_ENCODERS:
            _offload_encoders(pipe, self.device)
        else:
            pipe.to(self.device)

    def ensure(self) -> None:
        """Place again when a library call replaced the plan's hooks: diffusers' LoRA and IP-Adapter loading takes
        hooks off and puts its own model offload back, which keeps the two offload plans but not this one."""
        if self.plan is MemoryPlan.OFFLOAD_ENCODERS and not isinstance(getattr(_denoiser(self.pipe), "_hf_hook", None),
                                                                         _EncodersOut):
            self.apply()

    def release(self) -> None:
        """After a run: model offload sends back what the run left on the GPU (the mode pipelines, made from the
        loaded one's components, do not carry its list of hooks, so the end of their own call cannot)."""
        if self.plan is MemoryPlan.OFFLOAD:
            self.pipe.maybe_free_model_hooks()


class _EncodersOut(ModelHook):
    """On the denoiser: before it runs, every text encoder still on the GPU goes back to the CPU."""

    def __init__(self, encoders: list, device: torch.device) -> None:
        self.encoders = encoders
        self.execution_device = device  # what diffusers' ``_execution_device`` reads from a hooked module

    def pre_forward(self, module, *args, **kwargs):
        for hook in self.encoders:
            if next(hook.model.parameters()).device != _CPU:
                hook.offload()
        return args, kwargs


def _offload_encoders(pipe, device: torch.device) -> None:
    """Text encoders in RAM (chained: each one's run sends the one before it out), the rest on ``device``."""
    hooks, previous = [], None
    for name, module in _modules(pipe):
        if name.startswith("text_encoder"):
            _, previous = cpu_offload_with_hook(module, device, prev_module_hook=previous)
            hooks.append(previous)
        else:
            module.to(device)
    add_hook_to_module(_denoiser(pipe), _EncodersOut(hooks, device), append=True)


def _denoiser(pipe) -> torch.nn.Module:
    return getattr(pipe, "unet", None) or pipe.transformer


def _modules(pipe):
    return [(name, module) for name, module in pipe.components.items() if isinstance(module, torch.nn.Module)]


def _bytes(module: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in itertools.chain(module.parameters(), module.buffers()))
