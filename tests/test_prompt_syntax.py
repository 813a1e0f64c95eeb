"""The A1111 prompt parser and chunker, on A1111's own ``parse_prompt_attention`` cases and the edges around them."""

import pytest

from studio.core.prompt_chunks import CHUNK_LENGTH, chunk_prompt
from studio.core.prompt_schedule import is_scheduled, prompt_at_step
from studio.core.prompt_syntax import BREAK, Segment, parse_attention, parse_prompt


def _pairs(text):
    return [(p.text, round(p.weight, 6)) if isinstance(p, Segment) else "BREAK" for p in parse_attention(text)]


@pytest.mark.parametrize(
    "text, expected",
    [  # A1111's doctest cases, as written in modules/prompt_parser.py
        ("normal text", [("normal text", 1.0)]),
        ("an (important) word", [("an ", 1.0), ("important", 1.1), (" word", 1.0)]),
        ("(unbalanced", [("unbalanced", 1.1)]),
        ("\\(literal\\]", [("(literal]", 1.0)]),
        ("(unnecessary)(parens)", [("unnecessaryparens", 1.1)]),
        (
            "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
            [("a ", 1.0), ("house", 1.573), (" ", 1.1), ("on", 1.0), (" a ", 1.1), ("hill", 0.55),
             (", sun, ", 1.1), ("sky", 1.4641), (".", 1.1)],
        ),
        # and the edges around them
        ("((word))", [("word", 1.21)]),
        ("[word]", [("word", 0.909091)]),
        ("[[word]]", [("word", 0.826446)]),
        ("(word:1.0)", [("word", 1.0)]),
        ("(word: 0.25 )", [("word", 0.25)]),
        ("(a (b:2) c:0.5)", [("a ", 0.5), ("b", 1.0), (" c", 0.5)]),
        ("[unbalanced", [("unbalanced", 0.909091)]),
        ("stray) bracket]", [("stray) bracket]", 1.0)]),
        ("no open:1.2)", [("no open:1.2)", 1.0)]),
        ("(bad:1.2.3)", [("bad:1.2.3)", 1.1)]),
        ("\\(x\\) \\\\ y", [("(x) \\ y", 1.0)]),
        ("a (b\\)c:1.5)", [("a ", 1.0), ("b)c", 1.5)]),
        ("", [("", 1.0)]),
        ("a BREAK b", [("a", 1.0), "BREAK", ("b", 1.0)]),
        ("(a BREAK b:1.5)", [("a", 1.5), "BREAK", ("b", 1.5)]),
        ("a BREAKING b break c", [("a BREAKING b break c", 1.0)]),
        ("BREAK", [("", 1.0), "BREAK", ("", 1.0)]),
    ],
)
def test_attention(text, expected):
    assert _pairs(text) == expected


def test_a_prompt_without_syntax_is_plain():
    assert parse_prompt("a red fox, snow").is_plain
    assert parse_prompt("").is_plain
    for text in ("a (red) fox", "(fox:1.0)", "a BREAK b", "a \\(b\\)", "[a|b]", "[a:b:2]", "a AND b", "<lora:x:1>"):
        assert not parse_prompt(text).is_plain, text


@pytest.mark.parametrize(
    "text, step, steps, read_as",
    [
        ("a [cat:dog:0.5] b", 1, 10, "a cat b"),
        ("a [cat:dog:0.5] b", 5, 10, "a cat b"),
        ("a [cat:dog:0.5] b", 6, 10, "a dog b"),
        ("a [cat:dog:3] b", 3, 10, "a cat b"),
        ("a [cat:dog:3] b", 4, 10, "a dog b"),
        ("a [cat:dog:0] b", 1, 10, "a dog b"),
        ("a [cat:dog:1.0] b", 10, 10, "a cat b"),
        ("a [cat::0.3] b", 3, 10, "a cat b"),
        ("a [cat::0.3] b", 4, 10, "a  b"),
        ("a [dog:0.3] b", 1, 10, "a  b"),
        ("a [dog:0.3] b", 4, 10, "a dog b"),
        ("[cat|dog|bird] b", 1, 10, "cat b"),
        ("[cat|dog|bird] b", 2, 10, "dog b"),
        ("[cat|dog|bird] b", 4, 10, "cat b"),
        ("[(cat:1.2)|dog]", 1, None, "(cat:1.2)"),
        ("[[a|b]:c:0.5]", 2, 4, "b"),
        ("[[a|b]:c:0.5]", 3, 4, "c"),
        ("\\[a:b:0.5\\]", 3, 4, "\\[a:b:0.5\\]"),
        ("a [cat:dog:0.5] b", 1, None, "a cat b"),  # what the editor counts: the first step of a long run
    ],
)
def test_prompt_editing_and_alternation_choose_the_text_of_each_step(text, step, steps, read_as):
    assert prompt_at_step(text, step, steps) == read_as
    assert is_scheduled(text) == ("[" in text.replace("\\[", ""))
    assert parse_prompt(text, step, steps).pieces == tuple(parse_attention(read_as))
    assert not parse_prompt(text, step, steps).notices


