"""A1111's styles.csv: read, apply with the {prompt} placeholder, write atomically, damaged files set aside."""

import pytest

from studio.core.styles import Style, apply_style, load_styles, merge_prompt, save_styles, styles_path, with_style

A1111_FILE = (
    '\ufeffname,prompt,negative_prompt\r\n'
    'Cinematic,"cinematic still of {prompt}, film grain","cartoon, drawing"\r\n'
    'Sharp,"sharp focus, 8k",\r\n'
    '"Quoted, name","a ""quoted"" word",blurry\r\n'
)


def test_reads_the_a1111_file_with_quotes_and_empty_cells():
    styles_path().write_text(A1111_FILE, encoding="utf-8")
    loaded = load_styles()
    assert loaded.notice is None
    assert [(s.name, s.prompt, s.negative_prompt) for s in loaded.styles] == [
        ("Cinematic", "cinematic still of {prompt}, film grain", "cartoon, drawing"),
        ("Sharp", "sharp focus, 8k", ""),
        ("Quoted, name", 'a "quoted" word', "blurry"),
    ]


def test_a_missing_file_is_no_styles():
    assert load_styles().styles == [] and load_styles().notice is None


@pytest.mark.parametrize("style, prompt, expected", [
    ("cinematic still of {prompt}, film grain", "a fox", "cinematic still of a fox, film grain"),
    ("sharp focus", "a fox", "a fox, sharp focus"),
    ("sharp focus", "", "sharp focus"),
    ("", "a fox", "a fox"),
    ("{prompt} {prompt}", "x", "x x"),
])
def test_merge_follows_a1111(style, prompt, expected):
    assert merge_prompt(style, prompt) == expected


def test_apply_style_changes_prompt_and_negative():
    style = Style("Cinematic", "cinematic still of {prompt}", "cartoon")
    assert apply_style(style, "a fox", "blurry") == ("cinematic still of a fox", "blurry, cartoon")


def test_save_round_trips_keeps_other_columns_and_replaces_by_name():
    styles_path().write_text("name,prompt,negative_prompt,description\nOld,p,n,my notes\n", encoding="utf-8")
    styles = with_style(load_styles().styles, Style("Old", "new p", "new n"))
    styles = with_style(styles, Style("Added", 'has "quotes", commas\nand lines', ""))
    save_styles(styles)
    raw = styles_path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfname,prompt,negative_prompt,description\r\n")
    again = load_styles().styles
    assert [(s.name, s.prompt, s.negative_prompt) for s in again] == [
        (s.name, s.prompt, s.negative_prompt) for s in styles]
    assert (again[0].prompt, dict(again[0].extra)) == ("new p", {"description": "my notes"})
    assert [p.name for p in styles_path().parent.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("content", [
    b"\xff\xfe\x00garbage\x00\x00",  # not UTF-8
    b"title,text\nA,b\n",  # no name column
    b'name,prompt,negative_prompt\nA,"unclosed\n',  # broken quoting
    b"name,prompt,negative_prompt\nA,b,c,d,e\n",  # more cells than columns
])
def test_a_damaged_file_is_set_aside_never_deleted(content):
    styles_path().write_bytes(content)
    loaded = load_styles()
    assert loaded.styles == [] and "set aside" in loaded.notice
    kept = [p for p in styles_path().parent.iterdir() if p.name.startswith("styles.damaged-")]
    assert len(kept) == 1 and kept[0].read_bytes() == content and kept[0].name in loaded.notice
    assert not styles_path().exists()
    styles_path().write_bytes(content)  # damaged again within the same second: a second copy, the first kept
    load_styles()
    assert len([p for p in styles_path().parent.iterdir() if p.name.startswith("styles.damaged-")]) == 2
