"""Crafted metadata (tests/bad_inputs.py): linear-time parsing, bounded reads, recipes checked field by field."""

import json
import logging
import random
import re
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from studio.core import metadata
from studio.core.metadata import parse_parameters, read_checked_recipe, read_recipe
from studio.core.recipe import Recipe, check_recipe
from studio.core.text import is_valid_text, printable
from tests import bad_inputs
from tests.bad_inputs import GOOD, png_with_text


# ----------------------------------------------------------------------------- the scanner is A1111's regex
def test_the_linear_scanner_finds_exactly_what_a1111s_regex_finds():
    reference = re.compile(bad_inputs.A1111_PARAM)
    rng = random.Random(8)
    alphabet = ['a', 'Z', '7', '_', ' ', ' ', ':', ':', ',', ',', '"', '\\', '-', '/', '\t', 'é', '.', 'x']
    lines = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(20_000)]
    lines += [bad_inputs.PARAMETERS_LINE, 'Lora hashes: "a: 1, b: 2", Steps: 3', 'k: "un\\"closed, j: 2',
              'ab: "x" y, cd: ""', '  x:1,yy: 2 ,zz :3', 'a b-c/d: e']
    for line in lines:
        assert metadata._pairs(line) == reference.findall(line), line


@pytest.mark.parametrize("make", [bad_inputs.slow_parameters, bad_inputs.many_commas_parameters,
                                  bad_inputs.open_quotes_parameters])
