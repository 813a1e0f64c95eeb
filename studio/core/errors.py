"""Errors meant for the user: one clear sentence, the details go to the log."""


class StudioError(Exception):
    """A failure the user can understand and act on. ``str(err)`` is the sentence shown to them."""


class GenerationCancelled(Exception):
    """The user cancelled a generation; nothing was produced or written."""
