"""The generation queue on disk, so that a restart or a crash loses no job that was waiting.

``<root>/queue/queue.json`` lists the jobs in order: each one's request (its seed already chosen), how it is
fitted to the model, and whether it failed. A job made from the canvas has snapshots of the canvas image and
mask it was queued with, ``job-<id>-source.png`` and ``job-<id>-mask.png`` beside the list, written once when
the job is queued and removed when it leaves the queue; its control and image prompt images are kept in the
control image store (:mod:`studio.core.control_store`) and named by key, as recipes name them. The list is
written atomically after its snapshots, so a crash leaves the previous complete list readable.

Nothing here is ever a reason to delete: a damaged ``queue.json`` is set aside, and a save removes only the
snapshots of jobs that this store listed or wrote itself and that the new list no longer names.
"""

import json
import logging
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from studio.core import control_store
from studio.core.atomic import atomic_create_bytes, atomic_write_text, clean_stale_temps, set_aside
from studio.core.control import ControlInput
from studio.core.errors import StudioError
from studio.core.hires import HiresPass
from studio.core.image_prompt import ImagePrompt
from studio.core.paths import studio_home
from studio.core.request import GenerationRequest

log = logging.getLogger(__name__)

SCHEMA = 1
SNAPSHOT_KINDS = ("source", "mask")
_JOB_ID = re.compile(r"^[0-9a-f]{12}$")
_IMAGES = ("init_image", "mask")  # request fields that travel as snapshots, not in the list


@dataclass(frozen=True)
class StoredJob:
    id: str  # 12 hex digits
    request: GenerationRequest  # without images: those are the snapshots
    snapshots: tuple[str, ...] = ()  # the SNAPSHOT_KINDS this job has files for
    only_masked: bool = False
    padding: int = 32
    failure: str = ""  # the sentence of its last failed run; "" while it waits
    model: str = ""  # the model source it was queued with ("": whichever is loaded, as lists before it had this)


@dataclass(frozen=True)
class LoadedQueue:
    jobs: tuple[StoredJob, ...] = ()
    set_aside: Path | None = None  # where a damaged queue.json was moved
    damaged: bool = False  # queue.json could not be used (set_aside is None if it could not even be moved)


class QueueStore:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder else studio_home() / "queue"
        self._owned: set[str] = set()  # ids of the jobs whose snapshots a save may remove

    def write_snapshot(self, job_id: str, kind: str, png: bytes) -> None:
        """Write a job's snapshot once (never replacing a file); before the save that lists the job."""
        atomic_create_bytes(self.snapshot_path(job_id, kind), png)
        self._owned.add(job_id)

    def disown(self, job_id: str) -> None:
        """The caller could not use this listed job: never remove its files."""
        self._owned.discard(job_id)

    def read_snapshot(self, job_id: str, kind: str) -> bytes | None:
        try:
            return self.snapshot_path(job_id, kind).read_bytes()
        except OSError as exc:
            log.warning("The queued job %s has no readable %s snapshot (%s)", job_id, kind, exc)
            return None

    def snapshot_path(self, job_id: str, kind: str) -> Path:
        if not _JOB_ID.match(job_id) or kind not in SNAPSHOT_KINDS:
            raise ValueError(f"not a queued job's snapshot: {job_id!r} {kind!r}")
        return self.folder / f"job-{job_id}-{kind}.png"

    def save(self, jobs: Sequence[StoredJob]) -> None:
        document = {"schema": SCHEMA, "jobs": [_job_to_json(job) for job in jobs]}
        atomic_write_text(self.folder / "queue.json", json.dumps(document, indent=1))
        listed = {job.id for job in jobs}
        for gone in self._owned - listed:
            for kind in SNAPSHOT_KINDS:
                self.snapshot_path(gone, kind).unlink(missing_ok=True)
        self._owned = listed

    def load(self) -> LoadedQueue:
        """The jobs saved last, in order. Never raises, never deletes."""
        self._owned = set()
        clean_stale_temps(self.folder)
        path = self.folder / "queue.json"
        try:
            document = json.loads(path.read_bytes().decode("utf-8"))
            if not isinstance(document, dict) or not isinstance(document.get("jobs"), list):
                raise ValueError("no list of jobs")
            jobs = tuple(_job_from_json(item) for item in document["jobs"])
            if len({job.id for job in jobs}) != len(jobs):
                raise ValueError("a job id is listed twice")
        except FileNotFoundError:
            return LoadedQueue()
        except (OSError, ValueError, TypeError, RecursionError) as exc:
            kept = set_aside(path)
            log.warning("The saved queue %s is damaged (%s); set aside as %s, snapshots kept", path, exc, kept)
            return LoadedQueue(set_aside=kept, damaged=True)
        self._owned = {job.id for job in jobs}
        return LoadedQueue(jobs)


