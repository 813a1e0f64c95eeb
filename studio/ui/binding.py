"""One-way bindings from an observable model property to a widget setter (initial value included)."""

from collections.abc import Callable
from typing import Any


def bind(model: Any, name: str, setter: Callable[[Any], None]) -> None:
    getattr(model, f"{name}_changed").connect(setter)
    setter(getattr(model, name))
