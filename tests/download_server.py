"""A local HTTP server on 127.0.0.1 for download tests: files with Range support, Content-Length and a sha256
ETag, Hugging Face-style redirects (``X-Linked-Size`` / ``X-Linked-Etag`` on the 302), and misbehaviour on
request (a connection closed early, a wrong hash, a web page, a status code); whole repositories too, with the
Hub API's file list (``/api/models/REPO/revision/REV``, sizes and LFS sha256s) beside their files."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from contextlib import contextmanager
from collections.abc import Iterator


@dataclass
class Served:
    data: bytes = b""
    status: int = 200
    etag: str | None = "sha256"  # "sha256": the data's sha256; None: no ETag; else this value
    redirect_to: str | None = None  # answer 302 to this path, with Hugging Face's X-Linked-* headers
    linked_sha256: str | None = None  # X-Linked-Etag on the redirect (default: the target's sha256)
    cut_after: int | None = None  # close the connection after this many body bytes
    content_type: str = "application/octet-stream"
    disposition: str | None = None  # a Content-Disposition file name
    ranges: bool = True  # honour Range requests
    hold_after: int | None = None  # send this many body bytes, then wait for ``gate`` before the rest
    gate: threading.Event = field(default_factory=threading.Event)


@dataclass
class Seen:
    path: str
    range: str | None
    authorization: str | None


@dataclass
class DownloadServer:
    files: dict[str, Served] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, data: bytes = b"", **kwargs) -> str:
        self.files[path] = Served(data, **kwargs)
        return self.url(path)

    def serve_repo(self, repo: str, files: dict[str, bytes], *, revision: str = "main",
                   listed_sha256: dict[str, str] | None = None, **kwargs) -> None:
        """Serve ``files`` as the repository ``repo`` at ``revision``: ``.safetensors``/``.bin`` files as LFS files
        (listed with their sha256, or the one in ``listed_sha256``), the others as plain git files (no hash)."""
        siblings = []
        for path, data in files.items():
            sibling = {"rfilename": path, "size": len(data), "blobId": hashlib.sha1(data).hexdigest()}
            if path.endswith((".safetensors", ".bin")):
                sha256 = (listed_sha256 or {}).get(path) or hashlib.sha256(data).hexdigest()
                sibling["lfs"] = {"sha256": sha256, "size": len(data), "pointerSize": 134}
            siblings.append(sibling)
            self.serve(f"/{repo}/resolve/{revision}/{path}", data, etag=None, **kwargs)
        info = {"_id": "0" * 24, "id": repo, "modelId": repo, "sha": "a" * 40, "private": False,
                "siblings": siblings}
        self.serve(f"/api/models/{repo}/revision/{revision}", json.dumps(info).encode(),
                   content_type="application/json", etag=None)

    def ranges_seen(self, path: str) -> list[str | None]:
        return [s.range for s in self.seen if s.path == path]


def _handler(server: DownloadServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.split("?", 1)[0]
            server.seen.append(Seen(path, self.headers.get("Range"), self.headers.get("Authorization")))
            served = server.files.get(path)
            if served is None:
                self.send_error(404)
                return
            if served.redirect_to:
                target = server.files[served.redirect_to]
                self.send_response(302)
                self.send_header("Location", served.redirect_to)
                self.send_header("X-Linked-Size", str(len(target.data)))
                self.send_header("X-Linked-Etag", f'"{served.linked_sha256 or hashlib.sha256(target.data).hexdigest()}"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if served.status != 200:
                self.send_error(served.status)
                return
            data, start = served.data, 0
            match = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
            if match and served.ranges:
                start = int(match[1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("Content-Type", served.content_type)
            if served.etag:
                value = hashlib.sha256(data).hexdigest() if served.etag == "sha256" else served.etag
                self.send_header("ETag", f'"{value}"')
            if served.disposition:
                self.send_header("Content-Disposition", f'attachment; filename="{served.disposition}"')
            self.end_headers()
            body = data[start:]
            if served.cut_after is not None:
                body = body[:served.cut_after]
            try:
                if served.hold_after is not None:
                    self.wfile.write(body[:served.hold_after])
                    self.wfile.flush()
                    served.gate.wait(30)
                    body = body[served.hold_after:]
                self.wfile.write(body)
                self.wfile.flush()
            except OSError:
                pass  # the client went away (a cancel)
            if served.cut_after is not None:
                self.close_connection = True

    return Handler


_TINY_INDEX = {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.0",
               "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
               "tokenizer": ["transformers", "CLIPTokenizer"], "safety_checker": [None, None]}


def tiny_pipeline_files() -> dict[str, bytes]:
    """A small diffusers repository to serve with :meth:`DownloadServer.serve_repo` (not a real model): files a
    pipeline needs and duplicates, variants and other formats it does not."""
    return {
        "model_index.json": json.dumps(_TINY_INDEX).encode(),
        "README.md": b"# tiny",
        "v1-5-pruned.safetensors": os.urandom(5000),  # the single-file copy: left
        "unet/config.json": b'{"sample_size": 8}',
        "unet/diffusion_pytorch_model.safetensors": os.urandom(1_000_000),
        "unet/diffusion_pytorch_model.bin": os.urandom(3000),  # a duplicate in another format: left
        "unet/diffusion_pytorch_model.fp16.safetensors": os.urandom(2000),  # a variant: left
        "unet/diffusion_flax_model.msgpack": os.urandom(1000),  # Flax: left
        "vae/config.json": b'{"latent_channels": 4}',
        "vae/diffusion_pytorch_model.fp16.safetensors": os.urandom(200_000),  # only a variant: taken
        "tokenizer/vocab.json": b'{"a": 0}',
        "tokenizer/merges.txt": b"#version: 0.2\n",
        "text_encoder_onnx/model.onnx": os.urandom(1000),  # not in the model_index: left
    }


TINY_PIPELINE_LAYOUT = {  # where each file of tiny_pipeline_files that a pipeline needs lands in the folder
    "model_index.json": "model_index.json",
    "tokenizer/merges.txt": "tokenizer/merges.txt",
    "tokenizer/vocab.json": "tokenizer/vocab.json",
    "unet/config.json": "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors": "unet/diffusion_pytorch_model.safetensors",
    "vae/config.json": "vae/config.json",
    "vae/diffusion_pytorch_model.fp16.safetensors": "vae/diffusion_pytorch_model.safetensors",
}


@contextmanager
def running_download_server() -> Iterator[DownloadServer]:
    """A :class:`DownloadServer` running on 127.0.0.1 while the ``with`` block runs (the ``download_server``
    fixture)."""
    state = DownloadServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, name="download-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
