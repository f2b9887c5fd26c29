"""Issue 13, findings 3-8: the standard streams and the terminal, in real processes.

Closed or full stdout (74), closed or dead stderr (never changes the exit code), Ctrl-C while
starting up or at the hidden prompt (130, echo restored), Ctrl-D or no stdin at the prompt (2),
and bytes that are not UTF-8 on stdin or in the config location.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file descriptors, signals and ptys")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path: Path, sim, canary: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    sim.add_task("running-task", [{"status": "running"}])
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "BROWSERACT_BASE_URL": sim.url,
        "BROWSERACT_API_KEY": canary,
        "BROWSERACT_CONFIG_DIR": str(tmp_path / "config"),
        "TERM": "xterm-256color",
        "COLUMNS": "100",
    }


def browseract(*args: str) -> list[str]:
    return [sys.executable, "-m", "browseract_cli", *args]


def shell(redirect: str, args: list[str], env: dict[str, str], stdin: bytes | None = None,
          stderr: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[bytes]:
    """Run browseract with a shell redirection applied to it (e.g. '>&-', '2>/dev/full')."""
    script = f'exec "$@" {redirect}'
    done = subprocess.run(["bash", "-c", script, "bash", *browseract(*args)], env=env, input=stdin,
                          stdout=subprocess.PIPE, stderr=stderr, timeout=20, check=False)
    for stream in (done.stdout, done.stderr or b""):
        assert b"ba_test_canary_" not in stream
    return done


def one_error_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert "Traceback" not in text and "Exception ignored" not in text
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


# --------------------------------------------------------------------------- finding 5


@pytest.mark.parametrize("args", [["status", "--json", "running-task"], ["status", "-q", "running-task"],
                                  ["--version"], ["config", "path"], ["--help"]],
                         ids=["status-json", "status-q", "version", "config-path", "help"])
@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"], ids=["closed", "full"])
def test_unwritable_stdout_is_74_with_one_line(env, args, redirect) -> None:
    done = shell(redirect, args, env)
    assert done.returncode == 74, done.stderr
    line = one_error_line(done.stderr)
    assert "stdout" in line
    assert ("closed" in line) if redirect == ">&-" else ("no space left" in line)


def test_watch_into_a_full_stdout_is_74(env) -> None:
    done = shell(">/dev/full", ["watch", "--json", "--interval", "0.05", "running-task"], env)
    assert done.returncode == 74
    assert "no space left" in one_error_line(done.stderr)


def test_set_key_needs_no_stdout(env, tmp_path: Path) -> None:
    """A command that writes nothing to stdout does not fail because stdout is closed."""
    done = shell(">&-", ["config", "set-key", "--stdin"], env, stdin=b"ba_stored_key_0123456789\n")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "config" / "config.toml").exists()


def test_a_closed_stdout_is_never_reused_by_a_file_or_socket(env, tmp_path: Path) -> None:
    """fd 1 closed at start must not become the config file or the socket the key travels on."""
    done = shell(">&-", ["config", "set-key", "--stdin"], env, stdin=b"ba_stored_key_0123456789\n")
    assert done.returncode == 0
    done = shell(">&-", ["status", "-q", "running-task"], env)
    assert done.returncode == 74
    text = (tmp_path / "config" / "config.toml").read_text()
    assert "running" not in text and "stdout" not in text


# --------------------------------------------------------------------------- findings 6 and 7


@pytest.mark.parametrize("redirect", ["2>&-", "2>/dev/full"], ids=["closed", "full"])
@pytest.mark.parametrize(("args", "code"), [(["status", "nope"], 66), (["status", "--json", "nope"], 66),
                                            (["status", "running-task", "nope"], 66),
                                            (["no-such-command"], 2), (["status", "--interval", "1", "x"], 2)])
def test_broken_stderr_never_changes_the_exit_code(env, redirect, args, code) -> None:
    done = shell(redirect, args, env, stderr=None)
    assert done.returncode == code
    if "--json" in args:
        [doc] = [json.loads(line) for line in done.stdout.splitlines()]
        assert doc["exit_code"] == 66


def dead_pipe() -> tuple[int, int]:
    """A pipe whose reader is gone: every write to it fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return read_end, write_end


