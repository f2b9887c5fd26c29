"""The only home of the rules for showing untrusted text and hiding the API key."""

from __future__ import annotations

# Removed by str.translate (no regex to compile at start-up): C0 controls (tab and newline
# included), DEL and C1 controls (ESC starts every terminal escape), and the Unicode bidi
# overrides and isolates, which can disguise text on a terminal.
CONTROL_CHARS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)])
_DROP = {**CONTROL_CHARS, **dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F])}
DEFAULT_MAX = 200


def clean(value: object, max_len: int = DEFAULT_MAX) -> str:
    """Server text made safe to print: controls removed, length capped.

    rich markup is escaped separately, where rich is used (render.py).
    """
    text = value if isinstance(value, str) else str(value)
    text = text.translate(_DROP)
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text


def has_control(text: str) -> bool:
    return text.translate(CONTROL_CHARS) != text


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
