"""Prompt encoding cost: a 300-token A1111 prompt (weights, four chunks) through our encoder, against diffusers'
own ``encode_prompt`` of the same text (which keeps only the first 75 tokens), on the SD 1.5 text encoder
(real architecture and CLIP tokenizer, random weights). Both with CFG (prompt and negative), alternating.
With OpenVINO installed, ours again with the text encoder on OpenVINO: the conversion, the per-run key (the
token embeddings hashed in full), the median encoding, the largest difference and the size on disk."""

import statistics
import tempfile
import time
from pathlib import Path

import torch
from diffusers.utils import logging as diffusers_logging

from studio.core import conversion_cache
from studio.core.backends import openvino_installed
from studio.core.cancel import CancelToken
from studio.core.prompt_syntax import parse_prompt
from studio.engine.prompt_encoding import prompt_arguments
from tests.bench.sd15 import build_sd15

PHRASE = "(masterpiece:1.2), best quality, a [lighthouse] on a cliff at dusk, ((dramatic clouds)), "
NEGATIVE = "blurry, lowres, (bad anatomy:1.3), watermark"
TARGET_TOKENS = 300


def _prompt(tokenizer) -> tuple[str, int]:
    """The phrase repeated until the text the encoder sees (the syntax taken out) has TARGET_TOKENS tokens."""
    def tokens(text):
        pieces = parse_prompt(text).pieces
        return len(tokenizer("".join(p.text for p in pieces), add_special_tokens=False).input_ids)

    text = ""
    while (n := tokens(text)) < TARGET_TOKENS:
        text += PHRASE
    return text, n


def run(rounds: int = 5) -> dict[str, float]:
    diffusers_logging.set_verbosity_error()  # its "truncated because CLIP can only handle 77 tokens" warnings
    pipe = build_sd15()
    prompt, tokens = _prompt(pipe.tokenizer)

    def ours():
        return prompt_arguments(pipe, prompt, NEGATIVE)

    def theirs():
        with torch.inference_mode():
            return pipe.encode_prompt(prompt, "cpu", 1, True, NEGATIVE)

    chunks = ours()["prompt_embeds"].shape[1] // 77
    negative_chunks = len(prompt_arguments(pipe, NEGATIVE + ", (x:1.0)", "")["prompt_embeds"][0]) // 77
    passes = chunks + negative_chunks + (1 if negative_chunks < chunks else 0)  # + the padding chunk, once
    theirs()  # warm-up
    ours_s, theirs_s = [], []
    for index in range(rounds):
        for name, fn in ((("ours", ours), ("theirs", theirs)) if index % 2 else (("theirs", theirs), ("ours", ours))):
            start = time.perf_counter()
            fn()
            (ours_s if name == "ours" else theirs_s).append(time.perf_counter() - start)
    figures = {
        "tokens": tokens,
        "chunks": chunks,
        "passes": passes,
        "ours_ms": statistics.median(ours_s) * 1000,
        "diffusers_ms": statistics.median(theirs_s) * 1000,
        "ratio": statistics.median(o / t for o, t in zip(ours_s, theirs_s)),
        "threads": torch.get_num_threads(),
    }
    if openvino_installed():
        figures |= _openvino(pipe, ours, rounds)
    return figures


def _openvino(pipe, ours, rounds: int) -> dict[str, float]:
    from studio.engine.openvino_backend import OpenVinoBackend

    expected = ours()["prompt_embeds"]
    with tempfile.TemporaryDirectory() as home:
        backend = OpenVinoBackend(Path(home), 0)
        start = time.perf_counter()
        with backend.running(pipe, CancelToken(), lambda notice: None):
            ours()
        convert_s = time.perf_counter() - start
        keys_s, encode_s = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            with backend.running(pipe, CancelToken(), lambda notice: None):
                keys_s.append(time.perf_counter() - start)
                start = time.perf_counter()
                got = ours()["prompt_embeds"]
                encode_s.append(time.perf_counter() - start)
        disk = {entry.path.name.split("-")[0]: entry.size for entry in conversion_cache.entries(Path(home))}
    return {
        "ov_first_s": convert_s,
        "ov_key_ms": statistics.median(keys_s) * 1000,
        "ov_ms": statistics.median(encode_s) * 1000,
        "ov_max_diff": (got - expected).abs().max().item(),
        "ov_disk_mb": disk["text_encoder"] / 1e6,
    }


def report(figures: dict[str, float]) -> str:
    return (
        f"prompt encoding, SD 1.5 text encoder, {figures['tokens']}-token prompt ({figures['chunks']} chunks) + "
        f"negative, CPU ({figures['threads']} threads)\n"
        f"  diffusers encode_prompt (first 75 tokens only) : {figures['diffusers_ms']:.1f} ms (median)\n"
        f"  A1111 syntax, all chunks                        : {figures['ours_ms']:.1f} ms (median)\n"
        f"  ratio                                           : {figures['ratio']:.2f}\n"
        f"  per 77-token encoder pass: diffusers {figures['diffusers_ms'] / 2:.1f} ms (2 passes), ours "
        f"{figures['ours_ms'] / figures['passes']:.1f} ms ({figures['passes']} passes)\n"
    ) + (
        f"  text encoder on OpenVINO: first run (converts) {figures['ov_first_s']:.1f} s, then {figures['ov_ms']:.1f} "
        f"ms (median; {figures['ov_ms'] / figures['ours_ms']:.2f}x PyTorch's), keys {figures['ov_key_ms']:.0f} ms "
        f"a run, max difference {figures['ov_max_diff']:.1e}, {figures['ov_disk_mb']:.0f} MB on disk (IR and its "
        f"compiled blob)\n" if "ov_ms" in figures else "")