@pytest.mark.parametrize("args", [["status", "--json", "nope"], ["status", "nope"],
                                  ["status", "--json", "running-task", "nope"]])
def test_a_dead_stderr_pipe_is_not_a_broken_stdout(env, args) -> None:
    _, write_end = dead_pipe()
    try:
        done = subprocess.run(browseract(*args), env=env, stdout=subprocess.PIPE, stderr=write_end,
                              stdin=subprocess.DEVNULL, timeout=20, check=False)
    finally:
        os.close(write_end)
    assert done.returncode == 66  # not 141: only stdout's broken pipe means that
    if "--json" in args:
        docs = [json.loads(line) for line in done.stdout.splitlines()]
        assert [d["task_id"] for d in docs] == [a for a in args[2:]]


def test_stderr_read_by_head_does_not_stop_the_json(env, tmp_path: Path) -> None:
    """The reported shape: `browseract ... 2>&1 >out.json | head -1`."""
    out = tmp_path / "out.json"
    script = '"$@" 2>&1 >"$OUT" | head -c 0; echo "${PIPESTATUS[0]}" >"$RC"'
    rc = tmp_path / "rc"
    subprocess.run(["bash", "-c", script, "bash", *browseract("status", "--json", "nope", "running-task")],
                   env={**env, "OUT": str(out), "RC": str(rc)}, timeout=20, check=False,
                   stdin=subprocess.DEVNULL, capture_output=True)
    assert int(rc.read_text()) == 66
    assert [json.loads(line)["task_id"] for line in out.read_text().splitlines()] == ["nope", "running-task"]


# --------------------------------------------------------------------------- finding 4

IMPORT_GATE = textwrap.dedent("""
    import os, sys, time

    class Gate:
        # Holds the import of typer until the test has sent its signal: Ctrl-C "while typer
        # and rich are being imported", every time.
        def find_spec(self, name, path=None, target=None):
            if name == "typer":
                os.write(1, b"importing typer\\n")
                time.sleep(10)
            return None

    sys.meta_path.insert(0, Gate())
    from browseract_cli.__main__ import main  # what the console script runs
    sys.exit(main())
""")


def test_ctrl_c_while_starting_up_is_130_without_a_traceback(env) -> None:
    proc = subprocess.Popen([sys.executable, "-c", IMPORT_GATE, "status", "running-task"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=REPO)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 10)
    assert ready and proc.stdout.readline() == b"importing typer\n"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=5)
    finally:
        proc.kill()
    assert time.monotonic() - sent < 1.0
    assert proc.returncode == 130
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err


# --------------------------------------------------------------------------- finding 3


def spawn_set_key(env: dict[str, str]):  # type: ignore[no-untyped-def]
    """`config set-key` at its hidden prompt on a pty, then `stty -a` on the same terminal."""
    import pexpect

    script = 'trap : INT; "$@"; echo "rc=$?"; stty -a'
    child = pexpect.spawn("bash", ["-c", script, "bash", *browseract("config", "set-key")], env=env,
                          dimensions=(30, 200), timeout=8)
    child.expect("API key")
    child.waitnoecho(timeout=5)  # the prompt is up, echo is off
    return child


def finish(child) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    import pexpect

    child.expect(r"rc=(\d+)")
    code = int(child.match.group(1))
    before: bytes = child.before
    child.expect(pexpect.EOF)
    rest: bytes = before + child.before
    child.close()
    assert b"Traceback" not in rest and b"ba_test_canary_" not in rest
    return code, rest


def echo_is_on(stty: bytes) -> bool:
    flags = stty.decode(errors="replace").split()
    return "echo" in flags and "-echo" not in flags


@pytest.mark.parametrize("how", ["ctrl-c", "sigint"])
def test_interrupt_at_the_hidden_prompt_is_130_and_echo_comes_back(env, tmp_path: Path, how) -> None:
    child = spawn_set_key(env)
    if how == "ctrl-c":
        child.sendintr()
    else:
        out = subprocess.run(["pgrep", "-f", "-P", str(child.pid), "browseract_cli"], capture_output=True,
                             text=True, check=False)
        [pid] = out.stdout.split()
        os.kill(int(pid), signal.SIGINT)
    code, rest = finish(child)
    assert code == 130, rest
    assert echo_is_on(rest), rest
    assert b"internal error" not in rest and b"Abort" not in rest
    assert not (tmp_path / "config" / "config.toml").exists()


