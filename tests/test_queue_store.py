"""The queue on disk: jobs round-trip with their requests and snapshots, a damaged list is set aside (never
deleted), and a save removes only the snapshots of jobs this store knew and no longer lists."""

import json

import pytest

from studio.core.hires import HiresPass
from studio.core.queue_store import QueueStore, StoredJob
from studio.core.request import GenerationRequest


@pytest.fixture
def store(tmp_path):
    return QueueStore(tmp_path / "queue")


def job(job_id, **request):
    return StoredJob(job_id, GenerationRequest("a lighthouse", seed=7, **request))


def test_jobs_come_back_in_order_with_their_requests_and_snapshots(store):
    text = job("00000000000a", hires=HiresPass(scale=1.5, upscaler="Lanczos"), scheduler="euler", steps=9)
    image = StoredJob("00000000000b", GenerationRequest("from the canvas", seed=3, strength=0.4),
                      ("source", "mask"), only_masked=True, padding=48, failure="Out of memory.",
                      model="/models/castle.safetensors")
    store.write_snapshot(image.id, "source", b"source png")
    store.write_snapshot(image.id, "mask", b"mask png")
    store.save([text, image])
    loaded = QueueStore(store.folder).load()
    assert loaded.jobs == (text, image) and not loaded.damaged
    assert loaded.jobs[0].request.hires == HiresPass(scale=1.5, upscaler="Lanczos")
    assert store.read_snapshot(image.id, "source") == b"source png"


def test_a_save_removes_only_snapshots_of_jobs_it_knew_and_no_longer_lists(store):
    for job_id in ("00000000000a", "00000000000b"):
        store.write_snapshot(job_id, "source", b"png")
    store.save([job("00000000000a"), job("00000000000b")])
    stranger = store.snapshot_path("0000000000ff", "source")  # left by a crash before its job was listed
    stranger.write_bytes(b"png")
    later = QueueStore(store.folder)
    later.load()
    later.save([job("00000000000b")])
    assert not store.snapshot_path("00000000000a", "source").exists()
    assert store.snapshot_path("00000000000b", "source").exists() and stranger.exists()


def test_a_disowned_job_keeps_its_files(store):
    store.write_snapshot("00000000000a", "source", b"png")
    store.save([job("00000000000a")])
    store.load()
    store.disown("00000000000a")
    store.save([])
    assert store.snapshot_path("00000000000a", "source").exists()


@pytest.mark.parametrize("content", [
    b"{not json", b"[]", b'{"jobs": {}}', b'{"jobs": [{"id": "../../etc", "request": {"prompt": "x"}}]}',
    b'{"jobs": [{"id": "00000000000a", "request": {"prompt": "x", "steps": "many"}}]}',
    b'{"jobs": [{"id": "00000000000a", "request": {"prompt": "x"}, "snapshots": ["passwords"]}]}',
    b'{"jobs": [{"id": "00000000000a", "request": {"prompt": "x"}}, {"id": "00000000000a", "request": {"prompt": "x"}}]}',
])
def test_a_damaged_list_is_set_aside_and_the_queue_starts_empty(store, content):
    store.folder.mkdir(parents=True)
    store.write_snapshot("00000000000a", "source", b"png")
    (store.folder / "queue.json").write_bytes(content)
    loaded = store.load()
    assert loaded.damaged and loaded.jobs == ()
    assert loaded.set_aside is not None and loaded.set_aside.read_bytes() == content
    store.save([])
    assert store.snapshot_path("00000000000a", "source").exists()  # nothing it did not list is removed


def test_unknown_fields_from_a_newer_version_are_ignored(store):
    store.save([job("00000000000a")])
    path = store.folder / "queue.json"
    document = json.loads(path.read_text())
    document["jobs"][0]["request"]["controlnets"] = [{"model": "canny"}]
    document["jobs"][0]["priority"] = 3
    path.write_text(json.dumps(document))
    assert store.load().jobs == (job("00000000000a"),)


def test_control_layers_come_back_with_their_images_and_a_missing_image_fails_only_that_job(store):
    from PIL import Image

    from studio.core import control_store
    from studio.core.control import ControlInput
    from studio.core.errors import StudioError

    edges = Image.new("RGB", (16, 16), "white")
    edges.paste((0, 0, 0), (4, 4, 12, 12))
    layer = ControlInput("canny-net", edges, preprocessor="canny", weight=0.6, start=0.1, end=0.9)
    store.save([job("00000000000a", control=(layer,))])
    loaded = QueueStore(store.folder).load()
    (back,) = loaded.jobs[0].request.control
    assert not loaded.damaged and back == layer  # image_key "" again: a request holds the image itself
    assert back.image.tobytes() == edges.tobytes()

    (control_store.store_dir() / f"{control_store.image_key(edges)}.png").unlink()
    loaded = QueueStore(store.folder).load()
    assert not loaded.damaged and loaded.jobs[0].request.control[0].image is None
    with pytest.raises(StudioError, match="Control layer 1 has no control image"):
        loaded.jobs[0].request.validate()
def test_control_layers_and_the_image_prompt_keep_their_images(store):
    from PIL import Image

    from studio.core.control import ControlInput
    from studio.core.image_prompt import ImagePrompt

    picture, drawing = Image.new("RGB", (8, 6), "red"), Image.new("RGBA", (6, 8), (255, 255, 255, 128))
    request = GenerationRequest(prompt="x", seed=1, control=(ControlInput("canny", image=drawing, weight=0.5),),
                                image_prompt=ImagePrompt("ip-adapter_sd15", image=picture, scale=0.6))
    store.save([StoredJob("00000000000a", request)])
    (loaded,) = store.load().jobs
    unit, prompt = loaded.request.control[0], loaded.request.image_prompt
    assert (unit.model, unit.weight, prompt.adapter, prompt.scale) == ("canny", 0.5, "ip-adapter_sd15", 0.6)
    assert loaded.request.control[0].image.tobytes() == drawing.tobytes()
    assert loaded.request.image_prompt.image.tobytes() == picture.tobytes()
