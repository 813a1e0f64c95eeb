"""Which LoRAs are loaded into the pipeline, at which weights: the one place that adapter state lives.

:meth:`LoraAdapters.apply` diffs the wanted set against the loaded set: new files are checked and loaded
(``load_lora_weights(file, adapter_name=...)``, diffusers' own kohya/A1111 and diffusers-layout conversion),
files no longer wanted are deleted (``delete_adapters``), and the weights are set (``set_adapters``). With none
wanted every adapter is unloaded, so a run without tags after a run with them gives the base model's pixels;
the base model itself is never reloaded. Everything that can be refused is refused before the model changes:

- not a readable ``.safetensors`` file, or a LyCORIS LoHa/LoKr file (diffusers cannot convert those), or one in
  the kohya layout for a pipeline whose loader does not convert it (diffusers 0.42 converts kohya files for
  SD 1.x/2.x/SDXL and the Flux loader, which Chroma shares, but not for SD 3.5);
- a LoRA for another model: each of its tensors is compared with the shape of the module it patches in the
  loaded model (after diffusers' own key conversion), so no width is assumed (the tests' tiny models have
  unusual ones); a module that does not exist counts as a mismatch.

The denoiser is the UNet or, for the flow-matching families, the transformer: diffusers' LoRA loaders, and the
weights given to ``set_adapters``, name it by its pipeline attribute.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

import torch

from studio.core.errors import StudioError
from studio.core.extra_networks import ResolvedLora
from studio.core.model_header import read_header

log = logging.getLogger(__name__)

_LYCORIS_MARKERS = (".hada_w1", ".hada_w2", ".lokr_w1", ".lokr_w2", ".lokr_t2")
_TEXT_ENCODERS = ("text_encoder", "text_encoder_2")
_DENOISERS = ("unet", "transformer")
_KOHYA_MARKERS = (".lora_down.", ".lora_up.")


class LoraAdapters:
    def __init__(self, pipe) -> None:
        self._pipe = pipe
        self._loaded: dict[tuple, str] = {}  # (path, size, mtime) -> adapter name

    @property
    def loaded(self) -> list[str]:
        return list(self._loaded.values())

    def apply(self, wanted: Sequence[ResolvedLora]) -> None:
        """Make the pipeline carry exactly ``wanted`` at their weights; raises :class:`StudioError` before any
        change when one of them cannot be used."""
        keys = [_file_key(item) for item in wanted]
        new = [(key, item) for key, item in zip(keys, wanted) if key not in self._loaded]
        for _key, item in new:
            self._check(item)
        stale = [key for key in self._loaded if key not in keys]
        if stale and len(stale) == len(self._loaded) and not wanted:
            self._pipe.unload_lora_weights()
            self._loaded.clear()
        elif stale:
            self._pipe.delete_adapters([self._loaded.pop(key) for key in stale])
        for key, item in new:
            self._loaded[key] = self._load(item)
        if wanted:
            names = [self._loaded[key] for key in keys]
            self._pipe.set_adapters(names, [self._weights(item) for item in wanted])

    # -- checks --------------------------------------------------------------------------------------
    def _check(self, item: ResolvedLora) -> None:
        path = item.path
        if path.suffix.lower() != ".safetensors":
            raise StudioError(f"The LoRA '{path.name}' is not a .safetensors file; only .safetensors LoRAs load.")
        header = read_header(path)  # one sentence for damaged files
        if any(marker in key for key in header.shapes for marker in _LYCORIS_MARKERS):
            raise StudioError(
                f"The LoRA '{path.name}' is a LyCORIS LoHa/LoKr file, which cannot be loaded; use a plain LoRA."
            )
        if not hasattr(self._pipe, "load_lora_weights"):
            raise StudioError(f"LoRAs cannot be loaded into this model's pipeline ({type(self._pipe).__name__}).")
        try:
            state = self._pipe.lora_state_dict(str(path))
            state = state[0] if isinstance(state, tuple) else state  # SD's loaders add the alphas, Flux's and SD3's not
            if any(marker in key for key in state for marker in _KOHYA_MARKERS):
                raise StudioError(f"The LoRA '{path.name}' is in the kohya layout, which diffusers cannot convert for "
                                  "this model; use one saved in diffusers' layout.")
            mismatch = _first_mismatch(self._pipe, state)
        except StudioError:
            raise
        except Exception as exc:  # an unknown key layout: diffusers cannot read it
            log.exception("Reading LoRA %s failed", path)
            raise StudioError(f"The LoRA '{path.name}' is in a layout that cannot be loaded.") from exc
        if mismatch is not None:
            log.info("LoRA %s does not fit the loaded model: %s", path, mismatch)
            raise StudioError(
                f"The LoRA '{path.name}' was made for another kind of model than the one loaded ({mismatch})."
            )

    def _load(self, item: ResolvedLora) -> str:
        name = _adapter_name(item)
        try:
            self._pipe.load_lora_weights(str(item.path), adapter_name=name)
        except Exception as exc:  # anything left after the checks: leave no half-loaded adapter behind
            log.exception("Loading LoRA %s failed", item.path)
            self._forget(name)
            raise StudioError(f"The LoRA '{item.path.name}' could not be loaded ({type(exc).__name__}).") from exc
        log.info("Loaded LoRA %s as %s", item.path, name)
        return name

    def _forget(self, name: str) -> None:
        try:
            if any(name in names for names in self._pipe.get_list_adapters().values()):
                self._pipe.delete_adapters([name])
        except Exception:  # noqa: BLE001 - best effort: the error that matters is already being raised
            log.exception("Removing the half-loaded adapter %s failed", name)

    def _weights(self, item: ResolvedLora) -> float | dict[str, float]:
        ref = item.ref
        if ref.te_weight == ref.unet_weight:
            return ref.unet_weight
        weights = {_denoiser(self._pipe): ref.unet_weight}
        weights.update({part: ref.te_weight for part in _TEXT_ENCODERS if getattr(self._pipe, part, None) is not None})
        return weights


def _first_mismatch(pipe, state: dict[str, torch.Tensor]) -> str | None:
    """A short reason when a tensor of ``state`` (diffusers' converted LoRA) does not fit a module of ``pipe``."""
    from diffusers.utils.state_dict_utils import (
        convert_state_dict_to_diffusers,
        convert_state_dict_to_peft,
        convert_unet_state_dict_to_peft,
    )

    parts: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in state.items():
        part, _, rest = key.partition(".")
        parts.setdefault(part, {})[rest] = tensor
    for part, tensors in parts.items():
        model = getattr(pipe, part, None)
        if model is None:
            return f"it patches a {part} the model does not have"
        if part in _DENOISERS:
            peft = tensors if any("lora_A" in k for k in tensors) else convert_unet_state_dict_to_peft(tensors)
        else:
            peft = convert_state_dict_to_peft(convert_state_dict_to_diffusers(tensors))
            if not hasattr(model, "text_model"):
                peft = {k.removeprefix("text_model."): v for k, v in peft.items()}
        for key, tensor in peft.items():
            module_path, _, kind = key.rpartition(".lora_")
            if not kind.startswith(("A.", "B.")):
                continue
            try:
                module = model.get_submodule(module_path)
            except AttributeError:
                return f"{part} has no {module_path}"
            expected = _expected_shape(module, kind[0], tensor)
            if expected is not None and tuple(tensor.shape[:2]) != expected:
                return f"{part}.{module_path} is {_io(module)}, the LoRA expects {tuple(tensor.shape)}"
    return None


def _denoiser(pipe) -> str:
    return "transformer" if getattr(pipe, "transformer", None) is not None else "unet"


def _expected_shape(module, which: str, tensor: torch.Tensor) -> tuple[int, int] | None:
    """lora_A is (rank, in), lora_B is (out, rank); the rank is the LoRA's own."""
    features = _features(module)
    if features is None:
        return None
    fan_in, fan_out = features
    return (tensor.shape[0], fan_in) if which == "A" else (fan_out, tensor.shape[1])


def _features(module) -> tuple[int, int] | None:
    base = getattr(module, "base_layer", module)  # a module already wrapped by peft for another adapter
    if isinstance(base, torch.nn.Linear):
        return base.in_features, base.out_features
    if isinstance(base, torch.nn.Conv2d):
        return base.in_channels, base.out_channels
    return None


def _io(module) -> str:
    features = _features(module)
    return f"{features[0]} -> {features[1]}" if features else type(module).__name__


def _file_key(item: ResolvedLora) -> tuple:
    stat = item.path.stat()
    return (str(item.path.resolve()), stat.st_size, stat.st_mtime_ns)


def _adapter_name(item: ResolvedLora) -> str:
    """peft adapter names become attribute names: letters, digits and underscores only."""
    digest = hashlib.sha1(str(item.path.resolve()).encode()).hexdigest()[:8]
    stem = "".join(c if c.isalnum() else "_" for c in item.path.stem)[:40]
    return f"lora_{stem}_{digest}"
