"""The config file: where it lives and how it is read and written (settings.py resolves it).

Rules (contract, "Configuration and credentials"; checklist findings 11 and 14, rows A1-A8, B1-B10,
C6-C7):

- The directory is created 0700 and the file 0600 from its first moment; every write is a
  temporary file in the same directory + fsync + ``os.replace`` + fsync of the directory, under an
  exclusive lock for read-modify-write, so readers never see a partial file and concurrent
  writers never lose an update.
- The lock (``.config.lock``) must be the user's own and 0600, and is given up after
  ``LOCK_WAIT_S`` (exit 78). The writer holding it removes every leftover temporary file.
- Windows: ``msvcrt.locking`` instead of ``flock``; no owner or mode checks (no POSIX modes);
  with neither locking call, writes stay atomic but are not serialised.
- A config path that is a symlink or not a regular file is refused, on read and on write.
- Errors name the path and a position, never the file's content nor exception attributes
  (``TOMLDecodeError.doc`` holds the whole file from Python 3.14).

Only the standard library is imported at module level; ``platformdirs`` and ``tomli_w`` are
imported where needed, so ``browseract config path`` stays fast.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tomllib

from browseract_cli.errors import ConfigError, UsageError
from browseract_cli.sanitize import clean

DEFAULT_BASE_URL = "https://api.browseract.com"
DEFAULT_PROFILE = "default"
SETTINGS = ("api-key", "base-url")  # CLI names; the file keys are api_key and base_url
FILE_KEYS = {
    "api-key": "api_key",
    "base-url": "base_url",
    "api_key": "api_key",
    "base_url": "base_url",
}

ENV_CONFIG_DIR = "BROWSERACT_CONFIG_DIR"
ENV_PROFILE = "BROWSERACT_PROFILE"
ENV_BASE_URL = "BROWSERACT_BASE_URL"
ENV_API_KEY = "BROWSERACT_API_KEY"

CONFIG_FILENAME = "config.toml"
LOCK_FILENAME = ".config.lock"
TMP_PREFIX = ".config."
TMP_SUFFIX = ".tmp"
MAX_CONFIG_BYTES = 64 * 1024
STALE_TMP_SECONDS = 3600  # without the lock, a younger temporary file may be another writer's
LOCK_WAIT_S = 5.0  # then a writer gives up on a lock someone holds (exit 78)
_LOCK_POLL_S = 0.05

SHOW_MAX = 1000  # paths in messages: controls removed, length capped
_BARE_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_FIX_HINT = "fix or delete the file (`browseract config path` shows where it is)"


# --------------------------------------------------------------------------- locations


def config_dir(env: Mapping[str, str] = os.environ) -> Path:
    """``$BROWSERACT_CONFIG_DIR`` if set and non-empty, else the platform's user config dir."""
    override = env.get(ENV_CONFIG_DIR, "")
    if override:
        return Path(override).expanduser()
    if sys.platform.startswith("linux"):
        # platformdirs' own XDG rule (an absolute $XDG_CONFIG_HOME, else ~/.config), written out
        # because importing platformdirs is ~2 ms of every `status` start. A test checks that
        # both agree; anything unusual (relative HOME...) and other systems go to platformdirs.
        xdg, home = env.get("XDG_CONFIG_HOME", ""), env.get("HOME", "")
        if os.path.isabs(xdg):
            return Path(xdg, "browseract")
        if os.path.isabs(home):
            return Path(home, ".config", "browseract")
    import platformdirs  # lazy: start-up time

    return platformdirs.user_config_path("browseract")


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    return config_dir(env) / CONFIG_FILENAME


def show_path(path: Path | str) -> str:
    return clean(str(path), SHOW_MAX)


def _toml_key(name: str) -> str:
    """A profile name as it would appear in a TOML table header, for messages."""
    if name and all(c in _BARE_KEY_CHARS for c in name):
        return name
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return clean(f'"{escaped}"', 120)


