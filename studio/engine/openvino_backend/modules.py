"""Stand-ins that diffusers' pipelines call in place of the UNet, the VAE's encoder and decoder and the CLIP text
encoders.

Each is a ``torch.nn.Module`` that answers every attribute it does not have from the PyTorch module it stands in
for (``config``, ``dtype``, ``add_embedding``, the blocks the cancel hooks look for), and whose ``forward`` takes
the same arguments and returns the same types. A call with an input the converted graph was not made for (a
ControlNet's residuals, IP-Adapter image embeddings, attention kwargs, a text encoder's attention mask...) runs
the PyTorch module instead, so an unforeseen feature costs speed, never a wrong picture. ``run`` is the converted
model (its outputs, or None when it cannot be used: conversion failed); the graphs below are what gets converted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
from diffusers.models.unets.unet_2d_condition import UNet2DConditionOutput
from transformers.modeling_outputs import BaseModelOutputWithPooling
from transformers.models.clip.modeling_clip import CLIPTextModelOutput, CLIPTextModelWithProjection

log = logging.getLogger(__name__)

Runner = Callable[[dict[str, torch.Tensor]], "tuple[torch.Tensor, ...] | None"]
_SDXL_CONDITIONS = {"text_embeds", "time_ids"}


class _StandIn(torch.nn.Module):
    def __init__(self, original: torch.nn.Module, run: Runner) -> None:
        super().__init__()
        object.__setattr__(self, "original", original)  # not a submodule: .to() and parameters() stay the original's
        object.__setattr__(self, "run", run)
        object.__setattr__(self, "_told", False)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.original, name)

    @property
    def dtype(self) -> torch.dtype:
        return self.original.dtype

    @property
    def device(self) -> torch.device:
        return self.original.device

    def _with_torch(self, why: str) -> None:
        if not self._told:
            log.info("OpenVINO: %s runs in PyTorch (%s)", type(self.original).__name__, why)
            object.__setattr__(self, "_told", True)


class OpenVinoUNet(_StandIn):
    def forward(self, sample, timestep, encoder_hidden_states, *args, added_cond_kwargs=None, return_dict=True,
                **extra):
        inputs = _unet_inputs(sample, timestep, encoder_hidden_states, args, added_cond_kwargs, extra)
        out = None if inputs is None else self.run(inputs)
        if out is None:
            self._with_torch("inputs the converted graph does not take" if inputs is None else "not converted")
            return self.original(sample, timestep, encoder_hidden_states, *args, added_cond_kwargs=added_cond_kwargs,
                                 return_dict=return_dict, **extra)
        out = out[0].to(sample.dtype)
        return UNet2DConditionOutput(sample=out) if return_dict else (out,)


class OpenVinoVaePart(_StandIn):
    """The VAE's ``encoder`` or ``decoder`` (diffusers calls ``self.decoder(z)``; tiled decoding calls it per tile)."""

    def forward(self, sample, *args, **extra):
        out = None
        if not args and all(value is None for value in extra.values()):
            out = self.run({"sample": sample})
        if out is None:
            self._with_torch("inputs the converted graph does not take")
            return self.original(sample, *args, **extra)
        return out[0].to(sample.dtype)


class OpenVinoTextEncoder(_StandIn):
    """A ``CLIPTextModel`` or ``CLIPTextModelWithProjection``: the same output class with every field diffusers and
    the app's prompt encoding read (hidden states of every layer, for clip skip and SDXL's penultimate layer).

    Each row of the batch (a prompt, or one 75-token chunk of a long one) runs on its own, so one compiled shape
    serves every prompt length."""

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, output_hidden_states=None,
                return_dict=None, **extra):
        rows = None
        if input_ids is not None and input_ids.dim() == 2 and attention_mask is None and position_ids is None \
                and all(value is None or value is False for value in extra.values()):  # output_attentions...
            rows = [self.run({"input_ids": input_ids[i:i + 1]}) for i in range(input_ids.shape[0])]
        if rows is None or any(row is None for row in rows):
            self._with_torch("inputs the converted graph does not take" if rows is None else "not converted")
            return self.original(input_ids, attention_mask=attention_mask, position_ids=position_ids,
                                 output_hidden_states=output_hidden_states, return_dict=return_dict, **extra)
        last, pooled, *hidden = (torch.cat(outputs).to(self.dtype) for outputs in zip(*rows))
        wanted = output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        hidden = tuple(hidden) if wanted else None
        if isinstance(self.original, CLIPTextModelWithProjection):
            out = CLIPTextModelOutput(text_embeds=pooled, last_hidden_state=last, hidden_states=hidden)
        else:
            out = BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled, hidden_states=hidden)
        return out if return_dict is not False else out.to_tuple()


def _unet_inputs(sample, timestep, context, args, added, extra) -> dict[str, torch.Tensor] | None:
    """The converted graph's inputs, or None when the call needs more than it takes."""
    if args or any(value is not None for value in extra.values()):
        return None
    if added is not None and set(added) != _SDXL_CONDITIONS:
        return None
    steps = torch.as_tensor(timestep, dtype=torch.float32).reshape(-1).expand(sample.shape[0])
    inputs = {"sample": sample, "timestep": steps, "encoder_hidden_states": context}
    if added is not None:
        inputs.update(text_embeds=added["text_embeds"], time_ids=added["time_ids"])
    return inputs


class UNetGraph(torch.nn.Module):
    """The UNet with tensors in and the noise prediction out: what ``openvino.convert_model`` traces."""

    def __init__(self, unet: torch.nn.Module) -> None:
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, text_embeds=None, time_ids=None):
        added = None if text_embeds is None else {"text_embeds": text_embeds, "time_ids": time_ids}
        return self.unet(sample, timestep, encoder_hidden_states, added_cond_kwargs=added, return_dict=False)[0]


class TextEncoderGraph(torch.nn.Module):
    """A CLIP text encoder with token ids in and, out: the last hidden state, the pooled output (the projected
    ``text_embeds`` of ``CLIPTextModelWithProjection``), then the hidden states (the embeddings', each layer's)."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids):
        out = self.encoder(input_ids, output_hidden_states=True, return_dict=True)
        pooled = out.text_embeds if isinstance(self.encoder, CLIPTextModelWithProjection) else out.pooler_output
        return (out.last_hidden_state, pooled, *out.hidden_states)
