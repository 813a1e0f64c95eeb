"""The observable session model the window binds to (QtCore only, no widgets)."""

from studio.session.progress import Progress
from studio.session.results import Result
from studio.session.session import ModelState, Outcome, Session

__all__ = ["ModelState", "Outcome", "Progress", "Result", "Session"]
