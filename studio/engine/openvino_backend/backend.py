"""Running a diffusers pipeline's UNet, VAE and CLIP text encoders on OpenVINO for one run, or saying in one line
why not.

The pipeline stays diffusers' own (schedulers, callbacks, previews, the paste-back): for the run, its ``unet``, its
VAE's ``encoder``/``decoder`` and its ``text_encoder``/``text_encoder_2`` are stand-ins (:mod:`.modules`) that call
converted models (:mod:`.converted`), and the PyTorch modules go back afterwards, so LoRA, VAE and embedding loading
never see the stand-ins.

A converted graph is keyed by what changes it: the component, a fingerprint of its weights (a sample of every
tensor, so another model, another VAE file or another LoRA set is another key), LoRA weights and scales, the
attention processors, the config, whether the latent size is a multiple of the UNet's upsampling factor (the
traced graph bakes that branch in), and the versions of OpenVINO, torch and diffusers. A LoRA set is converted
as it runs in PyTorch (unfused) and cached like a model. A text encoder's token embeddings are hashed in full:
a textual-inversion embedding adds rows that a sample could miss, so each set of loaded embeddings is its own key.
Anything that cannot be converted, and any pipeline with a component other than the ones below (a ControlNet, a T2I
adapter...), runs in PyTorch with a one-line notice.

The cache has a size limit (the ``openvino_cache_gb`` setting): before a conversion, the least recently used
converted models make room (:mod:`studio.core.conversion_cache`), never one this run uses, with a notice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import CLIPTextModel, CLIPTextModelWithProjection

from studio.core import conversion_cache
from studio.core.backends import FAST, FP32, INT8, INT8_INSTALL, OPENVINO_INSTALL, nncf_installed, openvino_installed
from studio.core.cancel import CancelToken
from studio.core.downloads import describe_size
from studio.core.paths import openvino_cache_dir
from studio.engine.devices import DeviceChoice
from studio.engine.interrupt import Interrupted
from studio.engine.openvino_backend.converted import ConvertedModel, converted_size, memory_short_for_conversion
from studio.engine.openvino_backend.modules import (OpenVinoTextEncoder, OpenVinoUNet, OpenVinoVaePart,
                                                    TextEncoderGraph, UNetGraph)

log = logging.getLogger(__name__)

Notice = Callable[[str], None]
GRAPH_SCHEMA = 1  # bump when the traced graphs change
_SAMPLES_PER_TENSOR = 64
# Components whose presence leaves the UNet's and VAE's inputs as the converted graphs take them.
_KNOWN_COMPONENTS = {"unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler",
                     "safety_checker", "feature_extractor", "image_encoder"}
_TEXT_ENCODERS = {"text_encoder": "text encoder", "text_encoder_2": "second text encoder"}


def start(device: DeviceChoice, cache_limit: int) -> OpenVinoBackend | Unavailable:
    """The backend, or why there is none (OpenVINO not installed, or PyTorch on an accelerator already).
    ``cache_limit``: the most bytes the converted models may take on disk (0: no limit)."""
    if device.accelerated:
        return Unavailable(f"OpenVINO is for machines without CUDA or MPS; this run uses PyTorch on {device.device}.")
    if not openvino_installed():
        return Unavailable(f"OpenVINO is not installed ({OPENVINO_INSTALL}); this run uses PyTorch.")
    return OpenVinoBackend(openvino_cache_dir(), cache_limit)


@dataclass
class RunRecord:
    """One pipeline call on OpenVINO: what it is told, and what it reports for the recipe."""

    cancel: CancelToken
    notice: Notice
    int8: bool = False  # convert and run NNCF int8-compressed weights
    fast: bool = False  # compute in the precision OpenVINO runs fastest on the device (bf16, fp16)
    weights: str = ""  # "int8" once a compressed model ran ("": none did, the pixels are fp32 ones)
    precision: str = ""  # "bf16"/"f16" once a model computed in it ("": all in fp32)

    def recipe_fields(self) -> dict[str, str]:
        """How the run computed, for its recipe ("": as PyTorch would)."""
        return {"openvino_weights": self.weights, "openvino_precision": self.precision}


class Unavailable:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    @contextmanager
    def running(self, pipe, cancel: CancelToken, notice: Notice, weights: str = FP32, precision: str = FP32):
        notice(self.reason)
        yield None


class OpenVinoBackend:
    def __init__(self, root: Path, cache_limit: int) -> None:
        import openvino as ov

        self.root = root
        self.cache_limit = cache_limit
        self._core = ov.Core()
        self.device = "GPU" if "GPU" in self._core.available_devices else "CPU"  # an Intel GPU OpenVINO sees
        self._versions = [ov.__version__, torch.__version__, _diffusers_version(), GRAPH_SCHEMA]
        self._models: dict[str, tuple[str, ConvertedModel]] = {}  # part -> (key, model): the last one of each
        self._failed: set[str] = set()  # keys that could not be converted: PyTorch for them in this process
        self.conversions = 0  # done by this process (the rest came from the disk cache)
        self._in_use: set[str] = set()  # the folders of the run's models: never evicted during it
        log.info("OpenVINO %s on %s (available: %s)", ov.__version__, self.device, self._core.available_devices)

    @contextmanager
    def running(self, pipe, cancel: CancelToken, notice: Notice, weights: str = FP32, precision: str = FP32):
        """For one pipeline call: the UNet, the VAE's encoder and decoder and the CLIP text encoders run on
        OpenVINO (with ``weights`` "int8": compressed ones; with ``precision`` "fast": in bf16/fp16 where the
        device has it). Gives the run's record, or None when it all runs in PyTorch."""
        extra = sorted(name for name, part in pipe.components.items()
                       if part is not None and name not in _KNOWN_COMPONENTS)
        if extra:
            notice(f"OpenVINO does not run pipelines with a {extra[0]} yet; this run uses PyTorch.")
            yield None
            return
        run = RunRecord(cancel, notice, int8=weights == INT8, fast=precision == FAST)
        if run.int8 and not nncf_installed():
            notice(f"NNCF is not installed ({INT8_INSTALL}); this run uses OpenVINO with fp32 weights.")
            run.int8 = False
        unet, vae = pipe.unet, pipe.vae
        encoder, decoder = vae.encoder, vae.decoder
        texts = {name: module for name in _TEXT_ENCODERS
                 if isinstance(module := getattr(pipe, name, None), (CLIPTextModel, CLIPTextModelWithProjection))}
        keys = {"unet": self._key("unet", unet), "vae_encoder": self._key("vae_encoder", encoder, vae.config),
                "vae_decoder": self._key("vae_decoder", decoder, vae.config)}
        keys |= {name: self._key(name, module, module.config.to_dict(), module.get_input_embeddings().weight)
                 for name, module in texts.items()}
        self._in_use = {f"{part}-{key}" for part, key in keys.items()}
        object.__setattr__(pipe, "unet", OpenVinoUNet(unet, self._runner(
            "unet", "UNet", keys["unet"], lambda: UNetGraph(unet), run, _aligned(unet))))
        vae.encoder = OpenVinoVaePart(encoder, self._runner(
            "vae_encoder", "VAE encoder", keys["vae_encoder"], lambda: encoder, run))
        vae.decoder = OpenVinoVaePart(decoder, self._runner(
            "vae_decoder", "VAE decoder", keys["vae_decoder"], lambda: decoder, run))
        for name, module in texts.items():
            object.__setattr__(pipe, name, OpenVinoTextEncoder(module, self._runner(
                name, _TEXT_ENCODERS[name], keys[name], lambda module=module: TextEncoderGraph(module), run)))
        try:
            yield run
        finally:
            object.__setattr__(pipe, "unet", unet)
            vae.encoder, vae.decoder = encoder, decoder
            for name, module in texts.items():
                object.__setattr__(pipe, name, module)
            self._in_use = set()

    def _runner(self, part: str, label: str, base_key: str, graph, run: RunRecord,
                shape_class: Callable[[dict], str] = lambda inputs: ""):
        notice, cancel = run.notice, run.cancel
        marked: set[str] = set()  # the folders this run has marked as used

        def infer(inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...] | None:
            key = base_key + shape_class(inputs) + ("-int8" if run.int8 else "")
            if key in self._failed:
                return None
            model = self._model(part, key, graph, run.int8)
            try:
                if not model.cached:
                    short = memory_short_for_conversion(graph)
                    if short:
                        log.info("OpenVINO: not converting the %s: %s", label, short)
                        self._failed.add(key)
                        notice(f"Not enough free memory to convert the {label} for OpenVINO ({short}); "
                               "it runs in PyTorch.")
                        return None
                    self._make_room(converted_size(graph), notice)
                    weights = " with int8 weights" if run.int8 else ""
                    notice(f"Converting the {label} for OpenVINO{weights} (once: it is kept for later runs)…")
                    seconds = model.convert(inputs)
                    self.conversions += 1
                    notice(f"Converted the {label} for OpenVINO in {seconds:.0f} s.")
                if key not in marked:
                    conversion_cache.mark_used(model.folder)
                    marked.add(key)
                compiles = model.compiles
                out = model(inputs, cancel, fast=run.fast)
                if model.compiles != compiles:  # a new shape's blob may have taken the cache over its limit
                    self._make_room(0, notice)
                if run.int8:
                    run.weights = INT8
                if model.precision != "f32":
                    run.precision = model.precision
                return out
            except Interrupted:
                raise
            except Exception:  # conversion or inference refused this graph: PyTorch computes the same thing
                log.exception("OpenVINO could not run the %s (%s)", label, key)
                self._failed.add(key)
                self._models.pop(part, None)
                notice(f"OpenVINO could not run the {label}; it runs in PyTorch (details are in the log).")
                return None
        return infer

    def _make_room(self, incoming: int, notice: Notice) -> None:
        """Evict the least recently used converted models that this run does not use, if ``incoming`` more bytes
        would take the cache over its limit."""
        if self.cache_limit <= 0:
            return
        removed = conversion_cache.make_room(self.root, incoming, self.cache_limit, self._in_use)
        if removed:
            freed = describe_size(sum(entry.size for entry in removed))
            log.info("OpenVINO: evicted %s (%s) to stay under %d bytes", [e.path.name for e in removed], freed,
                     self.cache_limit)
            notice(f"Removed {len(removed)} converted model{'s' if len(removed) > 1 else ''} not used lately from "
                   f"the OpenVINO cache ({freed}) to keep it under {describe_size(self.cache_limit)} "
                   "(Engine › OpenVINO cache limit… in the window: the openvino_cache_gb setting).")

    def _model(self, part: str, key: str, graph, int8: bool) -> ConvertedModel:
        held = self._models.get(part)
        if held is None or held[0] != key:
            held = (key, ConvertedModel(self._core, self.device, self.root / f"{part}-{key}", graph, int8=int8))
            self._models[part] = held
        return held[1]

    def _key(self, part: str, module: torch.nn.Module, config=None, exact: torch.Tensor | None = None) -> str:
        """``exact``: a tensor hashed in full on top of the fingerprint's sample."""
        digest = hashlib.sha256()
        config = dict(config if config is not None else module.config)
        about = [part, self._versions, config, sorted({type(p).__name__ for p in _processors(module)}),
                 _adapter_state(module)]
        digest.update(json.dumps(about, sort_keys=True, default=str).encode())
        _weights_fingerprint(module, digest)
        if exact is not None:
            digest.update(exact.detach().contiguous().cpu().view(torch.uint8).numpy())
        return digest.hexdigest()[:20]


