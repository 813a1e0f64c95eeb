"""First-run PyTorch set-up: detect the GPU, choose the PyTorch build that fits, install it with uv, verify it.

Plain Python (no Qt, and never an ``import torch``): the window and the ``studio setup`` command both drive it,
before any torch exists in the app's environment. Installed torch is inspected through its package metadata
and checked by running it in a subprocess.
"""
