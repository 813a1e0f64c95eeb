"""Write the CLIP tokenizer files that ship inside ``studio/engine/model_configs/*/tokenizer*/``.

Stable Diffusion 1.x, 2.x and SDXL all use OpenAI's CLIP BPE tokenizer (49408 tokens). Hugging Face model repos
carry it as ``vocab.json`` + ``merges.txt`` plus two small JSON files; the only difference between the families
is the padding token: ``<|endoftext|>`` for SD 1.x and SDXL's first tokenizer, ``!`` (id 0, what OpenCLIP pads
with) for SD 2.x and SDXL's ``tokenizer_2``.

The BPE merge list itself is not downloaded from the hub: it ships inside the ``open-clip-torch`` wheel as
``open_clip/bpe_simple_vocab_16e6.txt.gz`` (the same file as in openai/CLIP). To regenerate:

    python -m pip download --no-deps open-clip-torch -d /tmp/oc
    python packaging/tools/make_clip_tokenizer.py --source /tmp/oc/open_clip_torch-*.whl

``--source`` takes the wheel or the extracted ``.txt.gz``; ``--dest`` defaults to ``studio/engine/model_configs``.
The vocabulary is built the way CLIP's ``SimpleTokenizer`` builds it: the 256 byte characters, the same with
``</w>``, the first 48894 merges joined, then ``<|startoftext|>`` and ``<|endoftext|>``. The script checks that
``CLIPTokenizer`` loads every folder offline and encodes "a photo of a cat" as
[49406, 320, 1125, 539, 320, 2368, 49407].
"""

from __future__ import annotations

import argparse
import gzip
import json
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BPE_MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"
VOCAB_SIZE = 49408
N_MERGES = VOCAB_SIZE - 512 - 2  # 48894
EXPECTED = [49406, 320, 1125, 539, 320, 2368, 49407]  # "a photo of a cat"

# folder (relative to --dest) -> padding token
TOKENIZERS = {
    "sd1/tokenizer": "<|endoftext|>",
    "sd1_inpaint/tokenizer": "<|endoftext|>",
    "sd2/tokenizer": "!",
    "sd2_inpaint/tokenizer": "!",
    "sdxl/tokenizer": "<|endoftext|>",
    "sdxl/tokenizer_2": "!",
    "sdxl_inpaint/tokenizer": "<|endoftext|>",
    "sdxl_inpaint/tokenizer_2": "!",
}


def bytes_to_unicode() -> dict[int, str]:
    """CLIP's reversible byte -> printable character table (printable bytes first, the rest after 255)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def read_merges(source: Path) -> list[tuple[str, str]]:
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            raw = wheel.read(BPE_MEMBER)
    else:
        raw = source.read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : N_MERGES + 1]]  # line 0 is a version header
    assert len(merges) == N_MERGES and all(len(m) == 2 for m in merges), "unexpected BPE file"
    return merges  # type: ignore[return-value]


def build_vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    assert len(tokens) == VOCAB_SIZE == len(set(tokens))
    return {tok: i for i, tok in enumerate(tokens)}


def _special(content: str, typed: bool) -> dict:
    token = {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    return {"__type": "AddedToken", **token} if typed else token


def write_tokenizer(folder: Path, vocab: dict[str, int], merges: list[tuple[str, str]], pad: str) -> None:
    """The four files the hub repos carry, in their layout (no machine-specific ``name_or_path``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, separators=(",", ":")), "utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), "utf-8")
    special = {
        "bos_token": _special("<|startoftext|>", False),
        "eos_token": _special("<|endoftext|>", False),
        "pad_token": pad,
        "unk_token": _special("<|endoftext|>", False),
    }
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n", "utf-8")
    config = {
        "add_prefix_space": False,
        "bos_token": _special("<|startoftext|>", True),
        "do_lower_case": True,
        "eos_token": _special("<|endoftext|>", True),
        "errors": "replace",
        "model_max_length": 77,
        "pad_token": pad,
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": _special("<|endoftext|>", True),
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", "utf-8")


def check(folder: Path, pad: str) -> None:
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(folder, local_files_only=True)
    ids = tok("a photo of a cat").input_ids
    assert ids == EXPECTED, f"{folder}: {ids}"
    assert len(tok) == VOCAB_SIZE and tok.pad_token == pad, folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", type=Path, required=True, help="the open_clip_torch wheel, or bpe_simple_vocab_16e6.txt.gz"
    )
    parser.add_argument("--dest", type=Path, default=REPO / "studio" / "engine" / "model_configs")
    args = parser.parse_args()
    merges = read_merges(args.source)
    vocab = build_vocab(merges)
    for rel, pad in TOKENIZERS.items():
        write_tokenizer(args.dest / rel, vocab, merges, pad)
        check(args.dest / rel, pad)
        print(f"wrote and checked {args.dest / rel} (pad {pad!r})")


if __name__ == "__main__":
    main()
