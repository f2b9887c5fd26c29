"""What a newcomer meets at the prompt (issue 10, and issue 13 items 9a and 16): option values,
base URLs, typos, messages and hints, each checked end to end through the CLI."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from browseract_cli.options import parse_duration

# --------------------------------------------------------------------------- durations (22)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("2.5", 2.5), ("500ms", 0.5), ("30s", 30.0), ("10m", 600.0), ("2h", 7200.0),
    ("1d", 86400.0), ("1h30m", 5400.0), ("2m30s", 150.0), ("1d2h", 93600.0), ("1m30.5s", 90.5),
    ("1h 30m", 5400.0), ("1s500ms", 1.5), ("30M", 1800.0), ("1H30M", 5400.0),
])
def test_durations_accept_units_and_compounds(text: str, seconds: float) -> None:
    assert parse_duration(text, "--timeout") == seconds


@pytest.mark.parametrize("text", ["", "h", "1h30", "30m1h", "1m1m", "1x", "-5", "1e3", "1h-30m", "m30"])
def test_durations_refuse_what_is_ambiguous(cli, text: str) -> None:
    run = cli("watch", "--timeout", text, "t", expect=2)
    assert "invalid duration for --timeout" in run.stderr
    assert "1h30m" in run.stderr  # the hint shows a compound


def test_watch_timeout_takes_a_compound_duration(cli, make_sim, clock) -> None:
    sim = make_sim({"t": [{"status": "running"}]}, clock=clock)
    run = cli("watch", "--json", "--interval", "60", "--timeout", "1h30m", "t", expect=124,
              base_url=sim.url, clock=clock)
    assert '"exit_code": 124' in run.stdout
    assert clock.now - 1000.0 == 5400.0


def test_until_takes_a_comma_list(cli, make_sim, clock) -> None:
    sim = make_sim({"t": [{"status": "created", "polls": 1}, {"status": "paused"}]}, clock=clock)
    run = cli("watch", "-q", "--until", "paused,finished", "t", expect=0, base_url=sim.url, clock=clock)
    assert run.stdout == "paused\n"
    run = cli("watch", "-q", "--until", "finished, PAUSED", "--until", "canceled", "t", expect=0,
              base_url=sim.url, clock=clock)
    assert run.stdout == "paused\n"


@pytest.mark.parametrize("value", ["paused,", "paused,,finished", "paused,bogus"])
def test_until_list_with_an_empty_or_unknown_item_is_usage_error(cli, sim, value: str) -> None:
    run = cli("watch", "--until", value, "t", expect=2)
    assert "is not a task state" in run.stderr
    assert sim.requests == []


# --------------------------------------------------------------------------- simulate (13.9a, 31)


@pytest.mark.parametrize("port", ["70000", "-1", "65536"])
def test_simulate_port_out_of_range_is_usage_error(cli, port: str) -> None:
    run = cli("simulate", "--port", port, expect=2)
    assert "0-65535" in run.stderr
    assert "internal error" not in run.stderr


def test_missing_scenario_file_is_named_once(cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    run = cli("simulate", "--scenario", str(missing), expect=2)
    assert run.stderr.count(str(missing)) == 1, run.stderr
    assert "No such file" in run.stderr


# --------------------------------------------------------------------------- base URLs (9, 13.16)


@pytest.mark.parametrize("url", ["http://localhost.:8765", "http://LOCALHOST.:8765/x"])
def test_localhost_with_a_trailing_dot_is_not_loopback(cli, no_network, url: str) -> None:
    run = cli("status", "t", expect=78, base_url=url)
    assert "trailing dot" in run.stderr
    assert no_network == []


def test_localhost_with_a_trailing_dot_is_not_a_simulator_host(cli) -> None:
    run = cli("simulate", "--host", "localhost.", "--port", "0", expect=2)
    assert "loopback" in run.stderr


@pytest.mark.parametrize(("given", "suggested"), [
    ("127.0.0.1:8765", "http://127.0.0.1:8765"),
    ("localhost:8765", "http://localhost:8765"),
    ("[::1]:8765/v2", "http://[::1]:8765/v2"),
    ("api.browseract.com", "https://api.browseract.com"),
    ("example.com:8443/base", "https://example.com:8443/base"),
])
def test_base_url_without_a_scheme_suggests_the_full_url(cli, no_network, given: str, suggested: str,
                                                         isolate_env: Path) -> None:
    want = f"did you mean {suggested}?"
    run = cli("--base-url", given, "status", "t", expect=78)
    assert "no scheme" in run.stderr and want in run.stderr, run.stderr
    run = cli("status", "t", expect=78, env={"BROWSERACT_BASE_URL": given})
    assert "BROWSERACT_BASE_URL" in run.stderr and want in run.stderr
    run = cli("config", "set", "base-url", given, expect=78)
    assert want in run.stderr
    assert not (isolate_env / "config" / "config.toml").exists()
    assert no_network == []


def test_base_url_without_a_scheme_and_no_usable_guess_gets_the_general_hint(cli, no_network) -> None:
    run = cli("--base-url", "not a url", "status", "t", expect=78)
    assert "did you mean" not in run.stderr and "https://" in run.stderr


# --------------------------------------------------------------------------- config unset (18)


@pytest.mark.parametrize("name", ["api-key", "base-url"])
def test_unset_with_nothing_set_says_so(cli, isolate_env: Path, name: str) -> None:
    run = cli("config", "unset", name, expect=0)
    assert "removed" not in run.stderr
    assert f"{name} is not set in profile 'default'" in run.stderr
    assert not (isolate_env / "config").exists()  # nothing created for nothing to remove


def test_unset_of_another_profile_leaves_the_file_alone(cli, isolate_env: Path) -> None:
    cfg = isolate_env / "config"
    cfg.mkdir(mode=0o700)
    (cfg / "config.toml").write_text('[profiles.default]\nbase_url = "http://127.0.0.1:9"\n')
    os.chmod(cfg / "config.toml", 0o600)
    before = (cfg / "config.toml").read_bytes()
    run = cli("--profile", "default", "config", "unset", "api-key")
    assert "api-key is not set in profile 'default'" in run.stderr
    assert (cfg / "config.toml").read_bytes() == before
    run = cli("config", "unset", "base-url")
    assert "base-url removed from profile 'default'" in run.stderr
    assert tomllib.loads((cfg / "config.toml").read_text()) == {}


# --------------------------------------------------------------------------- plurals (26), demo (16)


def interrupt_after(clock, sleeps: int):  # type: ignore[no-untyped-def]
    """A sleep for the fake clock that raises KeyboardInterrupt (Ctrl-C) on call number ``sleeps``."""
    calls = 0
    real = clock.sleep

    def sleep(seconds: float) -> None:
        nonlocal calls
        calls += 1
        if calls >= sleeps:
            raise KeyboardInterrupt
        real(seconds)

    return sleep


@pytest.mark.parametrize(("ids", "expected"), [
    (["a"], "--timeout expired before 1 task ended; it keeps running on the server"),
    (["a", "b"], "--timeout expired before 2 tasks ended; they keep running on the server"),
])
def test_timeout_message_counts_tasks(cli, make_sim, clock, ids: list[str], expected: str) -> None:
    sim = make_sim({t: [{"status": "running"}] for t in ids}, clock=clock)
    run = cli("watch", "--timeout", "3", *ids, expect=124, base_url=sim.url, clock=clock)
    assert expected in run.stderr
    assert "task(s)" not in run.stderr


@pytest.mark.parametrize(("ids", "expected"), [
    (["a"], "the task keeps running on the server"),
    (["a", "b"], "the tasks keep running on the server"),
])
def test_interrupt_message_counts_tasks(cli, make_sim, clock, ids: list[str], expected: str) -> None:
    sim = make_sim({t: [{"status": "running"}] for t in ids}, clock=clock)
    clock.sleep = interrupt_after(clock, 3)  # type: ignore[method-assign]
    run = cli("watch", *ids, expect=130, base_url=sim.url, clock=clock)
    assert expected in run.stderr
    assert f"Resume with: browseract watch {' '.join(ids)}" in run.stderr


def test_interrupted_demo_offers_no_resume(cli, clock, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    clock.sleep = interrupt_after(clock, 4)  # type: ignore[method-assign]
    run = cli("demo", clock=clock, expect=130)
    assert "demo stopped; its simulator is gone, so there is nothing to resume." in run.stderr
    assert "Resume with" not in run.stderr and "keeps running" not in run.stderr


# --------------------------------------------------------------------------- typos (5)


@pytest.mark.parametrize(("typo", "meant"), [("stauts", "status"), ("wacth", "watch"), ("confg", "config"),
                                             ("simulat", "simulate"), ("dmeo", "demo")])
def test_a_mistyped_command_gets_a_suggestion(cli, typo: str, meant: str) -> None:
    run = cli(typo, "x", expect=2)
    assert f"No such command '{typo}'" in run.stderr
    assert f"Did you mean '{meant}'?" in run.stderr


def test_a_typo_is_matched_without_importing_every_command() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom browseract_cli.cli import app\n"
            "try:\n    app(['stauts', 'x'], prog_name='browseract')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('browseract_cli.commands.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "Did you mean 'status'?" in done.stderr
    assert done.stdout.strip() == "[]"


def test_nothing_close_gets_no_suggestion(cli) -> None:
    run = cli("xyzzy", expect=2)
    assert "No such command 'xyzzy'" in run.stderr and "Did you mean" not in run.stderr


# --------------------------------------------------------------------------- global options anywhere (21)


def test_global_options_after_the_command(cli, sim) -> None:
    run = cli("status", "demo-forever", "--base-url", sim.url, "-q", expect=14, base_url="https://nowhere.invalid")
    assert run.stdout == "created\n"
    run = cli("status", "-v", "demo-forever", expect=14, base_url=sim.url)
    assert "> GET http://127.0.0.1:" in run.stderr
    run = cli("status", "--base-url=" + sim.url, "--no-color", "demo-forever", expect=14)
    assert "TASK" in run.stdout and "\x1b" not in run.stdout


def test_global_options_after_a_subcommand(cli, isolate_env: Path) -> None:
    cfg = isolate_env / "config"
    cfg.mkdir(mode=0o700)
    (cfg / "config.toml").write_text('[profiles.staging]\nbase_url = "http://127.0.0.1:9"\n')
    os.chmod(cfg / "config.toml", 0o600)
    assert cli("config", "get", "base-url", "--profile", "staging").stdout == "http://127.0.0.1:9\n"
    assert cli("config", "get", "--profile=staging", "base-url").stdout == "http://127.0.0.1:9\n"
    run = cli("config", "show", "--json", "--base-url", "http://127.0.0.1:7", "--profile", "staging")
    assert '"source": "flag"' in run.stdout and "http://127.0.0.1:7" in run.stdout


def test_option_values_and_double_dash_are_left_alone(cli, sim, make_sim, clock) -> None:
    # `-v` after `--` is a task ID; `--until` takes the next word as its value, whatever it is.
    run = cli("status", "--json", "--", "-v", expect=66, base_url=sim.url)
    assert '"task_id": "-v"' in run.stdout
    run = cli("watch", "--until", "--base-url", "x", expect=2)
    assert "--until '--base-url' is not a task state" in run.stderr
    other = make_sim({"t": [{"status": "finished"}]}, clock=clock)
    run = cli("watch", "-q", "t", "--interval", "1", "--base-url", other.url, expect=0,
              base_url="https://nowhere.invalid", clock=clock)
    assert run.stdout == "finished\n"


def test_a_global_option_without_its_value_is_still_an_error(cli) -> None:
    run = cli("status", "x", "--base-url", expect=2)
    assert "--base-url" in run.stderr


# --------------------------------------------------------------------------- README completions (29)


def test_readme_completion_steps_work_in_a_fresh_home(tmp_path: Path) -> None:
    import re
    import subprocess

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Shell completions", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```sh\n(.*?)```", section, re.S)
    home = tmp_path / "fresh-home"
    home.mkdir()
    done = subprocess.run(["bash", "-euc", block], cwd=root, env={"HOME": str(home), "PATH": os.environ["PATH"]},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    for installed in (".local/share/bash-completion/completions/browseract", ".zfunc/_browseract",
                      ".config/fish/completions/browseract.fish"):
        assert (home / installed).is_file(), installed
    assert "fpath=(~/.zfunc $fpath)" in section and "compinit" in section


# --------------------------------------------------------------------------- simulate's hints (10)


def _lines_until(proc, marker: str, timeout: float = 10.0) -> list[str]:  # type: ignore[no-untyped-def]
    import select
    import time

    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while marker.encode() not in buf:
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} within {timeout}s: {buf!r}"
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 4096)
            assert chunk, f"output ended early: {buf!r}"
            buf += chunk
    return buf.decode().splitlines()


@pytest.mark.parametrize("with_key", [True, False])
def test_simulate_prints_lines_that_paste_as_is(tmp_path: Path, with_key: bool) -> None:
    import subprocess
    import sys

    key = "my-chosen-sim-key-0123"
    bin_dir = Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "BROWSERACT_CONFIG_DIR": str(tmp_path / "cfg")}
    args = [sys.executable, "-m", "browseract_cli", "simulate", "--port", "0"]
    proc = subprocess.Popen(args + (["--api-key", key] if with_key else []), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        lines = _lines_until(proc, "Press Ctrl-C")
        assert not any(key in line for line in lines)  # the key is never echoed
        start = next(i for i, line in enumerate(lines) if line.startswith("Try"))
        block = [line for line in lines[start + 1:] if line.startswith("  ")]
        script = "\n".join(block)
        if with_key:  # the key is read last, so that no later pasted line is taken for it
            assert block[-1].lstrip().startswith("read -rs BROWSERACT_API_KEY")
            assert "then: browseract status demo-finished" in lines
            script += "\nbrowseract status demo-finished"
        done = subprocess.run(["bash", "-c", script], input=key + "\n", env=env, capture_output=True,
                              text=True, timeout=30)
        assert done.returncode == 14, done.stdout + done.stderr  # demo-finished starts as created
        assert "created" in done.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


# --------------------------------------------------------------------------- status - on a terminal (20)


@pytest.mark.skipif(os.name != "posix", reason="pty")
@pytest.mark.parametrize("command", ["status", "watch"])
def test_dash_on_a_terminal_says_it_reads_task_ids(sim, canary: str, tmp_path: Path, command: str) -> None:
    import sys

    import pexpect

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "TERM": "dumb", "BROWSERACT_BASE_URL": sim.url, "BROWSERACT_API_KEY": canary,
           "BROWSERACT_CONFIG_DIR": str(tmp_path / "cfg")}
    extra = ["--until", "created"] if command == "watch" else []
    child = pexpect.spawn(sys.executable, ["-m", "browseract_cli", command, *extra, "-"], env=env,
                          dimensions=(24, 80), timeout=10)
    child.expect("reading task IDs from stdin, one per line; end with Ctrl-D")
    child.sendline("demo-forever")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == (14 if command == "status" else 0)
    assert b"demo-forever" in child.before and canary.encode() not in child.before


def test_dash_from_a_pipe_says_nothing_extra(cli, sim) -> None:
    run = cli("status", "-q", "-", input="demo-forever\n", expect=14, base_url=sim.url)
    assert run.stderr == ""


# --------------------------------------------------------------------------- hints (11)


def hint_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "hint:" in line]


def test_doctor_with_a_rejected_env_key_hints_at_the_variable(cli, sim) -> None:
    run = cli("config", "doctor", expect=77, base_url=sim.url, env={"BROWSERACT_API_KEY": "ba_rejected_0123456789"})
    [hint] = hint_lines(run.stdout + run.stderr)
    assert "config doctor" not in hint
    assert "the key from env BROWSERACT_API_KEY was rejected" in hint and "set-key" in hint


def test_doctor_with_a_rejected_file_key_hints_at_set_key(cli, sim, isolate_env: Path, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    cfg = isolate_env / "config"
    cfg.mkdir(mode=0o700)
    (cfg / "config.toml").write_text('[profiles.default]\napi_key = "ba_file_wrong_0123456"\n')
    os.chmod(cfg / "config.toml", 0o600)
    run = cli("config", "doctor", expect=77, base_url=sim.url)
    [hint] = hint_lines(run.stdout + run.stderr)
    assert "config doctor" not in hint and "browseract config set-key" in hint
    assert str(cfg / "config.toml") in hint


def test_doctor_unreachable_hint_does_not_point_back_at_doctor(cli) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = cli("config", "doctor", expect=69, base_url=f"http://127.0.0.1:{port}")
    [hint] = hint_lines(run.stdout + run.stderr)
    assert "config doctor" not in hint and "base URL" in hint


def test_set_key_verify_with_a_rejected_key_hints_at_copying_it_again(cli, sim, isolate_env: Path) -> None:
    run = cli("config", "set-key", "--verify", input="ba_typo_key_0123456789\n", expect=77, base_url=sim.url)
    [hint] = hint_lines(run.stderr)
    assert "config doctor" not in hint and "set-key" not in hint
    assert "copy" in hint
    assert not (isolate_env / "config" / "config.toml").exists()


# --------------------------------------------------------------------------- unknown profile (13)


@pytest.fixture
def two_profiles(isolate_env: Path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("BROWSERACT_API_KEY")
    cfg = isolate_env / "config"
    cfg.mkdir(mode=0o700)
    path = cfg / "config.toml"
    path.write_text('[profiles.default]\napi_key = "ba_file_key_0123456789"\n\n'
                    '[profiles.staging]\nbase_url = "http://127.0.0.1:9"\n')
    os.chmod(path, 0o600)
    return path


def profile_note(text: str) -> list[str]:
    return [line for line in text.splitlines() if "profile 'defualt'" in line and "is not in" in line]


@pytest.mark.parametrize("how", ["flag", "env", "flag after the command"])
@pytest.mark.parametrize("command", [("status", "t"), ("watch", "t"), ("config", "show"), ("config", "get", "base-url"),
                                     ("config", "doctor")])
def test_an_unknown_profile_is_named_with_the_ones_that_exist(cli, two_profiles: Path, no_network, how: str,
                                                               command: tuple[str, ...]) -> None:
    if how == "flag":
        args, env = ["--profile", "defualt", *command], {}
    elif how == "env":
        args, env = list(command), {"BROWSERACT_PROFILE": "defualt"}
    else:
        args, env = [*command, "--profile", "defualt"], {}
    run = cli(*args, expect=None, env=env)
    [note] = profile_note(run.stdout + run.stderr)
    assert str(two_profiles) in note and "default, staging" in note
    assert no_network == []


def test_a_known_profile_or_no_file_gets_no_note(cli, two_profiles: Path) -> None:
    run = cli("--profile", "staging", "config", "show")
    assert "is not in" not in run.stdout + run.stderr
    two_profiles.unlink()
    run = cli("--profile", "defualt", "config", "show")
    assert "is not in" not in run.stdout + run.stderr


# --------------------------------------------------------------------------- config show (25)


def test_config_show_lines_up_and_does_not_nest_brackets(cli, isolate_env: Path, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    cfg = isolate_env / "config"
    cfg.mkdir(mode=0o700)
    (cfg / "config.toml").write_text('[profiles.default]\napi_key = "ba_file_key_0123456789"\n')
    os.chmod(cfg / "config.toml", 0o600)
    run = cli("config", "show", env={"BROWSERACT_BASE_URL": "http://127.0.0.1:8765"})
    lines = run.stdout.splitlines()
    rows = {line.split()[0]: line for line in lines}
    assert {"SETTING", "profile", "api-key", "base-url", "file"} <= set(rows)
    starts = {name: rows[name].rindex(word) for name, word in [
        ("SETTING", "FROM"), ("profile", "default"), ("api-key", "file ["), ("base-url", "env")]}
    assert len(set(starts.values())) == 1, run.stdout  # the FROM column lines up
    values = {name: rows[name].index(word) for name, word in [
        ("SETTING", "VALUE"), ("profile", "default"), ("api-key", "ba_f"), ("base-url", "http")]}
    assert len(set(values.values())) == 1, run.stdout
    assert "[profiles.default]" in rows["api-key"] and str(cfg / "config.toml") not in rows["api-key"]
    assert str(cfg / "config.toml") in rows["file"]
    assert all(line.count("[") <= 1 for line in lines), run.stdout
    assert "env BROWSERACT_BASE_URL" in rows["base-url"]


def test_watch_off_a_terminal_gives_a_rejected_keys_hint_once(cli, make_sim, clock) -> None:
    sim = make_sim({t: [{"http": 401, "code": 401, "msg": "Invalid authorization"}] for t in ("a", "b", "c")},
                   clock=clock)
    for mode in ([], ["-q"]):
        run = cli("watch", *mode, "a", "b", "c", expect=77, base_url=sim.url, clock=clock)
        assert run.stderr.count("error: ") == 3
        assert len(hint_lines(run.stderr)) == 1, run.stderr
        assert "the key from env BROWSERACT_API_KEY was rejected" in hint_lines(run.stderr)[0]