def test_square_brackets_with_a_colon_that_is_no_schedule_stay_weights():
    assert not is_scheduled("[a:b] [c] [d:e:f]")
    assert prompt_at_step("[a:b] [c]", 2, 4) == "[a:b] [c]"
    assert _pairs("[a:b] [c]") == [("a:b", 0.909091), (" ", 1.0), ("c", 0.909091)]


def test_and_joins_the_parts_with_a_notice():
    parsed = parse_prompt("a cat :1.2 AND a dog AND")
    assert parsed.pieces == (Segment("a cat, a dog"),)
    assert "AND" in parsed.notices[0]
    assert not parse_prompt("cats and dogs, ANDROID").notices


def test_extra_network_tags_are_taken_out_of_the_text():
    parsed = parse_prompt("a <lora:film grain:0.8> fox <hypernet:anime:1>")
    assert [(n.kind, n.name, n.args) for n in parsed.networks] == [
        ("lora", "film grain", ("film grain", "0.8")), ("hypernet", "anime", ("anime", "1"))]
    assert parsed.pieces == (Segment("a  fox "),)
    assert parsed.networks[0].tag == "<lora:film grain:0.8>"


def test_a_very_long_prompt_keeps_every_character_and_chunks_fully():
    text = "(masterpiece:1.2), " + "a very detailed [background], " * 2000
    pieces = parse_attention(text)
    assert "".join(p.text for p in pieces) == text.replace("(", "").replace(")", "").replace(":1.2", "").replace(
        "[", "").replace("]", "")
    assert len(pieces) == 2 + 2 * 2000  # "masterpiece", then (text, "background") pairs, then the last ", "
    chunks = chunk_prompt(parse_prompt(text), _tokenize, COMMA)
    assert sum(len(c.tokens) for c in chunks) == len(_tokenize([text.replace("(", " ").replace(")", " ")])[0])
    assert all(len(c.tokens) <= CHUNK_LENGTH for c in chunks)


# -- chunks ------------------------------------------------------------------------------------------
COMMA = 0


def _tokenize(texts):
    """One token per word; "," is the comma token, word ids from 1."""
    return [[COMMA if word == "," else len(word) for word in text.replace(",", " , ").split()] for text in texts]


def _chunks(text):
    return chunk_prompt(parse_prompt(text), _tokenize, COMMA)


def test_short_prompts_are_one_chunk_and_empty_is_one_empty_chunk():
    assert [c.tokens for c in _chunks("aa bbb")] == [[2, 3]]
    assert [c.tokens for c in _chunks("")] == [[]]


def test_chunks_hold_75_tokens_and_carry_the_weights():
    chunks = _chunks("(a:1.5) " * 80)
    assert [len(c.tokens) for c in chunks] == [CHUNK_LENGTH, 5]
    assert set(chunks[0].weights) == {1.5}


def test_a_full_chunk_breaks_after_the_last_comma_within_20_tokens():
    chunks = _chunks("a " * 60 + ", " + "b " * 30)
    assert [len(c.tokens) for c in chunks] == [61, 30]
    assert chunks[0].tokens[-1] == COMMA and set(chunks[1].tokens) == {1}


def test_a_comma_further_back_than_20_tokens_does_not_move_the_break():
    chunks = _chunks("a " * 40 + ", " + "b " * 60)
    assert [len(c.tokens) for c in chunks] == [75, 26]


def test_break_closes_the_chunk():
    assert [c.tokens for c in _chunks("aa BREAK bbb BREAK")] == [[2], [3]]
    assert [c.tokens for c in _chunks("BREAK aa")] == [[], [2]]
    assert BREAK in parse_prompt("a BREAK b").pieces