def _aligned(unet) -> Callable[[dict], str]:
    """The UNet passes explicit upsampling sizes when the latent size is not a multiple of its factor."""
    factor = 2 ** getattr(unet, "num_upsamplers", 0)

    def shape_class(inputs: dict) -> str:
        return "" if all(side % factor == 0 for side in inputs["sample"].shape[-2:]) else "-odd"
    return shape_class


def _processors(module) -> list:
    return list(getattr(module, "attn_processors", {}).values())


def _adapter_state(module: torch.nn.Module) -> list:
    """peft's LoRA layers: which adapters are active at which scale (their weights are in the fingerprint)."""
    state = []
    for name, layer in module.named_modules():
        scaling = getattr(layer, "scaling", None)
        if isinstance(scaling, dict):
            state.append([name, sorted(scaling.items()), list(getattr(layer, "active_adapters", [])),
                          bool(getattr(layer, "disable_adapters", False)), list(getattr(layer, "merged_adapters", []))])
    return state


def _weights_fingerprint(module: torch.nn.Module, digest) -> None:
    """Names, shapes and a strided sample of every tensor: tells models, VAEs and LoRA sets apart for a fraction
    of a full hash's cost (a full hash of an SDXL UNet takes seconds)."""
    for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
        tensor = tensor.detach()
        count = min(_SAMPLES_PER_TENSOR, tensor.numel())
        step = max(1, tensor.numel() // max(count, 1))
        sample = torch.as_strided(tensor, (count,), (step,), tensor.storage_offset()).to(torch.float32)
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(sample.cpu().numpy().tobytes())


def _diffusers_version() -> str:
    import diffusers

    return diffusers.__version__
