"""Qt counts text positions in UTF-16 units, Python in code points; they differ after an emoji."""


def qt_position(text: str, index: int) -> int:
    """The Qt position of ``text[index]``."""
    return len(text[:index].encode("utf-16-le")) // 2


def text_index(text: str, position: int) -> int:
    """The index into ``text`` of Qt position ``position``."""
    return len(text.encode("utf-16-le")[: position * 2].decode("utf-16-le", errors="ignore"))
