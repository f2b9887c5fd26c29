"""The only home of the rules for showing untrusted text and hiding the API key."""

from __future__ import annotations

import re

# C0 controls (tab and newline included), DEL and C1 controls; ESC starts every terminal escape.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Unicode bidi overrides and isolates can disguise text on a terminal.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
DEFAULT_MAX = 200


def clean(value: object, max_len: int = DEFAULT_MAX) -> str:
    """Server text made safe to print: controls removed, length capped.

    rich markup is escaped separately, where rich is used (render.py).
    """
    text = value if isinstance(value, str) else str(value)
    text = _BIDI.sub("", _CONTROL.sub("", text))
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text


def mask_key(key: str | None) -> str:
    """At most the first and last 4 characters; fully masked when shorter than 12."""
    if not key:
        return "(none)"
    if len(key) < 12:
        return "*" * 8
    return f"{key[:4]}…{key[-4:]}"


def redact(text: str, secret: str | None) -> str:
    """Text with every occurrence of the secret replaced by its mask."""
    if secret and secret in text:
        return text.replace(secret, mask_key(secret))
    return text
