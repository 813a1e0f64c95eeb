"""Settings: round trip, damaged files, wrong types, schema versions."""

import json

import pytest

from studio.core import settings as settings_module
from studio.core.settings import (
    MAX_RECENT_MODELS,
    SCHEMA_VERSION,
    Settings,
    load_settings,
    push_recent,
    save_settings,
    settings_path,
)


def test_missing_file_gives_defaults_without_a_notice():
    loaded = load_settings()
    assert loaded.settings == Settings() and loaded.notice is None


def test_round_trip_keeps_every_field():
    original = Settings(prompt="a red fox, snow", negative_prompt="blurry", random_seed=False, seed=4_000_000_000,
                        steps=30, cfg_scale=6.5, width=768, height=512, scheduler="dpmpp_2m_karras", batch_size=4,
                        model="/m/x", recent_models=["/m/x", "/m/y"], window_geometry="AdnQywAD", splitter_sizes=[300, 900])
    path = save_settings(original)
    assert json.loads(path.read_text())["version"] == SCHEMA_VERSION
    assert load_settings().settings == original


def test_damaged_file_falls_back_to_defaults_once_and_is_kept_aside():
    settings_path().write_text('{"prompt": "half a fi', encoding="utf-8")
    loaded = load_settings()
    assert loaded.settings == Settings()
    assert "damaged" in loaded.notice
    kept = list(settings_path().parent.glob("settings.damaged-*.json"))
    assert len(kept) == 1 and kept[0].read_text() == '{"prompt": "half a fi'
    assert load_settings().notice is None  # shown once: the damaged file is no longer in the way


@pytest.mark.parametrize("damage", [b'{"prompt": "caf\xe9"}', b"\xff\xfe{\x00}", b"[" * 100_000],
                         ids=["latin-1 bytes", "utf-16", "nested too deep"])
def test_undecodable_or_unparsable_bytes_count_as_damaged_and_are_kept(damage):
    settings_path().write_bytes(damage)
    loaded = load_settings()
    assert loaded.settings == Settings() and "damaged" in loaded.notice
    (kept,) = settings_path().parent.glob("settings.damaged-*.json")
    assert kept.read_bytes() == damage and not settings_path().exists()


def test_not_an_object_counts_as_damaged():
    settings_path().write_text("[1, 2, 3]", encoding="utf-8")
    assert "damaged" in load_settings().notice


def test_fields_of_the_wrong_type_get_their_defaults_and_the_rest_is_kept():
    settings_path().write_text(json.dumps({
        "version": 1, "prompt": "kept", "steps": "many", "seed": True, "cfg_scale": 5,
        "recent_models": ["/a", 3], "splitter_sizes": [200, 800], "unknown_future_field": 1,
    }))
    loaded = load_settings()
    assert loaded.notice is None
    s = loaded.settings
    assert (s.prompt, s.steps, s.seed, s.cfg_scale) == ("kept", 25, 0, 5.0)
    assert isinstance(s.cfg_scale, float)
    assert s.recent_models == [] and s.splitter_sizes == [200, 800]


@pytest.mark.parametrize("damage", ["NaN", "Infinity", "-Infinity", '"lots"', "true"])
def test_a_damaged_cache_limit_gets_its_default_and_the_rest_is_kept(damage):
    # NaN and Infinity are what Python's json writes for such floats, and reads back.
    settings_path().write_text(f'{{"version": 1, "openvino_cache_gb": {damage}, "cfg_scale": {damage}, "steps": 9}}')
    loaded = load_settings()
    assert loaded.notice is None
    s = loaded.settings
    assert (s.openvino_cache_gb, s.cfg_scale, s.steps) == (Settings().openvino_cache_gb, Settings().cfg_scale, 9)


def test_older_schemas_are_migrated_step_by_step(monkeypatch):
    monkeypatch.setattr(settings_module, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(settings_module, "MIGRATIONS", {
        1: lambda d: {**d, "version": 2, "prompt": d.pop("old_prompt")},
        2: lambda d: {**d, "version": 3, "steps": d["steps"] * 2},
    })
    settings_path().write_text(json.dumps({"version": 1, "old_prompt": "moved", "steps": 10}))
    s = load_settings().settings
    assert (s.prompt, s.steps) == ("moved", 20)


def test_a_newer_schema_is_read_as_far_as_it_is_understood():
    settings_path().write_text(json.dumps({"version": SCHEMA_VERSION + 5, "prompt": "from the future"}))
    loaded = load_settings()
    assert loaded.settings.prompt == "from the future" and loaded.notice is None


def test_recent_models_are_unique_newest_first_and_bounded():
    recent = []
    for i in range(MAX_RECENT_MODELS + 3):
        recent = push_recent(recent, f"/m/{i}")
    recent = push_recent(recent, "/m/5")
    assert recent[0] == "/m/5" and len(recent) == MAX_RECENT_MODELS
    assert recent.count("/m/5") == 1 and recent[1] == f"/m/{MAX_RECENT_MODELS + 2}"
