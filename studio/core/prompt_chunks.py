"""A parsed prompt cut into 75-token chunks, the way AUTOMATIC1111 cuts it (``sd_hijack_clip.tokenize_line``).

CLIP sees 77 tokens at a time: a start token, 75 tokens of text, an end token. A longer prompt is encoded as
several such chunks whose outputs are concatenated. A chunk that fills up breaks after the last comma when that
comma is among its last 20 tokens (the rest moves on to the next chunk, so a phrase is not cut in half);
``BREAK`` closes the current chunk at once. The tokenizer is passed in, so the same rules serve the engine
(the model's own tokenizer) and the prompt editor's token counter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from studio.core.prompt_syntax import Break, ParsedPrompt

CHUNK_LENGTH = 75
COMMA_BACKTRACK = 20  # A1111's default "comma_padding_backtrack"

Tokenize = Callable[[Sequence[str]], list[list[int]]]  # texts -> token ids, no start/end tokens


@dataclass
class Chunk:
    """Up to CHUNK_LENGTH token ids of text and the weight of each (start, end and padding are added later)."""

    tokens: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


def chunk_prompt(parsed: ParsedPrompt, tokenize: Tokenize, comma_id: int) -> list[Chunk]:
    """The chunks of ``parsed``: always at least one (possibly empty)."""
    texts = [piece.text for piece in parsed.pieces if not isinstance(piece, Break)]
    token_lists = iter(tokenize(texts) if texts else [])
    chunks: list[Chunk] = []
    chunk = Chunk()
    last_comma = -1

    def close() -> None:
        nonlocal chunk, last_comma
        chunks.append(chunk)
        chunk = Chunk()
        last_comma = -1

    for piece in parsed.pieces:
        if isinstance(piece, Break):
            close()
            continue
        for token in next(token_lists):
            if token == comma_id:
                last_comma = len(chunk.tokens)
            elif (
                len(chunk.tokens) == CHUNK_LENGTH
                and last_comma != -1
                and len(chunk.tokens) - last_comma <= COMMA_BACKTRACK
            ):
                cut = last_comma + 1
                moved = Chunk(chunk.tokens[cut:], chunk.weights[cut:])
                del chunk.tokens[cut:], chunk.weights[cut:]
                close()
                chunk = moved
            if len(chunk.tokens) == CHUNK_LENGTH:
                close()
            chunk.tokens.append(token)
            chunk.weights.append(piece.weight)
    if chunk.tokens or not chunks:
        close()
    return chunks
