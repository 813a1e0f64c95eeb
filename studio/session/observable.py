"""Observable properties: setting one emits ``<name>_changed(value)`` on its owner, if the value changed."""

from typing import Any


class observable:  # noqa: N801 - used like ``property``
    def __init__(self, default: Any) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.attr = f"_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(obj, self.attr, self.default)

    def __set__(self, obj: Any, value: Any) -> None:
        if self.__get__(obj) == value:
            return
        setattr(obj, self.attr, value)
        getattr(obj, f"{self.name}_changed").emit(value)
