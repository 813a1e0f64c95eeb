"""The session's ModelLibrary: scans off the GUI thread, follows the folders on disk, hashes in the background."""

from __future__ import annotations

import hashlib
import threading

from studio.core import hashing
from studio.core.model_folders import ModelKind, own_folders
from studio.core.paths import models_dir
from studio.session.library import ModelLibrary
from tests.model_files import kohya_lora_shapes, write_safetensors

TIMEOUT = 10_000


def _names(entries):
    return sorted(e.name for e in entries)


def test_scan_runs_off_the_gui_thread_and_follows_changes_on_disk(qtbot, monkeypatch):
    import studio.session.library as module

    lora = write_safetensors(models_dir() / "loras" / "a.safetensors", kohya_lora_shapes(8))
    threads = []
    real_scan = module.scan
    monkeypatch.setattr(module, "scan", lambda found: threads.append(threading.current_thread()) or real_scan(found))
    library = ModelLibrary(own_folders, hash_in_background=False)
    with qtbot.waitSignal(library.entries_changed, timeout=TIMEOUT):
        library.rescan()
    assert threads and threading.main_thread() not in threads
    assert _names(library.entries) == ["a"]
    assert library.find(ModelKind.LORA, "A").path == lora
    assert not library.scanning
    # Files in a new sub-folder and in another kind's folder, one removed: picked up without asking.
    with qtbot.waitSignal(library.entries_changed, timeout=TIMEOUT,
                          check_params_cb=lambda entries: _names(entries) == ["b", "styles/c"]):
        write_safetensors(models_dir() / "loras" / "styles" / "c.safetensors", kohya_lora_shapes(8))
        write_safetensors(models_dir() / "embeddings" / "b.safetensors", {"emb_params": (1, 8)})
        lora.unlink()
    assert [e.kind for e in library.entries] == [ModelKind.LORA, ModelKind.EMBEDDING]
    library.close()


def _announcements(library) -> dict:
    """Every hash ``library`` announces, merged: a loaded machine may split one scan's hashes over batches."""
    announced = {}
    library.hashes_ready.connect(announced.update)
    return announced


def test_hashes_are_computed_in_the_background_and_then_known_from_the_cache(qtbot, monkeypatch):
    lora = write_safetensors(models_dir() / "loras" / "a.safetensors", kohya_lora_shapes(8))
    data = lora.read_bytes()
    addnet = hashlib.sha256(data[8 + int.from_bytes(data[:8], "little"):]).hexdigest()
    emb = write_safetensors(models_dir() / "embeddings" / "e.safetensors", {"emb_params": (1, 8)})
    library = ModelLibrary(own_folders)
    announced = _announcements(library)
    library.rescan()
    qtbot.waitUntil(lambda: {str(lora), str(emb)} <= announced.keys(), timeout=TIMEOUT)
    assert library.hash_of(library.find(ModelKind.LORA, "a")) == announced[str(lora)] == addnet
    assert library.hash_of(library.find(ModelKind.EMBEDDING, "e")) == announced[str(emb)]
    assert announced[str(emb)] == hashlib.sha256(emb.read_bytes()).hexdigest()
    calls = []

    def counting_open(path, *args, **kwargs):  # a new session: the hashes come from the cache, no file is read
        calls.append(path)
        return open(path, *args, **kwargs)

    monkeypatch.setattr(hashing, "open", counting_open, raising=False)
    again = ModelLibrary(own_folders)
    announced_again = _announcements(again)
    again.rescan()
    qtbot.waitUntil(lambda: len(announced_again) == 2, timeout=TIMEOUT)
    assert again.hash_of(again.find(ModelKind.LORA, "a")) == addnet
    assert calls == []
    library.close()
    again.close()


def test_a_stale_scan_result_is_dropped(qtbot):
    write_safetensors(models_dir() / "loras" / "a.safetensors", kohya_lora_shapes(8))
    library = ModelLibrary(own_folders, hash_in_background=False)
    library.rescan()
    library.rescan()  # the first result arrives first and must not be published
    seen = []
    library.entries_changed.connect(seen.append)
    qtbot.waitUntil(lambda: not library.scanning, timeout=TIMEOUT)
    assert len(seen) == 1 and _names(seen[0]) == ["a"]
