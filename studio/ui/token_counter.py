"""The prompt editor's token counter: CLIP tokens per 75-token chunk, as the engine will cut the prompt.

The window never imports transformers or torch, so the count does not come from the model's tokenizer object:
it uses the `tokenizers` library (the Rust tokenizer transformers itself runs on, no torch) with the CLIP BPE
vocabulary the app ships for single-file checkpoints. Every Stable Diffusion family (1.x, 2.x, SDXL's two
encoders) uses that same vocabulary, so the count is exact for real models; the chunks are cut by the same
:func:`~studio.core.prompt_chunks.chunk_prompt` the engine uses. Prompt editing is counted as the prompt reads
at the first step. Building the tokenizer takes ~40 ms once;
a count takes well under a millisecond.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import studio
from studio.core.prompt_chunks import CHUNK_LENGTH, chunk_prompt
from studio.core.prompt_syntax import parse_prompt

# Data files beside the engine's code (read as files: importing studio.engine would import diffusers).
VOCABULARY_DIR = Path(studio.__file__).parent / "engine" / "model_configs" / "sd1" / "tokenizer"
COMMA = ",</w>"


@cache
def _clip_tokenizer():
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import BPE

    # The CLIP layout transformers' CLIPTokenizerFast builds (convert_slow_tokenizer.CLIPConverter).
    bpe = BPE.from_file(str(VOCABULARY_DIR / "vocab.json"), str(VOCABULARY_DIR / "merges.txt"),
                        continuing_subword_prefix="", end_of_word_suffix="</w>", fuse_unk=False,
                        unk_token="<|endoftext|>")
    tokenizer = Tokenizer(bpe)
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""),
                             behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    return tokenizer


def _tokenize(texts) -> list[list[int]]:
    return [encoding.ids for encoding in _clip_tokenizer().encode_batch(list(texts), add_special_tokens=False)]


def chunk_sizes(prompt: str) -> list[int]:
    """Tokens in each chunk of ``prompt`` (always at least one entry)."""
    comma = _clip_tokenizer().token_to_id(COMMA)
    return [len(chunk.tokens) for chunk in chunk_prompt(parse_prompt(prompt), _tokenize, comma)]


def count_label(prompt: str) -> str:
    """``"42/75"``, or one figure per chunk for a longer prompt: ``"71/75 · 20/75"``."""
    return " · ".join(f"{size}/{CHUNK_LENGTH}" for size in chunk_sizes(prompt))
