"""Prompts in AUTOMATIC1111's syntax turned into text-encoder embeddings for a diffusers pipeline.

Each prompt is parsed (``core.prompt_syntax``), cut into 75-token chunks (``core.prompt_chunks``), and every
chunk goes through the text encoder(s) as ``<start> tokens <end> <pad>...`` (77 ids, what diffusers' own
tokenizer call produces). A1111's "original" emphasis follows: each token's output vector is multiplied by
its weight, then the chunk is rescaled so that its mean is what it was before. The chunks are concatenated;
prompt and negative are padded with empty-prompt chunks to the same length. For SDXL both encoders do this
(penultimate layer, concatenated features) and the pooled embedding is the second encoder's for the first
chunk, as A1111 does.

Prompt editing ``[from:to:when]`` and alternation ``[a|b]`` are run as A1111 runs them: the step callback hands
the pipeline new embeddings at the steps where the text changes (:class:`PromptConditioning`).

A prompt with no syntax that fits in one chunk is passed to diffusers as text (``prompt=``), so it gives
exactly the pixels diffusers gives. Clip skip N (A1111's count: 1 = the last layer) takes the layers diffusers'
``clip_skip=N-1`` takes, encoded here in every case: diffusers' own path fails for SD 1.x/2.x on transformers 5.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from studio.core.prompt_chunks import CHUNK_LENGTH, Chunk, chunk_prompt
from studio.core.prompt_schedule import is_scheduled, prompt_at_step
from studio.core.prompt_syntax import parse_prompt, prompt_notices
from studio.core.request import GenerationRequest, Mode

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


class PromptConditioning:
    """The prompt arguments of one run, and the embeddings that replace them, from the step callback, at the
    steps where prompt editing or alternation changes the text (each text pair is encoded once)."""

    def __init__(self, pipe, request: GenerationRequest) -> None:
        self.pipe = pipe
        self.prompt, self.negative = request.prompt, request.negative_prompt
        self.clip_skip = request.clip_skip
        self.batch = request.batch_size
        self.scheduled = is_scheduled(request.prompt) or is_scheduled(request.negative_prompt)
        # The steps that will run (img2img runs the last ``strength`` of them); the callback knows the exact count.
        expected = request.steps
        if request.mode is not Mode.TEXT_TO_IMAGE:
            expected = max(1, min(request.steps, int(request.steps * request.strength)))
        self._texts = self._texts_at(1, expected)
        self._encoded: dict[tuple[str, str], dict] = {}
        for notice in prompt_notices(request.prompt, request.negative_prompt):
            log.info("Prompt: %s", notice)

    def arguments(self) -> dict:
        """The keyword arguments for the pipeline call (the prompt of the first step)."""
        if not self.scheduled:
            return prompt_arguments(self.pipe, self.prompt, self.negative, self.clip_skip)
        return self._encode(*self._texts)

    def after_step(self, pipe, index: int) -> dict:
        """For ``callback_on_step_end`` after step ``index`` (0-based): the loop's tensors to replace, if any."""
        step, total = index + 2, pipe.num_timesteps
        if not self.scheduled or step > total:
            return {}
        texts = self._texts_at(step, total)
        if texts == self._texts:
            return {}
        self._texts = texts
        log.debug("Step %d/%d reads the prompt %r", step, total, texts[0])
        return _loop_tensors(pipe, self._encode(*texts), self.batch)

    def _texts_at(self, step: int, steps: int) -> tuple[str, str]:
        return prompt_at_step(self.prompt, step, steps), prompt_at_step(self.negative, step, steps)

    def _encode(self, prompt: str, negative: str) -> dict:
        if (prompt, negative) not in self._encoded:
            parsed = [parse_prompt(prompt), parse_prompt(negative)]
            encoders = _encoders(self.pipe)
            chunked = [[chunk_prompt(p, enc.tokenize, enc.comma_id) for p in parsed] for enc in encoders]
            self._encoded[prompt, negative] = _embeddings(self.pipe, encoders, chunked, self.clip_skip)
        return self._encoded[prompt, negative]


def prompt_arguments(pipe, prompt: str, negative: str, clip_skip: int = 1) -> dict:
    """The prompt keyword arguments for ``pipe(...)``: text when diffusers can take it as it is, else
    ``prompt_embeds``/``negative_prompt_embeds`` (and the pooled pair for SDXL). Prompt editing and
    alternation are read at the first step (:class:`PromptConditioning` follows them through the run)."""
    parsed = [parse_prompt(prompt), parse_prompt(negative)]
    encoders = _encoders(pipe)
    chunked = [[chunk_prompt(p, enc.tokenize, enc.comma_id) for p in parsed] for enc in encoders]
    plain = all(p.is_plain for p in parsed) and all(len(chunks) == 1 for per in chunked for chunks in per)
    if plain and clip_skip == 1:
        return dict(prompt=prompt, negative_prompt=negative)
    return _embeddings(pipe, encoders, chunked, clip_skip)


def _loop_tensors(pipe, arguments: dict, batch: int) -> dict:
    """The denoising loop's own variables for these embeddings: repeated per image and, with CFG, the negative
    first, as the pipelines build them before their loop."""
    def loop_value(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        repeats = (batch,) + (1,) * (positive.dim() - 1)
        positive, negative = positive.repeat(*repeats), negative.repeat(*repeats)
        return torch.cat([negative, positive]) if pipe.do_classifier_free_guidance else positive

    tensors = {"prompt_embeds": loop_value(arguments["prompt_embeds"], arguments["negative_prompt_embeds"])}
    if "pooled_prompt_embeds" in arguments:  # SDXL: the pooled embedding rides in add_text_embeds
        tensors["add_text_embeds"] = loop_value(arguments["pooled_prompt_embeds"],
                                                arguments["negative_pooled_prompt_embeds"])
    return tensors


def _encoders(pipe) -> list[_Encoder]:
    pairs = [("tokenizer", "text_encoder"), ("tokenizer_2", "text_encoder_2")]
    found = []
    for tok, enc in pairs:
        tokenizer, text_encoder = getattr(pipe, tok, None), getattr(pipe, enc, None)
        if tokenizer is not None and text_encoder is not None:
            pooled = hasattr(text_encoder, "text_projection")  # CLIPTextModelWithProjection, or OpenVINO's for it
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
            empty = None  # the padding chunk (the empty prompt's encoding), encoded once and repeated
            for side, chunks in enumerate(per_prompt):
                hidden, pool = _encode_chunks(encoder, chunks, clip_skip, sdxl, device)
                missing = n_chunks - len(chunks)
                if missing:
                    if empty is None:
                        empty = _encode_chunks(encoder, [Chunk()], clip_skip, sdxl, device)[0]
                    hidden = torch.cat([hidden, empty.repeat(1, missing, 1)], dim=1)
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

