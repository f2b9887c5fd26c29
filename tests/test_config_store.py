"""browseract_cli.config_store: locations, precedence, file safety, validation, integrity.

Checklist rows A1-A4, A7, A8, B1-B10, C6, C7; findings 11 and 14; goal M7.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from browseract_cli import config_store as cs
from browseract_cli import settings as resolution
from browseract_cli.errors import ConfigError, UsageError
from browseract_cli.exit_codes import ExitCode

REPO = Path(__file__).resolve().parents[1]
SECRET = "ba_live_SECRETcanary0123456789abcdef"
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and signals")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("BROWSERACT_API_KEY", "BROWSERACT_BASE_URL", "BROWSERACT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    cfg = tmp_path / "cfg"
    monkeypatch.setenv("BROWSERACT_CONFIG_DIR", str(cfg))
    return cfg


@pytest.fixture
def cfg_path() -> Path:
    return cs.config_path()


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def _write(p: Path, data: bytes | str, mode: int = 0o600) -> None:
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chmod(p, mode)


def _no_secret(err: BaseException) -> None:
    assert isinstance(err, ConfigError)
    for text in (err.msg, err.hint, str(err), repr(err), repr(err.args)):
        assert SECRET not in text
    assert err.exit_code == ExitCode.CONFIG


# --------------------------------------------------------------------------- locations (B9)


def test_config_dir_override_and_default(monkeypatch: pytest.MonkeyPatch, _isolated: Path) -> None:
    assert cs.config_dir() == _isolated
    assert cs.config_path() == _isolated / "config.toml"
    assert cs.config_path({"BROWSERACT_CONFIG_DIR": "/x/y"}) == Path("/x/y/config.toml")
    import platformdirs

    default = platformdirs.user_config_path("browseract")
    assert cs.config_dir({"BROWSERACT_CONFIG_DIR": ""}) == default
    assert cs.config_dir({}) == default


def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, browseract_cli\n"
        "before = set(sys.modules)\n"
        "import browseract_cli.config_store as c\n"
        "c.config_path({'BROWSERACT_CONFIG_DIR': '/tmp/x'})\n"
        "print(sorted({'platformdirs', 'tomli_w'} & (set(sys.modules) - before)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=30,
        check=True,
    )
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- precedence (A1, A2, A8)


def test_defaults_without_file(cfg_path: Path) -> None:
    s = resolution.resolve(profile_flag=None, base_url_flag=None)
    assert s.path == cfg_path
    assert (s.profile.value, s.profile.source) == ("default", "default")
    assert (s.base_url.value, s.base_url.source) == (cs.DEFAULT_BASE_URL, "default")
    assert (s.api_key.value, s.api_key.source) == (None, "unset")
    assert not cfg_path.exists()
    with pytest.raises(ConfigError) as ei:
        s.key_or_raise()
    assert ei.value.msg == "no API key configured"
    assert "BROWSERACT_API_KEY" in ei.value.hint and "config set-key" in ei.value.hint
    assert ei.value.exit_code == ExitCode.CONFIG


def test_precedence_flag_env_file_default(cfg_path: Path) -> None:
    cs.update(cfg_path, "default", "api_key", "file-key-0000000000")
    cs.update(cfg_path, "default", "base-url", "https://file.example")
    env = {"BROWSERACT_CONFIG_DIR": str(cfg_path.parent)}

    s = resolution.resolve(profile_flag=None, base_url_flag=None, env=env)
    assert (s.api_key.value, s.api_key.source) == ("file-key-0000000000", "file")
    assert str(cfg_path) in s.api_key.detail and "[profiles.default]" in s.api_key.detail
    assert (s.base_url.value, s.base_url.source) == ("https://file.example", "file")

    env |= {
        "BROWSERACT_API_KEY": "env-key-1111111111",
        "BROWSERACT_BASE_URL": "https://env.example/",
    }
    s = resolution.resolve(profile_flag=None, base_url_flag=None, env=env)
    assert (s.api_key.value, s.api_key.source, s.api_key.detail) == (
        "env-key-1111111111",
        "env",
        "BROWSERACT_API_KEY",
    )
    assert (s.base_url.value, s.base_url.source) == ("https://env.example", "env")
    assert s.key_or_raise() == "env-key-1111111111"

    s = resolution.resolve(profile_flag=None, base_url_flag="https://flag.example//", env=env)
    assert (s.base_url.value, s.base_url.source, s.base_url.detail) == (
        "https://flag.example",
        "flag",
        "--base-url",
    )


def test_empty_env_counts_as_unset(cfg_path: Path) -> None:
    cs.update(cfg_path, "default", "api_key", "file-key-0000000000")
    cs.update(cfg_path, "work", "api_key", "work-key-0000000000")
    env = {
        "BROWSERACT_CONFIG_DIR": str(cfg_path.parent),
        "BROWSERACT_API_KEY": "",
        "BROWSERACT_BASE_URL": "",
        "BROWSERACT_PROFILE": "",
    }
    s = resolution.resolve(profile_flag=None, base_url_flag=None, env=env)
    assert s.api_key.source == "file" and s.api_key.value == "file-key-0000000000"
    assert s.base_url.source == "default" and s.profile.source == "default"
    env["BROWSERACT_API_KEY"] = "   \n"
    s = resolution.resolve(profile_flag=None, base_url_flag=None, env=env)
    assert s.api_key.source == "file"


def test_env_key_is_stripped(cfg_path: Path) -> None:
    env = {"BROWSERACT_CONFIG_DIR": str(cfg_path.parent), "BROWSERACT_API_KEY": " abc-123456789 \n"}
    s = resolution.resolve(profile_flag=None, base_url_flag=None, env=env)
    assert s.api_key.value == "abc-123456789" and s.key_or_raise() == "abc-123456789"


def test_profiles(cfg_path: Path) -> None:
    cs.update(cfg_path, "default", "api_key", "default-key-000000")
    cs.update(cfg_path, "work", "api_key", "work-key-00000000")
    cs.update(cfg_path, "work", "base_url", "http://127.0.0.1:8765")
    env = {"BROWSERACT_CONFIG_DIR": str(cfg_path.parent), "BROWSERACT_PROFILE": "work"}
    s = resolution.resolve(profile_flag=None, base_url_flag=None, env=env)
    assert (s.profile.value, s.profile.source, s.profile.detail) == (
        "work",
        "env",
        "BROWSERACT_PROFILE",
    )
    assert s.api_key.value == "work-key-00000000"
    assert s.base_url.value == "http://127.0.0.1:8765"
    s = resolution.resolve(profile_flag="default", base_url_flag=None, env=env)
    assert (s.profile.value, s.profile.source) == ("default", "flag")
    assert s.api_key.value == "default-key-000000" and s.base_url.source == "default"
    # A profile that is not in the file: nothing from the file, no error.
    s = resolution.resolve(profile_flag="nope", base_url_flag=None, env=env)
    assert s.api_key.source == "unset" and s.base_url.source == "default"
    with pytest.raises(UsageError):
        resolution.resolve(profile_flag="", base_url_flag=None, env=env)


def test_update_unset_drops_empty_profile(cfg_path: Path) -> None:
    cs.update(cfg_path, "a", "api_key", "k" * 20)
    cs.update(cfg_path, "b", "api_key", "k" * 20)
    cs.update(cfg_path, "a", "api-key", None)
    assert cs.load(cfg_path) == {"profiles": {"b": {"api_key": "k" * 20}}}
    cs.update(cfg_path, "b", "api_key", None)
    assert cs.load(cfg_path) == {}
    cs.update(cfg_path, "zzz", "base_url", None)  # unsetting something absent is fine
    with pytest.raises(ValueError):
        cs.update(cfg_path, "a", "colour", "x")


def test_update_keeps_unknown_keys(cfg_path: Path) -> None:
    _write(cfg_path, 'future = 1\n[profiles.default]\napi_key = "k1234567890123"\nextra = true\n')
    cs.update(cfg_path, "default", "base_url", "https://x.example")
    assert cs.load(cfg_path) == {
        "future": 1,
        "profiles": {
            "default": {"api_key": "k1234567890123", "extra": True, "base_url": "https://x.example"}
        },
    }


@pytest.mark.parametrize(
    "name",
    [
        'my.profile "x"',
        "with space",
        "dots.and.more",
        "ünïcödé",
        "back\\slash",
        "[x]",
        "a=b",
        "'q'",
        "#",
    ],
)
def test_profile_names_round_trip(cfg_path: Path, name: str) -> None:
    cs.update(cfg_path, name, "api_key", "round-trip-key-123")
    cs.update(cfg_path, "default", "api_key", "default-key-000000")
    assert cs.load(cfg_path)["profiles"][name] == {"api_key": "round-trip-key-123"}
    s = resolution.resolve(profile_flag=name, base_url_flag=None)
    assert s.api_key.value == "round-trip-key-123"
    assert s.api_key.source == "file"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30))
def test_profile_names_round_trip_property(cfg_path: Path, name: str) -> None:
    cs.update(cfg_path, name, "base_url", "https://h.example")
    assert cs.load(cfg_path)["profiles"][name]["base_url"] == "https://h.example"
    cs.update(cfg_path, name, "base_url", None)
    assert name not in cs.load(cfg_path).get("profiles", {})


def test_repr_masks_the_key(cfg_path: Path) -> None:
    env = {"BROWSERACT_CONFIG_DIR": str(cfg_path.parent), "BROWSERACT_API_KEY": SECRET}
    s = resolution.resolve(profile_flag=None, base_url_flag=None, env=env)
    assert SECRET not in repr(s) and SECRET not in str(s.api_key)
    assert s.api_key.shown() == SECRET[:4] + "…" + SECRET[-4:]
    assert s.api_key.origin == "env BROWSERACT_API_KEY"


# --------------------------------------------------------------------------- file creation (B4, B5, B8)


@posix_only
@pytest.mark.parametrize("umask", [0o022, 0o000, 0o077])
def test_created_0600_in_0700_dir(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "new" / "nested" / "config.toml"
    old = os.umask(umask)
    try:
        cs.update(path, "default", "api_key", "k" * 20)
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert _mode(path.parent.parent) == 0o700
    assert sorted(os.listdir(path.parent)) == [".config.lock", "config.toml"]
    assert _mode(path.parent / ".config.lock") == 0o600


@posix_only
def test_existing_dir_mode_is_left_alone(tmp_path: Path) -> None:
    d = tmp_path / "shared"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)  # noqa: S103 - a user's own, looser directory
    cs.save_atomic(d / "config.toml", {"a": 1})
    assert _mode(d) == 0o755
    assert _mode(d / "config.toml") == 0o600


@posix_only
def test_rewrite_of_0644_file_is_0600(cfg_path: Path) -> None:
    _write(cfg_path, "", mode=0o644)
    warnings = cs.permission_warnings(cfg_path)
    assert len(warnings) == 1
    assert str(cfg_path) in warnings[0] and f"chmod 600 {cfg_path}" in warnings[0]
    cs.update(cfg_path, "default", "api_key", "k" * 20)
    assert _mode(cfg_path) == 0o600
    assert cs.permission_warnings(cfg_path) == []


@posix_only
def test_permission_warnings(cfg_path: Path) -> None:
    assert cs.permission_warnings(cfg_path) == []  # missing
    cs.save_atomic(cfg_path, {})
    assert cs.permission_warnings(cfg_path) == []
    os.chmod(cfg_path, 0o660)
    assert any("chmod 600" in w for w in cs.permission_warnings(cfg_path))
    os.chmod(cfg_path, 0o600)
    os.chmod(cfg_path.parent, 0o777)  # noqa: S103 - the fault under test (B2)
    try:
        [w] = cs.permission_warnings(cfg_path)
        assert "writable by other users" in w and "chmod 700" in w
    finally:
        os.chmod(cfg_path.parent, 0o700)


@posix_only
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_permission_warning_other_owner(cfg_path: Path) -> None:
    cs.save_atomic(cfg_path, {})
    os.chown(cfg_path, 12345, -1)
    os.chown(cfg_path.parent, 12345, -1)
    warnings = cs.permission_warnings(cfg_path)
    assert any("owned by another user (uid 12345)" in w and "config file" in w for w in warnings)
    assert any("config directory" in w and "uid 12345" in w for w in warnings)


def test_atomic_write_leaves_no_temp_files(cfg_path: Path) -> None:
    for i in range(20):
        cs.save_atomic(cfg_path, {"profiles": {"p": {"api_key": f"key-{i:016d}"}}})
    assert os.listdir(cfg_path.parent) == ["config.toml"]
    assert cs.load(cfg_path)["profiles"]["p"]["api_key"] == f"key-{19:016d}"


def test_write_error_is_one_line_and_keeps_old_file(
    cfg_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    cs.save_atomic(cfg_path, {"v": 1})

    def enospc(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/some/other/file")

    monkeypatch.setattr(cs.os, "fsync", enospc)
    with pytest.raises(ConfigError) as ei:
        cs.save_atomic(cfg_path, {"v": 2, "secret": SECRET})
    monkeypatch.undo()
    err = ei.value
    _no_secret(err)
    assert str(cfg_path) in err.msg and "no space left" in err.msg and "\n" not in err.msg
    assert "/some/other/file" not in err.msg
    assert cs.load(cfg_path) == {"v": 1}
    assert os.listdir(cfg_path.parent) == ["config.toml"]


@posix_only
def test_stale_temp_files_are_cleaned(cfg_path: Path) -> None:
    cs.save_atomic(cfg_path, {})
    stale = cfg_path.parent / ".config.abc123.tmp"
    fresh = cfg_path.parent / ".config.def456.tmp"
    other = cfg_path.parent / "notes.tmp"
    for p in (stale, fresh, other):
        p.write_text("x")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    cs.save_atomic(cfg_path, {"a": 1})
    assert not stale.exists()
    assert fresh.exists() and other.exists()
    assert cs.load(cfg_path) == {"a": 1}


# --------------------------------------------------------------------------- refused paths (B3)


@posix_only
def test_symlinked_config_refused_and_target_untouched(cfg_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("ORIGINAL\n")
    os.chmod(target, 0o644)
    cfg_path.parent.mkdir(mode=0o700)
    cfg_path.symlink_to(target)

    with pytest.raises(ConfigError) as ei:
        cs.load(cfg_path)
    assert str(cfg_path) in ei.value.msg and "symbolic link" in ei.value.msg
    for call in (
        lambda: cs.save_atomic(cfg_path, {"api_key": SECRET}),
        lambda: cs.update(cfg_path, "default", "api_key", SECRET),
        lambda: resolution.resolve(profile_flag=None, base_url_flag=None),
    ):
        with pytest.raises(ConfigError) as ei:
            call()
        _no_secret(ei.value)
        assert str(cfg_path) in ei.value.msg
    assert target.read_text() == "ORIGINAL\n"
    assert _mode(target) == 0o644
    assert cfg_path.is_symlink()
    assert sorted(os.listdir(cfg_path.parent)) == [".config.lock", "config.toml"]


@posix_only
def test_dangling_symlink_refused_and_not_created(cfg_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "does-not-exist"
    cfg_path.parent.mkdir(mode=0o700)
    cfg_path.symlink_to(target)
    with pytest.raises(ConfigError):
        cs.load(cfg_path)
    with pytest.raises(ConfigError):
        cs.save_atomic(cfg_path, {"x": 1})
    assert not target.exists()


def test_symlinked_directory_is_accepted(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    cs.update(link / "config.toml", "default", "api_key", "k" * 20)
    assert cs.load(real / "config.toml") == {"profiles": {"default": {"api_key": "k" * 20}}}


@posix_only
@pytest.mark.timeout(10)
def test_fifo_refused_without_hanging(cfg_path: Path) -> None:
    cfg_path.parent.mkdir(mode=0o700)
    os.mkfifo(cfg_path, 0o600)
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as ei:
        cs.load(cfg_path)
    assert "FIFO" in ei.value.msg and str(cfg_path) in ei.value.msg
    with pytest.raises(ConfigError):
        cs.save_atomic(cfg_path, {})
    with pytest.raises(ConfigError):
        resolution.resolve(profile_flag=None, base_url_flag=None)
    assert time.monotonic() - t0 < 2
    assert stat.S_ISFIFO(os.lstat(cfg_path).st_mode)


def test_directory_and_device_refused(cfg_path: Path) -> None:
    cfg_path.mkdir(parents=True)
    with pytest.raises(ConfigError) as ei:
        cs.load(cfg_path)
    assert "directory" in ei.value.msg
    with pytest.raises(ConfigError):
        cs.save_atomic(cfg_path, {})
    if os.path.exists("/dev/null"):
        with pytest.raises(ConfigError) as ei:
            cs.load(Path("/dev/null"))
        assert "device" in ei.value.msg


def test_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError):
        cs.load(tmp_path / "file" / "config.toml")
    with pytest.raises(ConfigError):
        cs.save_atomic(tmp_path / "file" / "config.toml", {})


# --------------------------------------------------------------------------- bad content (B6, finding 14)


def test_corrupt_toml_names_path_and_position_not_content(cfg_path: Path) -> None:
    _write(cfg_path, f'[profiles.default]\napi_key = "{SECRET}"\nbase_url = {SECRET}\n')
    with pytest.raises(ConfigError) as ei:
        cs.load(cfg_path)
    err = ei.value
    _no_secret(err)
    assert str(cfg_path) in err.msg
    assert "(line 3, column" in err.msg
    assert err.__context__ is None and err.__cause__ is None  # no TOMLDecodeError.doc attached
    with pytest.raises(ConfigError) as ei:
        resolution.resolve(profile_flag=None, base_url_flag=None, validate=False)
    _no_secret(ei.value)


@pytest.mark.parametrize(
    "content",
    [
        f'api_key = "{SECRET}',  # unterminated string: error at end
        f'[profiles.default]\napi_key = "{SECRET}"\n[profiles.default]\n',  # duplicate table
        f"{SECRET} = = 1",
        "[" * 5000,  # deep nesting
        f'x = "{SECRET}\x1b"\n',  # control character inside a string
    ],
)
def test_various_invalid_toml(cfg_path: Path, content: str) -> None:
    _write(cfg_path, content)
    with pytest.raises(ConfigError) as ei:
        cs.load(cfg_path)
    _no_secret(ei.value)
    assert str(cfg_path) in ei.value.msg and "not valid TOML" in ei.value.msg


def test_non_utf8(cfg_path: Path) -> None:
    _write(cfg_path, b'a = 1\napi_key = "' + SECRET.encode() + b'\xff\xfe"\n')
    with pytest.raises(ConfigError) as ei:
        cs.load(cfg_path)
    _no_secret(ei.value)
    assert "UTF-8" in ei.value.msg and "line 2" in ei.value.msg and str(cfg_path) in ei.value.msg


def test_bom_and_empty_file_are_fine(cfg_path: Path) -> None:
    _write(cfg_path, b'\xef\xbb\xbf[profiles.default]\nbase_url = "https://x.example"\n')
    assert cs.load(cfg_path) == {"profiles": {"default": {"base_url": "https://x.example"}}}
    _write(cfg_path, b"")
    assert cs.load(cfg_path) == {}


def test_oversized_file(cfg_path: Path) -> None:
    _write(cfg_path, f'api_key = "{SECRET}"\n' + "#" * (64 * 1024))
    with pytest.raises(ConfigError) as ei:
        cs.load(cfg_path)
    _no_secret(ei.value)
    assert "64 KiB" in ei.value.msg and str(cfg_path) in ei.value.msg
    _write(cfg_path, "#" * (64 * 1024 - 1) + "\n")
    assert cs.load(cfg_path) == {}


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ("profiles = 5\n", "`profiles`"),
        ("[profiles]\ndefault = 5\n", "`profiles.default`"),
        ("[profiles.default]\napi_key = 5\n", "`profiles.default.api_key`"),
        ("[profiles.default]\nbase_url = [1]\n", "`profiles.default.base_url`"),
        ('[profiles."my.p"]\napi_key = true\n', '`profiles."my.p".api_key`'),
    ],
)
def test_wrong_types(cfg_path: Path, content: str, key: str) -> None:
    _write(cfg_path, content)
    with pytest.raises(ConfigError) as ei:
        cs.load(cfg_path)
    assert str(cfg_path) in ei.value.msg and key in ei.value.msg


@posix_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(cfg_path: Path) -> None:
    _write(cfg_path, f'api_key = "{SECRET}"\n', mode=0o000)
    with pytest.raises(ConfigError) as ei:
        cs.load(cfg_path)
    _no_secret(ei.value)
    assert "permission denied" in ei.value.msg and str(cfg_path) in ei.value.msg


# --------------------------------------------------------------------------- key checks (A3, A4)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("abcdef123456", "abcdef123456"),
        ("  abcdef123456\n", "abcdef123456"),
        ("\tabcdef123456\r\n", "abcdef123456"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_key_stripped(raw: str, expected: str) -> None:
    assert resolution.check_api_key(raw, "stdin") == expected


@pytest.mark.parametrize(
    "bad",
    [
        "abc def123456",
        "abc\ndef123456",
        "abc\rdef123456",
        "abc\tdef123456",
        "abc\x1bdef123456",
        "abc\x00def123456",
        "abcédef123456",
        "abc\u00a0def123456",
        "abc\x7fdef123456",
        "abc\u202edef123456",
    ],
)
def test_key_refused_without_echo(bad: str) -> None:
    with pytest.raises(ConfigError) as ei:
        resolution.check_api_key(bad, "BROWSERACT_API_KEY")
    err = ei.value
    assert err.exit_code == ExitCode.CONFIG
    assert "BROWSERACT_API_KEY" in err.msg
    assert "whitespace, control or non-ASCII" in err.msg
    for text in (err.msg, err.hint, str(err), repr(err)):
        assert "abc" not in text and "def123456" not in text


def test_bad_key_from_env_and_file(cfg_path: Path) -> None:
    env = {"BROWSERACT_CONFIG_DIR": str(cfg_path.parent), "BROWSERACT_API_KEY": SECRET + " x"}
    with pytest.raises(ConfigError) as ei:
        resolution.resolve(profile_flag=None, base_url_flag=None, env=env)
    _no_secret(ei.value)
    assert "BROWSERACT_API_KEY" in ei.value.msg
    s = resolution.resolve(profile_flag=None, base_url_flag=None, env=env, validate=False)
    assert s.api_key.source == "env"
    with pytest.raises(ConfigError):
        s.key_or_raise()  # checked again before use

    cs.update(cfg_path, "default", "api_key", SECRET + "\x1b[31m")
    with pytest.raises(ConfigError) as ei:
        resolution.resolve(profile_flag=None, base_url_flag=None)
    _no_secret(ei.value)
    assert str(cfg_path) in ei.value.msg and "[profiles.default]" in ei.value.msg


# --------------------------------------------------------------------------- base URL (C6, C7)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.browseract.com", "https://api.browseract.com"),
        ("https://api.browseract.com/", "https://api.browseract.com"),
        ("https://api.browseract.com/v2//", "https://api.browseract.com/v2"),
        ("HTTPS://API.BrowserAct.com:443/x", "https://api.browseract.com:443/x"),
        ("https://10.0.0.1:8443", "https://10.0.0.1:8443"),
        ("https://[2001:db8::1]/", "https://[2001:db8::1]"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.5.6.7:1/", "http://127.5.6.7:1"),
        ("http://localhost", "http://localhost"),
        ("http://LOCALHOST:9/api/", "http://localhost:9/api"),
        ("http://[::1]:1", "http://[::1]:1"),
        ("  https://api.browseract.com\n", "https://api.browseract.com"),
    ],
)
def test_base_url_accepted(url: str, expected: str) -> None:
    assert resolution.check_base_url(url, "--base-url") == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com", "not loopback"),
        ("http://api.browseract.com", "not loopback"),
        ("http://127.0.0.1.evil.com", "not loopback"),
        ("http://localhost.evil.com", "not loopback"),
        ("http://10.0.0.1", "not loopback"),
        ("https://u:p@host.example", "user info"),
        ("https://user@host.example", "user info"),
        ("https://api.browseract.com@evil.com", "user info"),
        ("http://127.0.0.1@evil.com", "user info"),
        ("ftp://api.browseract.com", "https://"),
        ("file:///etc/passwd", "https://"),
        ("api.browseract.com", "https://"),
        ("https:/api.browseract.com", "https://"),
        ("https://api.browseract.com/?x=1", "query or fragment"),
        ("https://api.browseract.com?", "query or fragment"),
        ("https://api.browseract.com#frag", "query or fragment"),
        ("https://", "no host"),
        ("https://:443", "no host"),
        ("https://host:0", "invalid port"),
        ("https://host:65536", "invalid port"),
        ("https://host:8o", "invalid port"),
        ("https://host:+80", "invalid port"),
        ("https://ho st", "whitespace"),
        ("https://host\n.evil", "whitespace"),
        ("https://api.browseract.com\\@evil.com", "backslash"),
        ("https://[::1", "malformed host"),
        ("https://[zz::1]", "invalid IPv6|malformed host"),
        ("https://a:b:c", "malformed host"),
        ("https://bad_host!.com", "invalid host name"),
        ("", "empty"),
    ],
)
def test_base_url_refused(url: str, reason: str) -> None:
    with pytest.raises(ConfigError) as ei:
        resolution.check_base_url(url, "BROWSERACT_BASE_URL")
    err = ei.value
    assert err.exit_code == ExitCode.CONFIG
    assert any(r in err.msg for r in reason.split("|"))
    assert "BROWSERACT_BASE_URL" in err.msg
    assert "u:p" not in err.msg and "user@" not in err.msg
    assert "\n" not in err.msg


def test_base_url_message_strips_userinfo() -> None:
    with pytest.raises(ConfigError) as ei:
        resolution.check_base_url(f"https://me:{SECRET}@host.example/x", "--base-url")
    _no_secret(ei.value)
    assert "https://host.example/x" in ei.value.msg


def test_bad_base_url_from_file_and_validate_false(cfg_path: Path) -> None:
    cs.update(cfg_path, "default", "base_url", "http://example.com")
    with pytest.raises(ConfigError) as ei:
        resolution.resolve(profile_flag=None, base_url_flag=None)
    assert str(cfg_path) in ei.value.msg
    s = resolution.resolve(profile_flag=None, base_url_flag=None, validate=False)
    assert (s.base_url.value, s.base_url.source) == ("http://example.com", "file")
    s = resolution.resolve(profile_flag=None, base_url_flag="http://127.0.0.1:1/")
    assert (s.base_url.value, s.base_url.source) == ("http://127.0.0.1:1", "flag")


# --------------------------------------------------------------------------- integrity (B7, B8, M7)

N_WRITERS = 8
N_WRITES = 200


def _writer(path: str, idx: int, n: int) -> None:
    for i in range(n):
        cs.update(Path(path), f"writer {idx}.x", "api_key", f"key-{idx}-{i:06d}")


def _reader(path: str, stop, result) -> None:  # type: ignore[no-untyped-def]
    reads = bad = 0
    while not stop.is_set():
        try:
            doc = cs.load(Path(path))
            for table in doc.get("profiles", {}).values():
                assert table["api_key"].startswith("key-")
        except Exception:
            bad += 1
        reads += 1
    result.put((reads, bad))


@posix_only
@pytest.mark.timeout(60)
def test_concurrent_writers_and_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Integrity under contention, not the give-up time: 8 writers on a loaded machine may each
    # wait longer than LOCK_WAIT_S for their turn (forked writers inherit this).
    monkeypatch.setattr(cs, "LOCK_WAIT_S", 50.0)
    path = tmp_path / "conc" / "config.toml"
    cs.save_atomic(path, {})
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    stop = ctx.Event()
    result = ctx.Queue()
    reader = ctx.Process(target=_reader, args=(str(path), stop, result))
    reader.start()
    writers = [ctx.Process(target=_writer, args=(str(path), i, N_WRITES)) for i in range(N_WRITERS)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(50)
        assert w.exitcode == 0
    stop.set()
    reads, bad = result.get(timeout=20)
    reader.join(10)
    assert bad == 0
    assert reads > 50  # the reader really ran alongside the writers

    doc = tomllib.loads(path.read_text())
    assert doc == {
        "profiles": {
            f"writer {i}.x": {"api_key": f"key-{i}-{N_WRITES - 1:06d}"} for i in range(N_WRITERS)
        }
    }
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert sorted(os.listdir(path.parent)) == [".config.lock", "config.toml"]


_KILL_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from browseract_cli import config_store as cs
    path = Path(sys.argv[1])
    i = 0
    cs.update(path, "p", "api_key", "key-ready")
    print("ready", flush=True)
    while True:
        i += 1
        cs.update(path, "p", "api_key", f"key-{i:08d}" + "x" * (i % 500))
        cs.update(path, f"q{i % 7}", "base_url", f"https://h{i}.example")
    """
)


