"""Issue 13, findings 13-15, and config_store without POSIX (Windows): the config directory as
other users (and crashed writers) may have left it.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
import tomllib
import types
from pathlib import Path

import pytest

from browseract_cli import config_store as cs
from browseract_cli.errors import ConfigError

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and flock")
root_only = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
KEY = "ba_stored_key_0123456789"


@pytest.fixture
def cfg_dir(isolate_env: Path) -> Path:
    d = isolate_env / "config"
    d.mkdir(mode=0o700)
    return d


@pytest.fixture
def quick_lock(monkeypatch: pytest.MonkeyPatch) -> float:
    """A lock that nobody releases is given up after this long (instead of LOCK_WAIT_S)."""
    monkeypatch.setattr(cs, "LOCK_WAIT_S", 0.3)
    return 0.3


def stored(cfg_dir: Path) -> dict:
    path = cfg_dir / "config.toml"
    return tomllib.loads(path.read_text()) if path.exists() else {}


# --------------------------------------------------------------------------- finding 13


@posix_only
@pytest.mark.parametrize("command", [("config", "set-key"), ("config", "set", "base-url", "https://x.example.com"),
                                     ("config", "unset", "base-url")])
def test_writing_into_a_directory_others_can_write_warns(cli, cfg_dir: Path, command) -> None:
    cli("config", "set", "base-url", "https://y.example.com")  # so that unset has something to write
    os.chmod(cfg_dir, 0o777)  # noqa: S103 - the fault under test
    run = cli(*command, input=KEY + "\n")
    [warning] = [line for line in run.stderr.splitlines() if line.startswith("warning:") and "directory" in line]
    assert str(cfg_dir) in warning and "writable by other users" in warning
    assert f"chmod 700 {cfg_dir}" in warning


@posix_only
@root_only
def test_writing_into_a_directory_of_another_user_warns(cli, cfg_dir: Path) -> None:
    os.chown(cfg_dir, 12345, -1)
    run = cli("config", "set-key", input=KEY + "\n")
    [warning] = [line for line in run.stderr.splitlines() if "owned by another user" in line]
    assert str(cfg_dir) in warning and "uid 12345" in warning and "BROWSERACT_CONFIG_DIR" in warning


def test_writing_into_a_private_directory_says_nothing(cli, cfg_dir: Path, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    run = cli("config", "set-key", input=KEY + "\n")
    assert "warning" not in run.stderr


# --------------------------------------------------------------------------- finding 14


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o666, 0o640], ids=lambda m: f"{m:04o}")
def test_a_lock_file_others_can_use_is_refused(cli, cfg_dir: Path, mode: int) -> None:
    lock = cfg_dir / ".config.lock"
    lock.touch()
    os.chmod(lock, mode)
    run = cli("config", "set-key", expect=78, input=KEY + "\n")
    assert str(lock) in run.stderr and f"{mode:04o}" in run.stderr
    assert stored(cfg_dir) == {}


@posix_only
@root_only
def test_a_lock_file_of_another_user_is_refused(cli, cfg_dir: Path) -> None:
    lock = cfg_dir / ".config.lock"
    lock.touch(mode=0o600)
    os.chown(lock, 12345, -1)
    run = cli("config", "set", "base-url", "https://x.example.com", expect=78)
    assert str(lock) in run.stderr and "another user" in run.stderr
    assert stored(cfg_dir) == {}


def hold_lock(cfg_dir: Path) -> int:
    """Another process's lock: flock locks of two open() calls conflict, even in one process."""
    import fcntl

    fd = os.open(cfg_dir / ".config.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@posix_only
def test_a_lock_held_forever_is_given_up_with_78(cli, cfg_dir: Path, quick_lock: float) -> None:
    fd = hold_lock(cfg_dir)
    try:
        started = time.monotonic()
        run = cli("config", "set-key", expect=78, input=KEY + "\n")
        took = time.monotonic() - started
    finally:
        os.close(fd)
    assert quick_lock <= took < quick_lock + 2
    assert "locked" in run.stderr and str(cfg_dir / ".config.lock") in run.stderr
    assert stored(cfg_dir) == {}


@posix_only
def test_a_lock_released_while_waiting_is_taken(cfg_dir: Path) -> None:
    fd = hold_lock(cfg_dir)
    sleeps: list[float] = []

    def release_on_first_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        os.close(fd)  # the other writer finishes

    with cs._locked(cfg_dir, sleep=release_on_first_sleep) as lock:
        assert lock.held
    assert len(sleeps) == 1


def test_the_default_lock_wait_is_a_few_seconds() -> None:
    assert 1 <= cs.LOCK_WAIT_S <= 10


# --------------------------------------------------------------------------- finding 15


def leftover(cfg_dir: Path, name: str, canary: str) -> Path:
    """What a writer killed between mkstemp and rename leaves behind: the key, in a temp file."""
    path = cfg_dir / name
    path.write_text(f'[profiles.default]\napi_key = "{canary}"\n')
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize("command", [("config", "unset", "api-key"), ("config", "set-key"),
                                     ("config", "set", "base-url", "https://x.example.com")])
def test_a_writer_removes_every_leftover_temp_file_at_once(cli, cfg_dir: Path, canary: str, command) -> None:
    fresh = leftover(cfg_dir, ".config.k1l2m3n4.tmp", canary)  # seconds old, not an hour
    other = cfg_dir / "notes.tmp"
    other.write_text("mine")
    cli(*command, input=KEY + "\n")
    assert not fresh.exists()
    assert other.exists()


@posix_only
@root_only
def test_leftovers_of_another_user_are_left_alone(cfg_dir: Path) -> None:
    theirs = cfg_dir / ".config.zz99yy88.tmp"
    theirs.write_text("x")
    os.chown(theirs, 12345, -1)
    cs.update(cfg_dir / "config.toml", "default", "base_url", "https://x.example.com")
    assert theirs.exists()


def test_save_without_the_lock_still_keeps_fresh_temp_files(cfg_dir: Path) -> None:
    fresh = cfg_dir / ".config.abcd1234.tmp"
    fresh.write_text("x")
    cs.save_atomic(cfg_dir / "config.toml", {})
    assert fresh.exists()  # another writer may be about to rename it


# --------------------------------------------------------------------------- no POSIX (Windows)


class FakeMsvcrt(types.ModuleType):
    """msvcrt.locking as Windows has it: LK_NBLCK fails with EACCES while another handle holds it."""

    LK_UNLCK, LK_NBLCK = 0, 2

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.calls: list[int] = []
        self.held_elsewhere = False

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        assert nbytes == 1 and os.lseek(fd, 0, os.SEEK_CUR) == 0
        self.calls.append(mode)
        if mode == self.LK_NBLCK and self.held_elsewhere:
            raise OSError(errno.EACCES, "Permission denied")


@pytest.fixture
def windows_like(monkeypatch: pytest.MonkeyPatch) -> None:
    """What config_store meets on Windows: no fcntl, no O_NOFOLLOW, no uids, no fchmod."""
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError
    for name in ("O_NOFOLLOW", "geteuid", "fchmod"):
        monkeypatch.delattr(os, name, raising=False)


@pytest.fixture
def msvcrt(monkeypatch: pytest.MonkeyPatch, windows_like: None) -> FakeMsvcrt:
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    return fake


def test_windows_writes_are_locked_with_msvcrt(cfg_dir: Path, msvcrt: FakeMsvcrt) -> None:
    path = cfg_dir / "config.toml"
    cs.update(path, "default", "api_key", KEY)
    cs.update(path, "default", "base_url", "https://x.example.com")
    assert cs.load(path) == {"profiles": {"default": {"api_key": KEY, "base_url": "https://x.example.com"}}}
    assert msvcrt.calls == [msvcrt.LK_NBLCK, msvcrt.LK_UNLCK] * 2
    assert cs.permission_warnings(path) == []


def test_windows_lock_held_elsewhere_is_given_up_with_78(cfg_dir: Path, msvcrt: FakeMsvcrt,
                                                         quick_lock: float) -> None:
    msvcrt.held_elsewhere = True
    with pytest.raises(ConfigError) as info:
        cs.update(cfg_dir / "config.toml", "default", "api_key", KEY)
    assert "locked" in info.value.msg
    assert not (cfg_dir / "config.toml").exists()


def test_without_any_lock_writes_are_still_atomic(cfg_dir: Path, windows_like: None,
                                                  monkeypatch: pytest.MonkeyPatch, canary: str) -> None:
    monkeypatch.setitem(sys.modules, "msvcrt", None)
    fresh = leftover(cfg_dir, ".config.q1w2e3r4.tmp", canary)
    path = cfg_dir / "config.toml"
    cs.update(path, "default", "api_key", KEY)
    assert cs.load(path)["profiles"]["default"]["api_key"] == KEY
    assert fresh.exists()  # no lock: another writer may be about to rename it
    fresh.unlink()
    assert sorted(p.name for p in cfg_dir.iterdir()) == ["config.toml"]  # no lock file either


def test_permission_checks_are_skipped_without_posix_uids(cfg_dir: Path, windows_like: None) -> None:
    path = cfg_dir / "config.toml"
    cs.save_atomic(path, {"profiles": {"default": {"api_key": KEY}}})
    os.chmod(path, 0o644)
    assert cs.permission_warnings(path) == []
    assert stat.S_ISREG(os.stat(path).st_mode)
