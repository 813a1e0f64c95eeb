"""Text from outside (files, arguments, metadata) made safe to use: valid Unicode, harmless on a terminal."""

import re

# C0 controls except tab and newline, DEL, C1 controls (0x9b starts a terminal sequence as ESC [ does),
# the bidirectional overrides that make text display in another order than it reads, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def is_valid_text(text: str) -> bool:
    """False for text holding lone surrogates: bytes that were not UTF-8 (Python keeps them as ``\\udcXX``
    in arguments and file names) or a JSON ``"\\ud800"``; no file, tokenizer or terminal takes them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text`` with control characters written as escapes (``\\x1b``), so printing it cannot retitle, clear or
    rewrite a terminal; tabs and newlines stay. Lone surrogates are escaped too, so the result always encodes."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)
