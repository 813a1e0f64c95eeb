"""Textual-inversion embeddings through the real engine on tiny models: diffusers' own pixels, SD 1.x and SDXL."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from studio.core.errors import StudioError
from studio.core.metadata import format_parameters
from studio.core.paths import models_dir
from tests.test_lora import _ours, _pipe, _request, _theirs
from tests.tiny_networks import sd_embedding, sdxl_embedding

PROMPT = "a inkstyle fox in snow"


def _emb_dir():
    return models_dir() / "embeddings"


def test_sd1_embedding_pixels_equal_diffusers_load_textual_inversion(sd_engine, tiny_sd_dir):  # noqa: F811
    pipe = _pipe(tiny_sd_dir)
    plain_word = _ours(sd_engine, PROMPT)  # no such file yet: "inkstyle" is just letters
    path = sd_embedding(pipe, _emb_dir() / "styles" / "inkstyle.safetensors")
    ours = _ours(sd_engine, PROMPT)
    weighted = _ours(sd_engine, "(a inkstyle fox in snow:1.0)")  # our own tokenization and encoding path
    pipe.load_textual_inversion(str(path), token="inkstyle")
    theirs = _theirs(pipe, PROMPT)
    assert np.array_equal(ours, theirs)
    assert np.array_equal(weighted, theirs)
    assert np.abs(ours - plain_word).max() > 5
    path.unlink()  # gone from the folder: the word is plain text again, nothing left in the tokenizer
    assert np.array_equal(_ours(sd_engine, PROMPT), plain_word)
    assert sd_engine._embeddings.loaded == []


def test_an_a1111_pt_embedding_loads_without_pickle_code_and_matches_the_safetensors_one(sd_engine, tiny_sd_dir):  # noqa: F811
    pipe = _pipe(tiny_sd_dir)
    source = sd_embedding(pipe, models_dir() / "elsewhere" / "inkstyle.safetensors")
    _emb_dir().mkdir(parents=True, exist_ok=True)
    (_emb_dir() / "inkstyle.safetensors").write_bytes(source.read_bytes())
    from_safetensors = _ours(sd_engine, PROMPT)
    (_emb_dir() / "inkstyle.safetensors").unlink()
    vectors = load_file(str(source))["emb_params"]
    torch.save({"string_to_param": {"*": vectors}, "name": "other", "step": 100}, _emb_dir() / "inkstyle.pt")
    assert np.array_equal(_ours(sd_engine, PROMPT), from_safetensors)


def test_sdxl_embedding_pair_matches_diffusers_two_calls(sdxl_engine, tiny_sdxl_dir):  # noqa: F811
    pipe = _pipe(tiny_sdxl_dir)
    base = _ours(sdxl_engine, PROMPT)
    path = sdxl_embedding(pipe, _emb_dir() / "inkstyle.safetensors")
    ours = _ours(sdxl_engine, PROMPT, negative_prompt="blurry, inkstyle")
    state = load_file(str(path))
    pipe.load_textual_inversion(state["clip_l"], token="inkstyle", text_encoder=pipe.text_encoder,
                                tokenizer=pipe.tokenizer)
    pipe.load_textual_inversion(state["clip_g"], token="inkstyle", text_encoder=pipe.text_encoder_2,
                                tokenizer=pipe.tokenizer_2)
    assert np.array_equal(ours, _theirs(pipe, PROMPT, negative="blurry, inkstyle"))
    assert np.abs(ours - base).max() > 5


def test_ti_hashes_are_recorded(sd_engine, tiny_sd_dir):  # noqa: F811
    path = sd_embedding(_pipe(tiny_sd_dir), _emb_dir() / "inkstyle.safetensors")
    recipe = sd_engine.generate(_request(PROMPT)).recipes[0]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert recipe.ti_hashes == f"inkstyle: {digest}"
    assert f'TI hashes: "inkstyle: {digest}"' in format_parameters(recipe)


def test_wrong_width_sdxl_on_sd1_and_code_in_pickles_are_one_sentence(sd_engine, tiny_sd_dir, tiny_sdxl_dir):  # noqa: F811
    sd_embedding(_pipe(tiny_sdxl_dir), _emb_dir() / "wide.safetensors")  # SDXL's first encoder: 32 wide too
    torch.save({"emb_params": torch.zeros(1, 48)}, _emb_dir() / "narrow.pt")
    sdxl_embedding(_pipe(tiny_sdxl_dir), _emb_dir() / "pair.safetensors")

    class Evil:
        def __reduce__(self):
            return (print, ("ran code",))

    torch.save({"emb_params": Evil()}, _emb_dir() / "evil.pt")
    cases = {"narrow": "'narrow.pt' was made for another kind of model than the one loaded (vectors of 48, the "
                       "text encoder takes 32).",
             "pair": "'pair.safetensors' is an SDXL embedding",
             "evil": "'evil.pt' could not be read"}
    before = sd_engine._embeddings.loaded
    for word, expected in cases.items():
        with pytest.raises(StudioError) as err:
            _ours(sd_engine, f"a {word} fox")
        assert expected in str(err.value), word
    assert sd_engine._embeddings.loaded == before  # a refused run changes nothing