def _job_to_json(job: StoredJob) -> dict[str, Any]:
    request = {f.name: getattr(job.request, f.name) for f in fields(GenerationRequest) if f.name not in _IMAGES}
    if job.request.hires is not None:
        request["hires"] = {f.name: getattr(job.request.hires, f.name) for f in fields(HiresPass)}
    request["control"] = [_with_image_key(unit) for unit in job.request.control]
    if job.request.image_prompt is not None:
        request["image_prompt"] = _with_image_key(job.request.image_prompt)
    return {"id": job.id, "request": request, "snapshots": list(job.snapshots), "only_masked": job.only_masked,
            "padding": job.padding, "failure": job.failure, "model": job.model}


def _job_from_json(item: Any) -> StoredJob:
    """A job as :func:`_job_to_json` wrote it; ValueError/TypeError for anything else (a crafted or cut file)."""
    job_id = item["id"]
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise ValueError(f"not a job id: {job_id!r}")
    snapshots = tuple(item.get("snapshots") or ())
    if any(kind not in SNAPSHOT_KINDS for kind in snapshots):
        raise ValueError(f"unknown snapshots {snapshots!r}")
    return StoredJob(
        id=job_id,
        request=GenerationRequest(**_checked(GenerationRequest, item["request"], skip=_IMAGES)),
        snapshots=snapshots,
        only_masked=_typed(item.get("only_masked", False), bool),
        padding=_typed(item.get("padding", 32), int),
        failure=_typed(item.get("failure", ""), str),
        model=_typed(item.get("model", ""), str),
    )


def _checked(record: type, data: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """``data``'s fields of ``record``, each of the type the record declares; unknown keys (a newer version's
    additions) are dropped. Values are checked for type only: the request's own validation judges them."""
    if not isinstance(data, dict):
        raise TypeError(f"{record.__name__} is not an object")
    hints = typing.get_type_hints(record)
    values = {name: value for name, value in data.items() if name in hints and name not in skip}
    for name, value in values.items():
        if hints[name] == HiresPass | None:
            values[name] = None if value is None else HiresPass(**_checked(HiresPass, value))
        elif hints[name] == ImagePrompt | None:
            values[name] = None if value is None else _with_image(ImagePrompt, value)
        elif hints[name] == tuple[ControlInput, ...]:
            if not isinstance(value, list):
                raise TypeError("the control layers are not a list")
            values[name] = tuple(_with_image(ControlInput, unit) for unit in value)
        else:
            values[name] = _typed(value, hints[name])
    return values


def _with_image_key(record: ControlInput | ImagePrompt) -> dict[str, Any]:
    """A control layer or image prompt as JSON values, its image stored and named by key."""
    values = {f.name: getattr(record, f.name) for f in fields(record) if f.name != "image"}
    if record.image is not None:
        values["image_key"] = control_store.store(record.image)
    return values


def _with_image(record: type, data: Any) -> Any:
    """A control layer or image prompt as :func:`_with_image_key` wrote it, its image loaded (none when the
    store no longer has it: the request's check then says the image is missing)."""
    values = _checked(record, data, skip=("image",))
    try:
        image = control_store.load(values["image_key"]) if values.get("image_key") else None
    except StudioError:
        log.warning("The image %s of a queued job is not in the control image store", values.get("image_key"))
        image = None
    return record(**values | {"image_key": ""}, image=image)  # a request holds its images, not their keys


def _typed(value: Any, kind: Any) -> Any:
    """``value`` if it is a ``kind`` (an int does for a float, None for ``X | None``), else TypeError."""
    options = typing.get_args(kind) if typing.get_origin(kind) in (typing.Union, types.UnionType) else (kind,)
    for option in options:
        if value is None and option is type(None):
            return None
        if option is float and type(value) in (int, float):
            return float(value)
        if option in (int, str, bool) and type(value) is option:
            return value
    raise TypeError(f"{value!r} is not a {kind}")
