"""LoRA references in a prompt, read as AUTOMATIC1111 reads ``<lora:NAME:WEIGHT>`` tags, and found on disk;
and the textual-inversion embeddings a prompt uses (the word NAME, for a file NAME in an embeddings folder).

- ``<lora:NAME>``: weight 1; ``<lora:NAME:W>``: W for the text encoder(s) and the UNet; ``<lora:NAME:TE:UNET>``
  (or the named ``te=``/``unet=`` forms): separate weights, as in A1111's ``networks`` extension.
- Tags count wherever they stand, in the prompt or the negative prompt (a LoRA changes the model, not one
  prompt); the same NAME twice keeps its first tag.
- NAME is a file stem in a LoRA folder, or its path below that folder (``styles/ink``): see ``model_scan``.

The prompt text is never changed: the tags stay in it (and in the saved recipe) as A1111 keeps them; the
encoder never sees them (``prompt_syntax`` takes them out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from studio.core.errors import StudioError
from studio.core.model_folders import LibraryFolder, ModelKind
from studio.core.model_scan import MODEL_SUFFIXES, ModelEntry, find_entry, scan
from studio.core.prompt_syntax import ExtraNetwork, extract_extra_networks

LORA_KINDS = ("lora", "lyco")  # A1111 reads <lyco:...> as a LoRA too
MAX_WEIGHT = 10.0


@dataclass(frozen=True)
class LoraRef:
    name: str
    te_weight: float = 1.0
    unet_weight: float = 1.0
    tag: str = ""


@dataclass(frozen=True)
class ResolvedLora:
    ref: LoraRef
    path: Path


def lora_refs(*prompts: str) -> tuple[LoraRef, ...]:
    """The LoRA tags of ``prompts`` in order, one per name; raises :class:`StudioError` for a malformed tag."""
    found: dict[str, LoraRef] = {}
    for text in prompts:
        for network in extract_extra_networks(text)[1]:
            if network.kind not in LORA_KINDS:
                continue
            ref = _parse(network)
            found.setdefault(ref.name.lower(), ref)
    return tuple(found.values())


def unsupported_networks(*prompts: str) -> list[ExtraNetwork]:
    """Extra-network tags of another kind (``<hypernet:...>``...), which the app cannot run."""
    return [n for text in prompts for n in extract_extra_networks(text)[1] if n.kind not in LORA_KINDS]


def unsupported_network_refusal(*prompts: str) -> str | None:
    """The sentence that refuses a prompt with a tag the app cannot run (never dropped silently), or None."""
    unsupported = unsupported_networks(*prompts)
    if not unsupported:
        return None
    return (f"The prompt asks for {unsupported[0].tag}, but only <lora:...> extra-network tags are supported; "
            "remove the tag to generate.")


def with_lora_aliases(prompt: str, aliases: list[str]) -> str:
    """``prompt`` with a ``<lora:NAME:W>`` tag appended per ``--lora NAME[:W]`` (the alias is the tag itself)."""
    tags = [f"<lora:{alias.strip()}>" for alias in aliases if alias.strip()]
    return " ".join([prompt, *tags]) if tags else prompt


def resolve_loras(refs: tuple[LoraRef, ...], folders: list[LibraryFolder]) -> list[ResolvedLora]:
    """The file of each reference, from the LoRA folders; an unknown name is one sentence naming it."""
    if not refs:
        return []
    entries = scan([f for f in folders if f.kind in (ModelKind.LORA, None)])
    return [ResolvedLora(ref, _lora_file(entries, ref)) for ref in refs]


def resolve_vae(name: str, folders: list[LibraryFolder]) -> ModelEntry | None:
    """The VAE file called ``name`` in the VAE folders; None for "" (the model's own VAE)."""
    if not name.strip():
        return None
    entries = scan([f for f in folders if f.kind in (ModelKind.VAE, None)])
    wanted = name.strip()
    stem = wanted[: -len(Path(wanted).suffix)] if wanted.lower().endswith(MODEL_SUFFIXES) else wanted
    entry = find_entry(entries, ModelKind.VAE, stem)  # A1111 records the file name, suffix included
    if entry is None:
        raise StudioError(f"There is no VAE called '{name.strip()}' in the VAE folders (see `studio models --kind vae`).")
    if entry.problem:
        raise StudioError(f"The VAE '{name.strip()}' cannot be used: {entry.problem}")
    return entry


def _lora_file(entries: list[ModelEntry], ref: LoraRef) -> Path:
    entry = find_entry(entries, ModelKind.LORA, ref.name)
    if entry is None:
        raise StudioError(
            f"The prompt asks for the LoRA '{ref.name}', but there is no such file in the LoRA folders "
            "(see `studio models --kind loras`)."
        )
    if entry.problem:
        raise StudioError(f"The LoRA '{ref.name}' cannot be used: {entry.problem}")
    return entry.path


def _parse(network: ExtraNetwork) -> LoraRef:
    name = network.name.strip()
    if not name:
        raise StudioError(f"The tag {network.tag} names no LoRA; write it as <lora:NAME:WEIGHT>.")
    positional, named = [], {}
    for arg in network.args[1:]:
        key, sep, value = arg.partition("=")
        if sep:
            named[key.strip().lower()] = value
        else:
            positional.append(arg)
    te = _weight(network, named.get("te", positional[0] if positional else "1"))
    unet = _weight(network, named.get("unet", positional[1] if len(positional) > 1 else str(te)))
    return LoraRef(name, te, unet, network.tag)


def _weight(network: ExtraNetwork, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise StudioError(f"The weight '{text.strip()}' in {network.tag} is not a number.") from None
    if not -MAX_WEIGHT <= value <= MAX_WEIGHT:
        raise StudioError(f"The weight {value:g} in {network.tag} is out of range (-{MAX_WEIGHT:g} to {MAX_WEIGHT:g}).")
    return value


def embeddings_in(prompts: tuple[str, ...], folders: list[LibraryFolder]) -> list[ModelEntry]:
    """The embedding files whose name (the file stem, as A1111 names them) is a word of one of ``prompts``."""
    texts = [extract_extra_networks(text)[0] for text in prompts]
    if not any(text.strip() for text in texts):
        return []
    entries = scan([f for f in folders if f.kind in (ModelKind.EMBEDDING, None)])
    used: dict[str, ModelEntry] = {}
    for entry in entries:
        if entry.kind is not ModelKind.EMBEDDING:
            continue
        word = entry.path.stem
        pattern = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])", re.IGNORECASE)
        if word.lower() not in used and any(pattern.search(text) for text in texts):
            if entry.problem:
                raise StudioError(f"The embedding '{entry.path.name}' cannot be used: {entry.problem}")
            used[word.lower()] = entry
    return list(used.values())
