"""The OpenVINO backend: diffusers' pipelines with their UNet and VAE converted to OpenVINO and cached on disk.

:func:`start` gives the backend (or why there is none); ``backend.running(pipe, cancel, notice)`` is one run.
"""

from studio.engine.openvino_backend.backend import OpenVinoBackend, Unavailable, start

__all__ = ["OpenVinoBackend", "Unavailable", "start"]