def test_ctrl_d_at_the_hidden_prompt_is_2_like_empty_input(env, tmp_path: Path) -> None:
    child = spawn_set_key(env)
    child.sendeof()
    code, rest = finish(child)
    assert code == 2, rest
    assert b"no API key was given" in rest
    assert echo_is_on(rest)
    assert not (tmp_path / "config" / "config.toml").exists()


def test_set_key_with_stdin_closed_is_2(env, tmp_path: Path) -> None:
    done = shell("<&-", ["config", "set-key"], env)
    assert done.returncode == 2
    assert b"no API key was given" in done.stderr
    assert b"Traceback" not in done.stderr and b"internal error" not in done.stderr
    assert not (tmp_path / "config" / "config.toml").exists()


# --------------------------------------------------------------------------- finding 8


# C.UTF-8 is the only UTF-8 locale here, and Python reads it with surrogateescape; a strict UTF-8
# stdin, as under LANG=en_US.UTF-8, is what PYTHONIOENCODING=utf-8 gives.
STRICT_UTF8 = {"PYTHONIOENCODING": "utf-8"}


def test_non_utf8_task_ids_on_stdin_are_a_usage_error(env, sim) -> None:
    before = sim.request_count()
    done = subprocess.run(browseract("status", "-"), env={**env, **STRICT_UTF8}, input=b"running-task\nb\xffd\n",
                          capture_output=True, timeout=20, check=False)
    assert done.returncode == 2, done.stderr
    assert b"UTF-8" in done.stderr and b"internal error" not in done.stderr
    assert sim.request_count() == before  # nothing sent


def test_non_utf8_key_on_stdin_is_refused_with_78(env, tmp_path: Path) -> None:
    done = subprocess.run(browseract("config", "set-key"), env={**env, **STRICT_UTF8}, input=b"ba_key_0123456789\xff\n",
                          capture_output=True, timeout=20, check=False)
    assert done.returncode == 78, done.stderr
    assert b"non-ASCII" in done.stderr and b"0123456789" not in done.stderr
    assert not (tmp_path / "config" / "config.toml").exists()


def test_config_dir_that_is_not_utf8_is_shown_with_escapes(env, tmp_path: Path) -> None:
    odd = os.fsencode(tmp_path) + b"/conf\xff"
    odd_env = {**env, **STRICT_UTF8, "BROWSERACT_CONFIG_DIR": os.fsdecode(odd)}
    done = subprocess.run(browseract("config", "path"), env=odd_env, capture_output=True, timeout=20, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == os.fsencode(tmp_path) + b"/conf\\xff/config.toml\n"
    shown = subprocess.run(browseract("config", "show"), env=odd_env, capture_output=True, timeout=20, check=True)
    assert b"/conf\\xff/config.toml" in shown.stdout


def test_non_utf8_config_dir_and_profile_never_crash(cli, tmp_path: Path, monkeypatch) -> None:
    odd_dir = os.fsdecode(os.fsencode(tmp_path) + b"/conf\xff")
    monkeypatch.setenv("BROWSERACT_CONFIG_DIR", odd_dir)
    escaped = str(tmp_path) + "/conf\\xff"
    assert cli("config", "path").stdout == f"{escaped}/config.toml\n"
    run = cli("config", "set-key", input="ba_stored_key_0123456789\n")
    assert escaped in run.stderr
    assert escaped in cli("config", "show").stdout
    doc = json.loads(cli("config", "show", "--json").stdout)
    assert doc["config_file"]["value"] == f"{escaped}/config.toml"
    odd_profile = os.fsdecode(b"p\xff")
    run = cli("--profile", odd_profile, "config", "show")
    assert "p\\xff" in run.stdout
    run = cli("--profile", odd_profile, "config", "set-key", expect=2, input="ba_stored_key_0123456789\n")
    assert "profile" in run.stderr and "UTF-8" in run.stderr
