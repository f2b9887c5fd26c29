"""Downloads of a task's files: streamed, checked, resumable, and kept inside their folder.

Rules (lifecycle contract, `download`; checklist rows N3-N6):

- File URLs are pre-signed: they are fetched with a session of their own that never sends an
  Authorization header (not the API key, not ~/.netrc credentials), only over ``https`` (or
  ``http`` to a loopback host), and redirects are followed only to ``https`` URLs.
- A file is saved as ``DIR/TASK_ID/NAME``. NAME is the file's ``fileName`` (else the URL's last
  path segment) made safe: no path separators, no ``..`` or leading dots, no control
  characters, no drive letters or reserved device names, at most 200 bytes. Symlinks at the
  task folder or at a target are never followed: such a file fails instead.
- Each file is streamed in chunks to ``NAME.part`` (locked, so two downloads of one task into
  one folder never write the same file at once), checked against ``Content-Length`` and the
  API's ``fileSize``, synced, and renamed when complete. A ``.part`` left by an interrupted
  download is resumed with ``Range`` when the server allows it. A failed file never leaves a
  file under its final name.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

from browseract_cli.errors import LocalIOError
from browseract_cli.models import FileEntry
from browseract_cli.sanitize import clean
from browseract_cli.settings import is_loopback_host

CHUNK = 1024 * 1024
# Every WRITEBACK bytes, the kernel is asked to start writing the last stretch to disk (Linux
# posix_fadvise DONTNEED starts write-back without waiting for it), so the fsync before the
# rename waits for a few MiB, not the whole file: on a 256 MiB file that fsync took as long as
# the transfer itself. It also keeps a big download from filling the page cache.
WRITEBACK = 16 * 1024 * 1024
MAX_NAME_BYTES = 200
MAX_REDIRECTS = 5
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_UNSAFE = dict.fromkeys(map(ord, '/\\:*?"<>|'), "_")
# Controls, format characters (bidi overrides, zero-width), lone surrogates (not encodable: a
# JSON "\ud800" would crash the file system call) and line/paragraph separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class FileResult(NamedTuple):
    name: str
    path: Path | None
    bytes: int | None
    result: str  # "downloaded", "skipped" or "failed"
    error: str | None = None


class Limits(NamedTuple):
    connect_s: float = 10.0
    read_s: float = 30.0  # silence on the connection this long: the file failed
    stall_s: float = 60.0  # less than min_bytes in this long (a drip): the file failed
    min_bytes: int = 16 * 1024


# --------------------------------------------------------------------------- names


def safe_name(name: str | None, url: str | None = None) -> str:
    """A file name that stays inside its folder on every system (see the module docstring)."""
    if not name and url:
        try:
            name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        except ValueError:
            name = None
    text = "".join(ch for ch in name or "" if unicodedata.category(ch) not in _INVISIBLE)
    text = clean(text, len(text) + 1)  # a server echoing the key as a name: "(key redacted)"
    text = unicodedata.normalize("NFC", text).translate(_UNSAFE)
    stripped = None
    while stripped != text:  # no leading dots (hidden files, "..") nor trailing dots or spaces
        stripped, text = text, text.strip().strip(".")
    if not text:
        text = "file"
    if text.split(".", 1)[0].rstrip().upper() in _RESERVED:  # Windows: "aux.tar.gz", "CON .txt" too
        text = "_" + text
    return _shorten(text)


def _shorten(text: str) -> str:
    if len(text.encode("utf-8")) <= MAX_NAME_BYTES:
        return text
    stem, dot, ext = text.rpartition(".")
    ext = f".{ext}" if dot and 0 < len(ext) <= 16 else ""
    base = stem if ext else text
    while len((base + ext).encode("utf-8")) > MAX_NAME_BYTES:
        base = base[:-1]
    return base + ext


def plan(files: list[FileEntry]) -> list[tuple[FileEntry, str]]:
    """Each file with its safe, unique name (a collision gets " (2)", " (3)"...)."""
    used: set[str] = set()
    planned = []
    for entry in files:
        name = safe_name(entry.name, entry.url)
        candidate, n = name, 2
        while _taken(candidate.lower(), used):
            candidate = _numbered(name, n)
            n += 1
        used.add(candidate.lower())
        planned.append((entry, candidate))
    return planned


def _taken(name: str, used: set[str]) -> bool:
    """Whether ``name`` (lower case) is used, or is the ``.part`` of one used, or the reverse:
    "r.csv" and "r.csv.part" in one task would share a temporary file with a finished one."""
    return name in used or f"{name}.part" in used or (name.endswith(".part") and name[:-5] in used)


def _numbered(name: str, n: int) -> str:
    """``name`` with " (n)" before its extension, the stem cut so that the number always fits."""
    stem, dot, ext = name.rpartition(".")
    ext = f".{ext}" if dot and stem and len(ext) <= 16 else ""
    stem = stem if ext else name
    tail = f" ({n}){ext}"
    while stem and len((stem + tail).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + tail


def task_folder(root: Path, task_id: str) -> Path:
    """DIR/TASK_ID, created if needed; LocalIOError (74) if it cannot be, FileRefused if unsafe."""
    folder = root / safe_name(task_id)
    try:
        root.mkdir(parents=True, exist_ok=True)  # FileExistsError: DIR is a file
        try:
            folder.mkdir()
        except FileExistsError:
            pass  # a folder, or what the check below refuses
        info = os.lstat(folder)
    except OSError as exc:
        raise LocalIOError(f"cannot create the folder {clean(str(folder), 300)}: "
                           f"{exc.strerror or type(exc).__name__}") from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise FileRefused(f"{clean(str(folder), 300)} is a symlink or not a folder: not followed")
    return folder


class FileRefused(Exception):
    """A file (or a whole task's files) refused for safety: it counts as failed (20)."""


# --------------------------------------------------------------------------- URLs


def check_url(url: str, *, redirected: bool = False) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise FileRefused("the file URL is malformed") from None
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and is_loopback_host(host) and not redirected:
        return url
    if redirected:
        raise FileRefused("the file URL redirects to a URL that is not https: not followed")
    raise FileRefused(f"the file URL is not https ({clean(parts.scheme or 'no scheme', 20)}): refused")


# --------------------------------------------------------------------------- the session


_CLASSES: dict[str, Any] = {}


def file_session(pool_size: int = 8) -> Any:
    """A requests session for pre-signed URLs: proxies from the environment, never any auth."""
    import requests
    from requests.auth import AuthBase

    from browseract_cli.transport import adapter_class

    if "noauth" not in _CLASSES:
        class NoAuth(AuthBase):
            """Given as auth=, it also stops requests from adding ~/.netrc credentials."""

            def __call__(self, r: Any) -> Any:
                r.headers.pop("Authorization", None)
                return r

        class NoRedirects(requests.Session):
            def get_redirect_target(self, resp: Any) -> None:
                return None  # redirects are followed by hand, only to https

        _CLASSES.update(noauth=NoAuth, session=NoRedirects)
    session = _CLASSES["session"]()
    # The API's adapter: its connections hand their socket to the deadline watchdog (_open).
    adapter = adapter_class()(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    from browseract_cli import __version__

    session.headers.update({"User-Agent": f"browseract/{__version__}", "Accept-Encoding": "identity"})
    session.auth = _CLASSES["noauth"]()
    return session


def _open(session: Any, url: str, headers: dict[str, str], limits: Limits) -> Any:
    """GET with redirects followed by hand, each to an https URL, never with credentials."""
    check_url(url)
    for _ in range(MAX_REDIRECTS + 1):
        proxies = {"http": None, "https": None, "all": None} if is_loopback_host(urlsplit(url).hostname or "") else None
        resp = _get_head(session, url, headers, limits, proxies)
        if resp.status_code not in (301, 302, 303, 307, 308):
            return resp
        location = resp.headers.get("Location", "")
        resp.close()
        url = check_url(urljoin(url, location), redirected=True)
    raise FileRefused("too many redirects")


def _get_head(session: Any, url: str, headers: dict[str, str], limits: Limits, proxies: Any) -> Any:
    """The response head within ``limits.stall_s`` as a whole: per-recv timeouts never stop a
    server that drips its status line and headers (the API client's watchdog cuts it)."""
    from browseract_cli.transport import CURRENT, WATCHDOG

    watch = WATCHDOG.watch(limits.stall_s)
    CURRENT.watch = watch
    try:
        resp = session.get(url, headers=headers, stream=True, allow_redirects=False,
                           timeout=(limits.connect_s, limits.read_s), proxies=proxies)
    except Exception:
        if watch.fired:
            raise FileRefused(f"no answer within {limits.stall_s:g}s: given up") from None
        raise
    finally:
        CURRENT.watch = None
        watch.cancel()
    if watch.fired:  # the cut can look like a short answer
        resp.close()
        raise FileRefused(f"no answer within {limits.stall_s:g}s: given up")
    return resp


# --------------------------------------------------------------------------- one file


class Transfer:
    """Downloads the files of tasks; one instance per command run (it owns the file session)."""

    def __init__(self, *, overwrite: bool = False, limits: Limits = Limits(),
                 clock: Callable[[], float] = time.monotonic, pool_size: int = 8,
                 progress: Callable[[str, int, int | None], None] | None = None,
                 progress_end: Callable[[], None] | None = None) -> None:
        self.overwrite = overwrite
        self.limits = limits
        self.clock = clock
        self.progress = progress  # (name, bytes so far, total or None)
        self.progress_end = progress_end  # once a file is over, however it ended
        self._pool_size = pool_size
        self.workers = pool_size  # files fetched at once (the command's pool)
        self._session: Any = None
        self._session_lock = threading.Lock()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def fetch(self, entry: FileEntry, folder: Path, name: str) -> FileResult:
        """One file into ``folder/name``; never raises except LocalIOError (74)."""
        try:
            return self._fetch(entry, folder, name)
        finally:
            if self.progress_end is not None:
                self.progress_end()

    def _fetch(self, entry: FileEntry, folder: Path, name: str) -> FileResult:
        target = folder / name
        if not entry.url:
            why = entry.error or (f"not ready (status {entry.status})" if entry.status else "no download URL yet")
            return FileResult(name, None, None, "failed", clean(why, 300))
        try:
            done = self._existing(target, entry.size)
            if done is not None:
                return FileResult(name, target, done, "skipped")
            size, fetched = self._download(entry, target)
            return FileResult(name, target, size, "downloaded" if fetched else "skipped")
        except FileRefused as refused:
            return FileResult(name, None, None, "failed", str(refused))

    def _existing(self, target: Path, size: int | None) -> int | None:
        """The size of an existing, complete file to skip; FileRefused for something else there."""
        try:
            info = os.lstat(target)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LocalIOError(f"cannot look at {clean(str(target), 300)}: {exc.strerror}") from None
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{clean(str(target), 300)} exists and is not a regular file: not replaced")
        if self.overwrite:
            return None
        if size is None or info.st_size == size:
            return info.st_size
        raise FileRefused(f"{clean(str(target), 300)} exists with another size ({info.st_size} bytes, "
                          f"expected {size}); --overwrite replaces it")

    def _download(self, entry: FileEntry, target: Path) -> tuple[int, bool]:
        """(size, True) once fetched; (size, False) when another download finished it first."""
        part = target.with_name(target.name + ".part")
        fd = _open_part(part)
        try:
            done = self._existing(target, entry.size) if not self.overwrite else None
            if done is not None:  # another download finished it while this one waited: the
                _remove(part)  # .part this one holds (just created) is of no use
                return done, False
            size = self._stream(entry, fd, target.name)
            os.fsync(fd)
            os.replace(part, target)
            return size, True
        except OSError as exc:  # fsync, rename, truncate: some file systems say "full" only here
            _remove(part)
            raise _local(exc, target) from None
        # A failed file leaves nothing behind; after Ctrl-C or SIGTERM (not Exceptions) the
        # .part stays, and the next run resumes it with Range.
        except Exception:
            _remove(part)
            raise
        finally:
            os.close(fd)

    def _stream(self, entry: FileEntry, fd: int, name: str) -> int:
        import requests

        with self._session_lock:  # one session, shared by the files fetched at once
            if self._session is None:
                self._session = file_session(self._pool_size)
        offset = os.fstat(fd).st_size
        resume = bool(entry.size and 0 < offset < entry.size)
        headers = {"Range": f"bytes={offset}-"} if resume else {}
        try:
            resp = _open(self._session, entry.url or "", headers, self.limits)
        except requests.RequestException as exc:
            raise FileRefused(f"cannot download: {_transport_text(exc)}") from None
        with resp:
            start = _start_offset(resp, offset if resume else 0, entry.size)
            os.lseek(fd, start, os.SEEK_SET)
            os.ftruncate(fd, start)
            expected = _expected_total(resp, start, entry.size)
            try:
                total = self._copy(resp, fd, start, expected, name)
            except requests.RequestException as exc:
                raise FileRefused(f"the download broke off: {_transport_text(exc)}") from None
        if expected is not None and total != expected:
            raise FileRefused(f"got {total} bytes, expected {expected}")
        return total

    def _copy(self, resp: Any, fd: int, total: int, expected: int | None, name: str) -> int:
        window_start, window_bytes = self.clock(), 0
        flushed = total
        while True:
            try:
                # read1: whatever has arrived (read() would wait for a whole chunk, so a drip
                # of a byte a second would never reach the stall check below).
                chunk = resp.raw.read1(CHUNK if expected is None else max(1, min(CHUNK, expected + 1 - total)),
                                       decode_content=False)
            except Exception as exc:  # urllib3 errors: a reset, a read timeout, a short body
                raise FileRefused(f"the download broke off: {_transport_text(exc)}") from None
            if not chunk:
                return total
            _write_all(fd, chunk)
            total += len(chunk)
            if total - flushed >= WRITEBACK:
                _start_writeback(fd, flushed, total - flushed)
                flushed = total
            if expected is not None and total > expected:
                raise FileRefused(f"the server sent more than the expected {expected} bytes")
            window_bytes += len(chunk)
            now = self.clock()
            if now - window_start >= self.limits.stall_s:
                if window_bytes < self.limits.min_bytes:
                    raise FileRefused(f"the server sent only {window_bytes} bytes in "
                                      f"{self.limits.stall_s:g}s: too slow, given up")
                window_start, window_bytes = now, 0
            if self.progress is not None:
                self.progress(name, total, expected)


def _start_offset(resp: Any, offset: int, size: int | None) -> int:
    """Where the body starts: ``offset`` for a matching 206, 0 for a 200; FileRefused otherwise."""
    if resp.status_code == 206 and offset:
        wanted = f"bytes {offset}-"
        if resp.headers.get("Content-Range", "").startswith(wanted):
            return offset
        raise FileRefused("the server resumed at another offset than asked")
    if resp.status_code == 200:
        return 0
    if resp.status_code in (401, 403):
        raise FileRefused(f"HTTP {resp.status_code}: the file's link has expired or was refused")
    raise FileRefused(f"HTTP {resp.status_code}")


def _expected_total(resp: Any, start: int, size: int | None) -> int | None:
    length = resp.headers.get("Content-Length", "")
    from_header = start + int(length) if length.isascii() and length.isdigit() else None
    if size is not None and from_header is not None and size != from_header:
        raise FileRefused(f"the server says {from_header} bytes, the API said {size}")
    return size if size is not None else from_header


def _open_part(part: Path) -> int:
    """The locked ``.part`` file (waiting for another download holding it)."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    while True:
        try:
            fd = os.open(part, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise FileRefused(f"{clean(str(part), 300)} is a symlink: not followed") from None
            raise _local(exc, part) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device: never written into
            os.close(fd)
            raise FileRefused(f"{clean(str(part), 300)} exists and is not a regular file: not replaced")
        _lock(fd)
        try:  # the lock holder may have renamed this .part into place meanwhile: start again
            if os.fstat(fd).st_ino == os.lstat(part).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: msvcrt locks are advisory per range; keep going unlocked
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except OSError as exc:
            raise _local(exc, None) from None
        view = view[written:]


def _start_writeback(fd: int, offset: int, length: int) -> None:
    advise = getattr(os, "posix_fadvise", None)  # not on macOS or Windows: fsync does it all
    if advise is None:
        return
    try:
        advise(fd, offset, length, os.POSIX_FADV_DONTNEED)
    except OSError:  # a hint only; a file system that refuses it still gets the fsync
        pass


def _local(exc: OSError, path: Path | None) -> LocalIOError:
    what = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or type(exc).__name__)
    where = f" {clean(str(path), 300)}" if path is not None else ""
    return LocalIOError(f"cannot write{where}: {what}")


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _transport_text(exc: BaseException) -> str:
    """A short description of a transport failure that never quotes the URL (it is a secret)."""
    name = type(exc).__name__
    for words, text in (("Timeout", "timed out"), ("SSL", "TLS failed"), ("Connect", "cannot connect"),
                        ("Chunked", "connection broken"), ("Protocol", "connection broken"),
                        ("IncompleteRead", "the body was cut short")):
        if words in name:
            return text
    return name
