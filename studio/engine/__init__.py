"""The generation engine: torch + diffusers, no Qt. ``engine.Engine`` is the one entry point.

diffusers' and transformers' own messages and progress bars go to our log file, not the user's terminal.
"""

import diffusers.utils.logging as _diffusers_logging
import transformers.utils.logging as _transformers_logging

for _lib in (_diffusers_logging, _transformers_logging):
    _lib.disable_default_handler()
    _lib.enable_propagation()
    _lib.disable_progress_bar()