def _is_text(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:  # e.g. the surrogate escapes of a non-UTF-8 argv or environment
        return False


def profile_where(path: Path, profile: str) -> str:
    return f"{show_path(path)} [profiles.{_toml_key(profile)}]"


# --------------------------------------------------------------------------- reading


def load(path: Path) -> dict[str, Any]:
    """The whole config document; ``{}`` when the file does not exist.

    Raises ConfigError (exit 78) naming the path, and a position where there is one, for a
    symlink, a non-regular file, an unreadable, oversized, non-UTF-8 or invalid TOML file, or
    values of the wrong type. The message never contains the file's content.
    """
    path = Path(path)
    data = _read_regular(path)
    if data is None:
        return {}
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    bad_utf8_at: int | None = None
    text = ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # position only: exc.object holds the bytes
        bad_utf8_at = exc.start
    if bad_utf8_at is not None:
        line = data.count(b"\n", 0, bad_utf8_at) + 1
        raise ConfigError(
            f"config file {show_path(path)} is not valid UTF-8 (line {line})", hint=_FIX_HINT
        )
    import tomllib  # only when a config file exists: start-up stays cheap

    doc: dict[str, Any] | None = None
    where = ""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = _toml_error_position(exc, text)
    except (RecursionError, ValueError, MemoryError):
        where = ""
    if doc is None:
        # Raised outside the except block: no __context__ carrying the document.
        raise ConfigError(f"config file {show_path(path)} is not valid TOML{where}", hint=_FIX_HINT)
    _check_types(path, doc)
    return doc


def _read_regular(path: Path) -> bytes | None:
    """The bytes of a regular file at ``path`` (never through a symlink), None if missing."""
    shown = show_path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise ConfigError(
            f"config file {shown} cannot exist: a parent is not a directory"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {shown}: {_strerror(exc)}") from None
    _refuse_irregular(path, st.st_mode)  # devices are never even opened
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if _is_symlink_error(exc):
            _refuse_irregular(path, stat.S_IFLNK)
        raise ConfigError(
            f"cannot read config file {shown}: {_strerror(exc)}",
            hint="check the file's owner and permissions (chmod 600)",
        ) from None
    try:
        st = os.fstat(fd)  # the file actually opened: no race with the lstat above
        _refuse_irregular(path, st.st_mode)
        if st.st_size > MAX_CONFIG_BYTES:
            raise _too_big(path)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, 16384)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_CONFIG_BYTES:
                raise _too_big(path)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {shown}: {_strerror(exc)}") from None
    finally:
        os.close(fd)


def _too_big(path: Path) -> ConfigError:
    return ConfigError(
        f"config file {show_path(path)} is larger than {MAX_CONFIG_BYTES // 1024} KiB; "
        "refusing to read it",
        hint=_FIX_HINT,
    )


def _refuse_irregular(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISLNK(mode):
        what = "a symbolic link"
    elif stat.S_ISDIR(mode):
        what = "a directory"
    elif stat.S_ISFIFO(mode):
        what = "a named pipe (FIFO)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        what = "a device"
    elif stat.S_ISSOCK(mode):
        what = "a socket"
    else:
        what = "not a regular file"
    raise ConfigError(
        f"config file {show_path(path)} is {what}; refusing to use it",
        hint="the config file must be a regular file: remove it and run "
        "`browseract config set-key` again, or point BROWSERACT_CONFIG_DIR elsewhere",
    )


def _is_symlink_error(exc: OSError) -> bool:
    return exc.errno in (errno.ELOOP, getattr(errno, "EMLINK", -1), getattr(errno, "EFTYPE", -1))


def _strerror(exc: OSError) -> str:
    """The OS reason only: never ``str(exc)``, which may carry other file names."""
    if exc.errno is not None:
        return os.strerror(exc.errno).lower()
    return type(exc).__name__


def _toml_error_position(exc: tomllib.TOMLDecodeError, text: str) -> str:
    line = getattr(exc, "lineno", None)
    col = getattr(exc, "colno", None)
    if not (isinstance(line, int) and isinstance(col, int)):
        # Python < 3.14: the position is only in the message: "... (at line 3, column 7)".
        msg = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
        tail = msg.rpartition("(at ")[2]
        if tail.startswith("end of document"):
            line = text.count("\n") + 1
            col = len(text) - (text.rfind("\n") + 1) + 1
        else:
            nums = [p.strip(" ,)") for p in tail.replace("line", "").split("column")]
            if len(nums) == 2 and all(n.isdigit() for n in nums):
                line, col = int(nums[0]), int(nums[1])
    if isinstance(line, int) and isinstance(col, int):
        return f" (line {line}, column {col})"
    return ""


def _check_types(path: Path, doc: dict[str, Any]) -> None:
    shown = show_path(path)
    profiles = doc.get("profiles")
    if profiles is None:
        return
    if not isinstance(profiles, dict):
        raise ConfigError(
            f"config file {shown}: `profiles` must be a table ([profiles.NAME])", hint=_FIX_HINT
        )
    for name, table in profiles.items():
        key = f"profiles.{_toml_key(name)}"
        if not isinstance(table, dict):
            raise ConfigError(f"config file {shown}: `{key}` must be a table", hint=_FIX_HINT)
        for file_key in ("api_key", "base_url"):
            if file_key in table and not isinstance(table[file_key], str):
                raise ConfigError(
                    f"config file {shown}: `{key}.{file_key}` must be a string",
                    hint=_FIX_HINT,
                )


def _posix_owners() -> bool:
    """Whether files have POSIX owners and modes worth checking (not on Windows)."""
    return os.name == "posix" and hasattr(os, "geteuid")


def permission_warnings(path: Path) -> list[str]:
    """Warnings about who else can read or change the config; empty when fine or missing."""
    if not _posix_owners():
        return []
    path = Path(path)
    warnings: list[str] = []
    try:
        st = os.lstat(path)
    except OSError:
        return []
    import shlex

    uid = os.geteuid()
    if stat.S_ISREG(st.st_mode):
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            warnings.append(
                f"config file {show_path(path)} is accessible by other users (mode {mode:04o}); "
                f"run: chmod 600 {shlex.quote(show_path(path))}"
            )
        if st.st_uid != uid:
            warnings.append(f"config file {show_path(path)} is owned by another user (uid {st.st_uid})")
    return warnings + directory_warnings(path.parent)


def directory_warnings(directory: Path) -> list[str]:
    """Warnings about a config directory that others can write (they could replace the file,
    or hold its lock); empty when it is private or missing."""
    if not _posix_owners():
        return []
    import shlex

    try:
        dst = os.stat(directory)
    except OSError:
        return []
    warnings = []
    dmode = stat.S_IMODE(dst.st_mode)
    if dmode & 0o022:
        warnings.append(
            f"config directory {show_path(directory)} is writable by other users (mode {dmode:04o}); "
            f"run: chmod 700 {shlex.quote(show_path(directory))}"
        )
    if dst.st_uid not in (os.geteuid(), 0):
        warnings.append(
            f"config directory {show_path(directory)} is owned by another user (uid {dst.st_uid}); "
            "use a directory of your own (set BROWSERACT_CONFIG_DIR)"
        )
    return warnings


# --------------------------------------------------------------------------- writing


def _ensure_dir(directory: Path) -> None:
    """Create ``directory`` (and missing parents) 0700; never loosen an existing one."""
    missing: list[Path] = []
    p = directory
    while True:
        try:
            st = os.stat(p)  # a symlinked directory is acceptable
        except FileNotFoundError:
            missing.append(p)
            if p.parent == p:
                break
            p = p.parent
            continue
        except OSError as exc:
            raise ConfigError(f"cannot use config directory {show_path(p)}: {_strerror(exc)}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise ConfigError(
                f"cannot create config directory {show_path(directory)}: {show_path(p)} is not a directory"
            )
        break
    created_final = False
    for p in reversed(missing):
        try:
            os.mkdir(p, 0o700)  # the umask can only remove bits: never wider than 0700
        except FileExistsError:
            continue  # a concurrent writer made it
        except OSError as exc:
            raise ConfigError(
                f"cannot create config directory {show_path(p)}: {_strerror(exc)}"
            ) from None
        if p == directory:
            created_final = True
    if created_final and os.name == "posix":
        try:
            st = os.lstat(directory)
            if stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) != 0o700:
                os.chmod(directory, 0o700)  # e.g. umask 0o277 left 0500: we could not write
        except OSError as exc:
            raise ConfigError(
                f"cannot set permissions of config directory {show_path(directory)}: {_strerror(exc)}"
            ) from None


def _refuse_existing_irregular(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot write config file {show_path(path)}: {_strerror(exc)}") from None
    _refuse_irregular(path, st.st_mode)


def _clean_stale_temp_files(directory: Path, older_than: float = STALE_TMP_SECONDS) -> None:
    """Best effort: remove our temporary files left by a crash (they may hold the key).

    Without the lock only those older than an hour (a younger one may be another writer's);
    under the lock (``older_than=0``) every one, since no other writer can be between its
    mkstemp and its rename.
    """
    try:
        names = os.listdir(directory)
    except OSError:
        return
    now = time.time()
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    for name in names:
        if not (name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)):
            continue
        candidate = os.path.join(directory, name)
        try:
            st = os.lstat(candidate)
            if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            if now - st.st_mtime >= older_than:
                os.unlink(candidate)
        except OSError:
            continue


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        dfd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the replace itself is atomic
    finally:
        os.close(dfd)


def save_atomic(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` to ``path`` atomically: 0600 from creation, never through a symlink."""
    import tempfile  # lazy: start-up time (only writes need it)

    import tomli_w  # lazy: start-up time

    path = Path(path)
    data = tomli_w.dumps(doc).encode("utf-8")  # before any file exists: nothing to clean up
    directory = path.parent
    _ensure_dir(directory)
    _refuse_existing_irregular(path)
    _clean_stale_temp_files(directory)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=TMP_PREFIX, suffix=TMP_SUFFIX)
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):  # not on Windows, which has no POSIX modes
                os.fchmod(fh.fileno(), 0o600)  # mkstemp gives 0600 or less (umask); make it exact
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _refuse_existing_irregular(path)  # a link planted meanwhile is replaced, never followed
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        reason = _strerror(exc)
        raise ConfigError(
            f"cannot write config file {show_path(path)}: {reason}",
            hint="the previous file, if any, is unchanged",
        ) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    _fsync_dir(directory)


def update(path: Path, profile: str, key: str, value: str | None) -> None:
    """Set (or, with ``value=None``, unset) one key of ``[profiles.<profile>]``.

    ``key`` is a file key (``api_key``, ``base_url``) or its CLI name (``api-key``,
    ``base-url``). The read-modify-write runs under an exclusive lock on ``<dir>/.config.lock``
    so concurrent writers never lose each other's updates. Values are stored as given: callers
    validate them first (``check_api_key`` / ``check_base_url``).
    """
    path = Path(path)
    file_key = FILE_KEYS.get(key)
    if file_key is None:
        raise ValueError(f"unknown setting {key!r}; expected one of {', '.join(SETTINGS)}")
    if not isinstance(profile, str) or not profile:
        raise UsageError("the profile name must not be empty")
    if not _is_text(profile):
        raise UsageError(f"the profile name {_toml_key(profile)} is not valid UTF-8 text",
                         hint="use a profile name made of letters, digits, '-' and '_'")
    if value is not None and not isinstance(value, str):
        raise TypeError("value must be a string or None")
    directory = path.parent
    _ensure_dir(directory)
    with _locked(directory) as lock:
        if lock.held:
            _clean_stale_temp_files(directory, older_than=0)
        doc = load(path)
        profiles = doc.get("profiles")
        if profiles is None:
            profiles = {}
        if value is None:
            table = profiles.get(profile)
            if table is None or file_key not in table:
                return  # nothing to unset: leave the file as it is
            del table[file_key]
            if not table:
                del profiles[profile]
        else:
            profiles.setdefault(profile, {})[file_key] = value
        if profiles:
            doc["profiles"] = profiles
        else:
            doc.pop("profiles", None)
        save_atomic(path, doc)


class _locked:
    """An exclusive lock on ``<dir>/.config.lock`` (created 0600, never through a link).

    ``flock`` on POSIX, ``msvcrt.locking`` on Windows, and no lock where neither exists (the
    replace stays atomic, but two concurrent writers may then lose one update). A lock file
    that another user owns or may open is refused, and a lock that stays held for
    ``LOCK_WAIT_S`` is given up: both exit 78, as in a directory others can write someone could
    otherwise make every write wait forever.
    """

    def __init__(self, directory: Path, wait_s: float | None = None, *,
                 sleep: Any = time.sleep, clock: Any = time.monotonic) -> None:
        self.lock_path = directory / LOCK_FILENAME
        self.wait_s = LOCK_WAIT_S if wait_s is None else wait_s
        self.sleep, self.clock = sleep, clock
        self.fd: int | None = None
        self.backend = _lock_backend()

    @property
    def held(self) -> bool:
        return self.fd is not None

    def __enter__(self) -> _locked:
        if self.backend is None:
            return self
        fd = self._open()
        try:
            self._check(fd)
            self._acquire(fd)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        flags |= getattr(os, "O_BINARY", 0)
        try:
            return os.open(self.lock_path, flags, 0o600)
        except OSError as exc:
            if _is_symlink_error(exc):
                raise ConfigError(
                    f"lock file {show_path(self.lock_path)} is a symbolic link; refusing to use it",
                    hint="remove it; browseract creates it again",
                ) from None
            raise ConfigError(
                f"cannot create lock file {show_path(self.lock_path)}: {_strerror(exc)}"
            ) from None

    def _check(self, fd: int) -> None:
        st = os.fstat(fd)
        shown = show_path(self.lock_path)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"lock file {shown} is not a regular file; refusing to use it")
        if not _posix_owners():
            return
        fix = (f"remove it (browseract creates its own) and make the directory private: "
               f"chmod 700 {show_path(self.lock_path.parent)}")
        if st.st_uid != os.geteuid():
            raise ConfigError(f"lock file {shown} is owned by another user (uid {st.st_uid}); "
                              "refusing to use it", hint=fix)
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise ConfigError(f"lock file {shown} is accessible by other users (mode {mode:04o}, "
                              "must be 0600); refusing to use it", hint=fix)

    def _acquire(self, fd: int) -> None:
        deadline = self.clock() + self.wait_s
        while True:
            try:
                if _try_lock(fd, self.backend):
                    return
            except OSError as exc:
                raise ConfigError(f"cannot lock {show_path(self.lock_path)}: {_strerror(exc)}") from None
            if self.clock() >= deadline:
                raise ConfigError(
                    f"config file {show_path(self.lock_path.parent / CONFIG_FILENAME)} is locked: "
                    f"{show_path(self.lock_path)} has been held by another process for "
                    f"{self.wait_s:g}s",
                    hint="if no other `browseract config` command is running, another user may hold "
                    "the lock: remove the lock file and make the directory private (chmod 700)",
                )
            self.sleep(_LOCK_POLL_S)

    def __exit__(self, *exc_info: object) -> None:
        if self.fd is None:
            return
        if self.backend == "msvcrt":
            import msvcrt

            try:
                os.lseek(self.fd, 0, os.SEEK_SET)
                msvcrt.locking(self.fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
            except OSError:
                pass  # closing the handle releases it too, eventually
        os.close(self.fd)  # closing releases a flock
        self.fd = None


def _lock_backend() -> str | None:
    """"flock" (POSIX), "msvcrt" (Windows) or None: what this platform can lock with."""
    try:
        import fcntl

        if hasattr(fcntl, "flock"):
            return "flock"
    except ImportError:
        pass
    try:
        import msvcrt

        if hasattr(msvcrt, "locking"):
            return "msvcrt"
    except ImportError:
        pass
    return None


def _try_lock(fd: int, backend: str | None) -> bool:
    """One non-blocking attempt; False while someone else holds the lock."""
    if backend == "flock":
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
    import msvcrt

    os.lseek(fd, 0, os.SEEK_SET)  # msvcrt locks bytes from the current position: always byte 0
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        return True
    except OSError as exc:
        if exc.errno in (errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)):
            return False
        raise
