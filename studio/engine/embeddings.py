"""Which textual-inversion embeddings the pipeline's tokenizers know: the one place that state lives.

:meth:`TextualInversions.apply` diffs the embeddings a prompt uses against the loaded ones. A new one is read
(``.safetensors`` with safetensors; ``.pt``/``.bin`` with ``torch.load(weights_only=True)``, which refuses code)
and added with diffusers' ``load_textual_inversion(..., token=NAME)``: SD 1.x/2.x get the single vector set
(``emb_params``, diffusers' one-key layout, or A1111's ``string_to_param``); SDXL's two text encoders get
``clip_l`` and ``clip_g``. One no longer used is unloaded (``unload_textual_inversion``), so the word NAME is
plain text again. A vector width that does not match the text encoder's is refused before anything changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from studio.core.errors import StudioError
from studio.core.model_scan import ModelEntry

log = logging.getLogger(__name__)

_SDXL_PARTS = (("clip_l", "tokenizer", "text_encoder"), ("clip_g", "tokenizer_2", "text_encoder_2"))


class TextualInversions:
    def __init__(self, pipe) -> None:
        self._pipe = pipe
        self._loaded: dict[tuple, list[tuple[list[str], object, object]]] = {}  # file -> (tokens, tokenizer, encoder)

    @property
    def loaded(self) -> list[str]:
        return [parts[0][0][0] for parts in self._loaded.values()]

    def apply(self, wanted: Sequence[ModelEntry]) -> None:
        keys = [_file_key(entry.path) for entry in wanted]
        new = [(key, entry, self._vectors(entry)) for key, entry in zip(keys, wanted) if key not in self._loaded]
        for key in [k for k in self._loaded if k not in keys]:
            for tokens, tokenizer, encoder in self._loaded.pop(key):
                self._pipe.unload_textual_inversion(tokens, tokenizer=tokenizer, text_encoder=encoder)
        for key, entry, vectors in new:
            self._loaded[key] = self._load(entry, vectors)

    def _vectors(self, entry: ModelEntry) -> list[tuple[torch.Tensor | dict, object, object]]:
        """(embedding or state dict, tokenizer, text encoder) per text encoder, checked against its width."""
        state = _read(entry.path)
        sdxl = getattr(self._pipe, "text_encoder_2", None) is not None
        if sdxl:
            if not all(part in state for part, _, _ in _SDXL_PARTS):
                raise StudioError(
                    f"The embedding '{entry.path.name}' is not an SDXL embedding (it has no clip_l/clip_g pair).")
            parts = [(state[part], getattr(self._pipe, tok), getattr(self._pipe, enc)) for part, tok, enc in _SDXL_PARTS]
        else:
            parts = [(_single_vectors(entry.path, state), self._pipe.tokenizer, self._pipe.text_encoder)]
        for vectors, _tokenizer, encoder in parts:
            width = encoder.get_input_embeddings().weight.shape[1]
            if vectors.ndim not in (1, 2) or vectors.shape[-1] != width:
                raise StudioError(
                    f"The embedding '{entry.path.name}' was made for another kind of model than the one loaded "
                    f"(vectors of {vectors.shape[-1]}, the text encoder takes {width})."
                )
        return parts

    def _load(self, entry: ModelEntry, parts) -> list[tuple[list[str], object, object]]:
        name = entry.path.stem
        done = []
        try:
            for vectors, tokenizer, encoder in parts:
                self._pipe.load_textual_inversion(vectors, token=name, tokenizer=tokenizer, text_encoder=encoder)
                count = 1 if vectors.ndim == 1 else vectors.shape[0]
                done.append(([name] + [f"{name}_{i}" for i in range(1, count)], tokenizer, encoder))
        except ValueError as exc:  # the word is already a token of the vocabulary (or loaded twice)
            log.exception("Loading embedding %s failed", entry.path)
            for tokens, tokenizer, encoder in done:
                self._pipe.unload_textual_inversion(tokens, tokenizer=tokenizer, text_encoder=encoder)
            raise StudioError(
                f"The embedding '{entry.path.name}' cannot be used: the word '{name}' is already a token of the "
                "model's vocabulary; rename the file."
            ) from exc
        log.info("Loaded embedding %s (%d vectors)", entry.path, len(done[0][0]))
        return done


def _read(path: Path) -> dict:
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # damaged, or a pickle that wants to run code
        log.exception("Reading embedding %s failed", path)
        raise StudioError(f"The embedding '{path.name}' could not be read (a damaged file, or one that is not "
                          "plain tensors).") from exc


def _single_vectors(path: Path, state) -> torch.Tensor:
    """The vectors of an SD 1.x/2.x embedding: ``emb_params``, A1111's ``string_to_param``, or a one-key file."""
    if isinstance(state, torch.Tensor):
        return state
    if isinstance(state, dict):
        if isinstance(state.get("emb_params"), torch.Tensor):
            return state["emb_params"]
        param = state.get("string_to_param")
        if isinstance(param, dict) and isinstance(param.get("*"), torch.Tensor):
            return param["*"]
        tensors = [v for v in state.values() if isinstance(v, torch.Tensor)]
        if len(state) == 1 and tensors:
            return tensors[0]
    if isinstance(state, dict) and "clip_l" in state:
        raise StudioError(f"The embedding '{path.name}' is an SDXL embedding; load an SDXL model to use it.")
    raise StudioError(f"'{path.name}' is not a textual-inversion embedding.")


def _file_key(path: Path) -> tuple:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
