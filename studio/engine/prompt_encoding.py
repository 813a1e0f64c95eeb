"""Prompts in AUTOMATIC1111's syntax turned into text-encoder embeddings for a diffusers pipeline.

Each prompt is parsed (``core.prompt_syntax``), cut into 75-token chunks (``core.prompt_chunks``), and every
chunk goes through the text encoder(s) as ``<start> tokens <end> <pad>...`` (77 ids, what diffusers' own
tokenizer call produces). A1111's "original" emphasis follows: each token's output vector is multiplied by
its weight, then the chunk is rescaled so that its mean is what it was before. The chunks are concatenated;
prompt and negative are padded with empty-prompt chunks to the same length. For SDXL both encoders do this
(penultimate layer, concatenated features) and the pooled embedding is the second encoder's for the first
chunk, as A1111 does.

A prompt with no syntax that fits in one chunk is passed to diffusers as text (``prompt=``), so it gives
exactly the pixels diffusers gives. Clip skip N (A1111's count: 1 = the last layer) takes the layers diffusers'
``clip_skip=N-1`` takes, encoded here in every case: diffusers' own path fails for SD 1.x/2.x on transformers 5.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from studio.core.prompt_chunks import CHUNK_LENGTH, Chunk, chunk_prompt
from studio.core.prompt_syntax import parse_prompt, prompt_notices

log = logging.getLogger(__name__)

MEAN_EPSILON = 1e-4  # a chunk mean below this fraction of the mean magnitude counts as zero


@dataclass(frozen=True)
class _Encoder:
    tokenizer: object
    text_encoder: torch.nn.Module
    pooled: bool  # CLIPTextModelWithProjection: its first output is the pooled, projected embedding
    pipe: object = None

    def tokenize(self, texts):
        texts = list(texts)
        if hasattr(self.pipe, "maybe_convert_prompt"):  # a multi-vector embedding's word NAME -> NAME NAME_1 ...
            texts = [self.pipe.maybe_convert_prompt(text, self.tokenizer) for text in texts]
        return self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]

    @property
    def comma_id(self) -> int:
        return self.tokenizer.convert_tokens_to_ids(",</w>")


def prompt_arguments(pipe, prompt: str, negative: str, clip_skip: int = 1) -> dict:
    """The prompt keyword arguments for ``pipe(...)``: text when diffusers can take it as it is, else
    ``prompt_embeds``/``negative_prompt_embeds`` (and the pooled pair for SDXL)."""
    parsed = [parse_prompt(prompt), parse_prompt(negative)]
    for notice in prompt_notices(prompt, negative):
        log.info("Prompt: %s", notice)
    encoders = _encoders(pipe)
    chunked = [[chunk_prompt(p, enc.tokenize, enc.comma_id) for p in parsed] for enc in encoders]
    plain = all(p.is_plain for p in parsed) and all(len(chunks) == 1 for per in chunked for chunks in per)
    if plain and clip_skip == 1:
        return dict(prompt=prompt, negative_prompt=negative)
    return _embeddings(pipe, encoders, chunked, clip_skip)


def _encoders(pipe) -> list[_Encoder]:
    pairs = [("tokenizer", "text_encoder"), ("tokenizer_2", "text_encoder_2")]
    found = []
    for tok, enc in pairs:
        tokenizer, text_encoder = getattr(pipe, tok, None), getattr(pipe, enc, None)
        if tokenizer is not None and text_encoder is not None:
            pooled = type(text_encoder).__name__ == "CLIPTextModelWithProjection"
            found.append(_Encoder(tokenizer, text_encoder, pooled, pipe))
    return found


def _embeddings(pipe, encoders: list[_Encoder], chunked: list[list[list[Chunk]]], clip_skip: int) -> dict:
    sdxl = hasattr(pipe, "text_encoder_2")
    n_chunks = max(len(chunks) for per in chunked for chunks in per)
    device = pipe._execution_device
    sides: list[list[torch.Tensor]] = [[], []]  # prompt, negative: one tensor per encoder
    pooled: list[torch.Tensor | None] = [None, None]
    with torch.inference_mode():
        for encoder, per_prompt in zip(encoders, chunked):
            for side, chunks in enumerate(per_prompt):
                padded = chunks + [Chunk() for _ in range(n_chunks - len(chunks))]
                hidden, pool = _encode_chunks(encoder, padded, clip_skip, sdxl, device)
                sides[side].append(hidden)
                if encoder.pooled:
                    pooled[side] = pool
    dtype = encoders[-1].text_encoder.dtype
    embeds = [torch.cat(per_encoder, dim=-1).to(dtype=dtype, device=device) for per_encoder in sides]
    arguments = dict(prompt_embeds=embeds[0], negative_prompt_embeds=embeds[1])
    if sdxl:
        arguments.update(
            pooled_prompt_embeds=pooled[0].to(dtype=dtype, device=device),
            negative_pooled_prompt_embeds=pooled[1].to(dtype=dtype, device=device),
        )
    return arguments


def _encode_chunks(encoder: _Encoder, chunks: list[Chunk], clip_skip: int, sdxl: bool, device):
    """(1, 77 * len(chunks), width) hidden states with A1111's emphasis, and the first chunk's pooled output."""
    tok = encoder.tokenizer
    ids, weights = [], []
    for chunk in chunks:
        padding = CHUNK_LENGTH - len(chunk.tokens)
        ids.append([tok.bos_token_id, *chunk.tokens, tok.eos_token_id] + [tok.pad_token_id] * padding)
        weights.append([1.0, *chunk.weights, 1.0] + [1.0] * padding)
    input_ids = torch.tensor(ids, device=device)
    model = encoder.text_encoder
    # The same layers diffusers takes: SD's last (or clip_skip back, then the final norm), SDXL's penultimate.
    if sdxl:
        out = model(input_ids, output_hidden_states=True)
        hidden = out.hidden_states[-(clip_skip + 1)]
    elif clip_skip > 1:
        out = model(input_ids, output_hidden_states=True)
        # transformers 5 has the norm on the model itself (diffusers' own clip_skip still looks in .text_model).
        norm = getattr(model, "text_model", model).final_layer_norm
        hidden = norm(out.hidden_states[-clip_skip])
    else:
        out = model(input_ids)
        hidden = out[0]
    pool = out[0][:1] if encoder.pooled else None
    multipliers = torch.tensor(weights, device=device, dtype=torch.float32)
    if bool((multipliers != 1.0).any()):
        hidden = _emphasis(hidden, multipliers)
    return hidden.reshape(1, -1, hidden.shape[-1]), pool


def _emphasis(hidden: torch.Tensor, multipliers: torch.Tensor) -> torch.Tensor:
    """A1111's "Original" emphasis, per chunk: scale each token's vector, then restore the chunk's mean.

    A chunk whose mean is zero for all practical purposes (a final layer norm without bias, as in random test
    models) has no mean to restore: dividing by it would blow the vectors up, so it is only scaled.
    """
    z = hidden.float()
    original_mean = z.mean(dim=(1, 2), keepdim=True)
    z = z * multipliers.unsqueeze(-1)
    new_mean = z.mean(dim=(1, 2), keepdim=True)
    meaningful = new_mean.abs() > MEAN_EPSILON * z.abs().mean(dim=(1, 2), keepdim=True)
    z = z * torch.where(meaningful, original_mean / new_mean, torch.ones_like(new_mean))
    return z.to(hidden.dtype)