def test_a_megabyte_of_crafted_parameters_parses_at_once(make):
    # The old regex needed hours for a megabyte (43 s for 30 KB); linear parsing takes about a second here. The
    # timeout is generous on purpose: it tells "linear" from "quadratic", it does not measure speed.
    code = textwrap.dedent(f"""
        from studio.core.metadata import parse_parameters
        from tests.bad_inputs import {make.__name__}
        fields = parse_parameters({make.__name__}(1_000_000))
        print(len(fields["Prompt"]) < 2_000_000)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_at_most_max_fields_pairs_are_kept():
    line = ", ".join(f"Key{i}: {i}" for i in range(1000))
    fields = parse_parameters("a cat\n" + line)
    assert len(fields) == metadata.MAX_FIELDS + 2  # plus Prompt and Negative prompt
    assert fields["Prompt"] == "a cat"


# ----------------------------------------------------------------------------------------- bounded reads
def test_a_chunk_over_the_limit_is_refused_with_a_logged_reason(tmp_path, caplog):
    path = png_with_text(tmp_path / "huge.png", {"parameters": bad_inputs.slow_parameters(1_000_000)})
    with caplog.at_level(logging.WARNING, logger="studio.core.metadata"):
        assert read_recipe(path) is None
    assert "'parameters' metadata is 1000006 characters long" in caplog.text


def test_a_huge_parameters_chunk_does_not_hide_our_recipe(tmp_path):
    path = png_with_text(tmp_path / "both.png", {"latent-studio": bad_inputs.recipe_json(),
                                                  "parameters": "x" * (metadata.MAX_CHUNK_CHARS + 1)})
    assert read_recipe(path) == GOOD


def test_fields_have_their_own_limits(tmp_path):
    from studio.core.recipe import MAX_PROMPT_CHARS

    for length, kept in ((MAX_PROMPT_CHARS, True), (metadata.MAX_CHUNK_CHARS - 200, False)):
        text = "a" * length + "\n" + bad_inputs.PARAMETERS_LINE
        checked = read_checked_recipe(png_with_text(tmp_path / "big.png", {"parameters": text}))
        assert (checked.recipe.steps, checked.recipe.seed) == (20, 5)
        assert len(checked.recipe.prompt) == (length if kept else 0)
        assert checked.skipped == (() if kept else ("prompt",))


# --------------------------------------------------------------------------------- recipes, field by field
@pytest.mark.parametrize("case", list(bad_inputs.WRONG_VALUES))
def test_a_wrong_value_is_skipped_and_named_and_the_rest_is_kept(case, tmp_path):
    field, value = bad_inputs.WRONG_VALUES[case]
    path = png_with_text(tmp_path / "crafted.png", {"latent-studio": bad_inputs.recipe_json_with(field, value)})
    checked = read_checked_recipe(path)
    assert checked.skipped == (field,)
    default = check_recipe({}).recipe
    assert getattr(checked.recipe, field) == getattr(default, field)
    others = {k: v for k, v in GOOD.to_dict().items() if k != field}
    assert {k: v for k, v in checked.recipe.to_dict().items() if k != field} == others


def test_json_nested_too_deep_falls_back_to_the_parameters_text(tmp_path):
    path = png_with_text(tmp_path / "deep.png", {"latent-studio": bad_inputs.deeply_nested_json(),
                                                  "parameters": "a fox\n" + bad_inputs.PARAMETERS_LINE})
    recipe = read_recipe(path)
    assert (recipe.prompt, recipe.steps, recipe.seed) == ("a fox", 20, 5)


def test_unusable_parameters_values_are_named_too():
    checked = metadata.check_parameters("cat\nSteps: many, Sampler: Euler, CFG scale: 1e999, Seed: ?, Size: big")
    assert set(checked.skipped) == {"steps", "cfg_scale", "seed", "width", "height"}
    assert (checked.recipe.steps, checked.recipe.cfg_scale, checked.recipe.seed) == (25, 7.0, -1)
    assert checked.recipe.sampler == "Euler"


def test_a_lone_surrogate_in_quoted_parameters_is_skipped():
    checked = metadata.check_parameters('cat\nSteps: 20, Sampler: Euler, Model: "m\\ud800", Seed: 1')
    assert checked.skipped == ("model",) and checked.recipe.model == ""
    assert is_valid_text(format_and_back := metadata.format_parameters(checked.recipe)) and format_and_back


def test_from_dict_never_raises_on_wrong_types():
    recipe = Recipe.from_dict({**GOOD.to_dict(), "steps": "20", "strength": [1], "mask_feather": 1.5})
    assert (recipe.steps, recipe.strength, recipe.mask_feather) == (25, None, None)


# ------------------------------------------------------------------------------------------------- text
def test_printable_escapes_terminal_sequences_and_keeps_lines():
    shown = printable(bad_inputs.TERMINAL_ATTACK + "\ud800")
    assert not any(c in shown for c in "\x1b\x07\x9b\u202e\ud800")
    assert "\\x1b]0;owned\\x07" in shown and "\\u202e" in shown and "\\ud800" in shown
    assert shown.count("\n") == 1 and is_valid_text(shown)
    assert printable("桜\tok\n") == "桜\tok\n"


def test_exif_user_comment_is_what_a1111_reads():
    # piexif.helper.UserComment.dump(text, encoding="unicode"): the 8-byte prefix, then UTF-16 big-endian.
    assert metadata.exif_user_comment("a cat") == b"UNICODE\0" + "a cat".encode("utf-16-be")


def test_recipe_json_chunk_written_by_us_is_unaffected(tmp_path):
    path = png_with_text(tmp_path / "ok.png", {"latent-studio": bad_inputs.recipe_json()})
    assert read_checked_recipe(path).skipped == ()
    assert json.loads(Image.open(path).info["latent-studio"])["steps"] == 25


def test_nested_records_and_lists_are_checked_by_their_declared_types():
    from dataclasses import dataclass

    from studio.core import recipe as recipes

    @dataclass(frozen=True)
    class Pass:
        scale: float
        upscaler: str = "latent"

        def __post_init__(self):
            if self.scale < 1:
                raise ValueError("scale below 1")

    hints = {"first": Pass | None, "passes": tuple[Pass, ...]}
    check = recipes._checked
    assert check("first", hints["first"], {"scale": 2, "upscaler": "lanczos"}) == Pass(2.0, "lanczos")
    assert check("first", hints["first"], None) is None
    for bad in ({"scale": "x"}, {"upscaler": "lanczos"}, {"scale": 0.5}, [2], {"scale": 2, "upscaler": 7}):
        assert check("first", hints["first"], bad) is recipes._UNUSABLE
    assert check("passes", hints["passes"], [{"scale": 2}, {"scale": 3}]) == (Pass(2.0), Pass(3.0))
    assert check("passes", hints["passes"], [{"scale": 2}, {"scale": "x"}]) is recipes._UNUSABLE
    assert check("passes", hints["passes"], [{"scale": 2}] * (recipes.MAX_ITEMS + 1)) is recipes._UNUSABLE
