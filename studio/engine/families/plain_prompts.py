"""Prompts for families with T5 or LLM text encoders: the text is passed as written, A1111 syntax read away.

A1111's emphasis multiplies CLIP token vectors; T5 and LLM encoders have no such documented method, so
``(word:1.2)`` keeps ``word`` and drops the weight, ``BREAK`` becomes a space, ``<lora:...>`` tags are removed
(the LoRA itself is applied by the engine) and prompt editing ``[from:to:when]`` reads the first step's text.
Each of these is said once, in the log and in the window's prompt note (``FamilyControls.prompt_note``).
"""

from __future__ import annotations

import logging

from studio.core.prompt_syntax import Segment, parse_prompt
from studio.core.request import GenerationRequest

log = logging.getLogger(__name__)

PROMPT_NOTE = "Weights such as (word:1.2) and prompt editing are read as plain text here: the weights are removed."


def plain_text(prompt: str) -> str:
    """The words of ``prompt`` at its first step, without weights, BREAKs or extra-network tags."""
    parsed = parse_prompt(prompt)
    text = " ".join(piece.text.strip() for piece in parsed.pieces if isinstance(piece, Segment))
    return " ".join(text.split())


class PlainPromptConditioning:
    """The prompt arguments of one run as text; ``negative``: whether the family takes a negative prompt."""

    def __init__(self, pipe, request: GenerationRequest, *, negative: bool) -> None:
        self.prompt = plain_text(request.prompt)
        self.negative = plain_text(request.negative_prompt) if negative else None
        if self.prompt != request.prompt.strip() or (negative and self.negative != request.negative_prompt.strip()):
            log.info("Prompt: %s", PROMPT_NOTE)
        if not negative and request.negative_prompt.strip():
            log.info("Prompt: this model has no negative prompt; it is not used.")

    def arguments(self) -> dict:
        if self.negative is None:
            return dict(prompt=self.prompt)
        return dict(prompt=self.prompt, negative_prompt=self.negative)

    def after_step(self, pipe, index: int) -> dict:
        return {}