@posix_only
@pytest.mark.timeout(60)
def test_sigkill_mid_write_leaves_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "kill" / "config.toml"
    rng = random.Random(1234)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(20):
        proc = subprocess.Popen(
            [sys.executable, "-c", _KILL_WRITER, str(path)],
            stdout=subprocess.PIPE,
            cwd=REPO,
            env=env,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.08))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        doc = cs.load(path)  # old or new: always whole
        assert doc["profiles"]["p"]["api_key"].startswith("key-")
        assert _mode(path) == 0o600
    # Leftover temp files (a kill between mkstemp and replace) are never config.toml itself,
    # and the next write still succeeds.
    leftovers = [n for n in os.listdir(path.parent) if n not in ("config.toml", ".config.lock")]
    assert all(n.startswith(".config.") and n.endswith(".tmp") for n in leftovers)
    cs.update(path, "p", "api_key", "key-final")
    assert cs.load(path)["profiles"]["p"]["api_key"] == "key-final"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG shortcut is Linux-only")
@pytest.mark.parametrize("xdg", [None, "", "relative/dir", "/tmp/xdg-config"])
def test_linux_config_dir_matches_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               xdg: str | None) -> None:
    """config_dir() skips importing platformdirs on Linux; it must give the same answer."""
    import platformdirs

    monkeypatch.delenv("BROWSERACT_CONFIG_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    assert cs.config_dir() == platformdirs.user_config_path("browseract")
