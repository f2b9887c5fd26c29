"""The only home of the rules for showing untrusted text and hiding the API key."""

from __future__ import annotations

from collections.abc import Sequence

# Removed by str.translate (no regex to compile at start-up): C0 controls (tab and newline
# included), DEL and C1 controls (ESC starts every terminal escape), and Unicode's whole
# Bidi_Control set (ALM, LRM, RLM, the embeddings, overrides and isolates), which can disguise
# text on a terminal.
CONTROL_CHARS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)])
BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_DROP = {**CONTROL_CHARS, **dict.fromkeys(BIDI_CONTROLS)}
DEFAULT_MAX = 200

# Any run of this many consecutive characters of a registered secret counts as the secret.
MIN_RUN = 12
KEY_MASK = "(key redacted)"
# secret -> (window width, every substring of that width): the secrets of this process.
_SECRETS: dict[str, tuple[int, frozenset[str]]] = {}


def register_secret(secret: str | None) -> None:
    """From now on, every text that clean() returns has this secret masked (api.py calls it)."""
    if not secret or secret in _SECRETS:
        return
    width = min(MIN_RUN, len(secret))
    windows = frozenset(secret[i:i + width] for i in range(len(secret) - width + 1))
    _SECRETS[secret] = (width, windows)


def forget_secrets() -> None:
    """Stop masking the registered secrets (for embedders and tests that switch keys)."""
    _SECRETS.clear()


def clean(value: object, max_len: int = DEFAULT_MAX) -> str:
    """Server text made safe to print: controls removed, secrets masked, length capped.

    rich markup is escaped separately, where rich is used (render.py).
    """
    text = _drop(value, max_len)
    if _SECRETS:
        text = _mask(text, _secret_spans(text))
    return _cap(text, max_len)


def clean_together(fields: Sequence[tuple[object, int]]) -> list[str | None]:
    """clean() for the fields of one message (e.g. an error's msg and traceId): a secret split
    over two of them (in either order) is masked as well. A field given as None stays None."""
    texts = [None if v is None else _drop(v, limit) for v, limit in fields]
    if _SECRETS:
        spans: list[list[tuple[int, int]]] = [[] if t is None else _secret_spans(t) for t in texts]
        present = [i for i, t in enumerate(texts) if t]
        for a in present:
            for b in present:
                if a != b:
                    _spans_across(texts[a], texts[b], spans[a], spans[b])  # type: ignore[arg-type]
        texts = [None if t is None else _mask(t, s) for t, s in zip(texts, spans, strict=True)]
    return [None if t is None else _cap(t, limit) for t, (_, limit) in zip(texts, fields, strict=True)]


def _drop(value: object, max_len: int) -> str:
    text = value if isinstance(value, str) else str(value)
    text = text.translate(_DROP)
    if not text.isascii():
        text = escape_undecodable(text)
    # Only the start can be shown; a generous margin keeps the scan below cheap on a 1 MiB body
    # (masks are shorter than what they hide, so a little more than max_len may come into view).
    return text[: 4 * max_len + 64] if _SECRETS else text


def _cap(text: str, max_len: int) -> str:
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text


# Invisible characters (Unicode Default_Ignorable_Code_Point, as ranges): they do not break a run
# of the secret, so "ba_te<U+200B>st..." is the secret too.
_IGNORABLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
              (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
              (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
              (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
              (0xE0000, 0xE0FFF))


def _visible(c: str) -> bool:
    cp = ord(c)
    return not any(lo <= cp <= hi for lo, hi in _IGNORABLE)


def _secret_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) ranges of text that are runs of a registered secret."""
    if text.isascii():
        keep = None
        skeleton = text
    else:
        keep = [i for i, c in enumerate(text) if c.isascii() or _visible(c)]
        skeleton = "".join(text[i] for i in keep)
    spans = []
    for width, windows in _SECRETS.values():
        n, i = len(skeleton), 0
        while i + width <= n:
            if skeleton[i:i + width] not in windows:
                i += 1
                continue
            j = i + 1
            while j + width <= n and skeleton[j:j + width] in windows:
                j += 1
            end = j - 1 + width
            spans.append((i, end) if keep is None else (keep[i], keep[end - 1] + 1))
            i = j + 1
    return spans


def _spans_across(first: str, second: str, spans_first: list[tuple[int, int]],
                  spans_second: list[tuple[int, int]]) -> None:
    """Runs of a secret that start at the end of ``first`` and go on at the start of ``second``."""
    boundary = len(first)
    for start, end in _secret_spans(first + second):
        if start < boundary < end:
            spans_first.append((start, boundary))
            spans_second.append((0, end - boundary))


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    out, pos = [], 0
    for start, end in merged:
        out += [text[pos:start], KEY_MASK]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def escape_undecodable(text: str) -> str:
    """Text any UTF-8 stream can take: bytes that were not UTF-8 (the surrogate escapes of
    os.fsdecode and argv) shown as \\xNN, any other lone surrogate as \\uNNNN."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for c in text:
        cp = ord(c)
        if 0xDC80 <= cp <= 0xDCFF:
            out.append(f"\\x{cp - 0xDC00:02x}")
        elif 0xD800 <= cp <= 0xDFFF:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(c)
    return "".join(out)


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


_PLAIN_ID_STOP = frozenset(" \"'\\")


def quote_id(value: str, max_len: int = 120) -> str:
    """An ID for a message: as it is when plain, else quoted the way repr does, so that spaces,
    tabs, escapes and an empty ID are visible (``'a b'``, ``'a\\tb'``, ``''``)."""
    if value and value.isprintable() and not _PLAIN_ID_STOP.intersection(value):
        return clean(value, max_len)
    return clean(repr(value), max_len)
