"""`browseract config ...` end to end: set-key, set/get/unset, show, path, doctor, profiles.

Contract: "Configuration and credentials". Checklist rows A1-A8, B1-B10, C6, C7, H7.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import tomllib
from pathlib import Path

import pytest

from browseract_cli.sanitize import mask_key

DEFAULT_URL = "https://api.browseract.com"
PLANTED = "ba_live_PLANTEDsecret0123456789"


@pytest.fixture
def cfg_dir(isolate_env: Path) -> Path:
    return isolate_env / "config"


@pytest.fixture
def cfg_file(cfg_dir: Path) -> Path:
    return cfg_dir / "config.toml"


def write_config(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    path.write_text(text)
    os.chmod(path, mode)


def read_config(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# Windows has no POSIX file modes (os.chmod only sets the read-only flag) and browseract skips
# its permission checks there; those tests run on POSIX only.
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes and symlinks")


def assert_private(path: Path) -> None:
    """The file is 0600 in a 0700 directory (POSIX; nothing to check on Windows)."""
    if os.name == "posix":
        assert mode_of(path) == 0o600
        assert mode_of(path.parent) == 0o700


def show_json(cli, *global_args: str, **kwargs) -> dict:  # type: ignore[no-untyped-def]
    run = cli(*global_args, "config", "show", "--json", **kwargs)
    [line] = run.stdout.splitlines()
    return json.loads(line)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- set-key


def test_set_key_from_stdin_stores_it_privately(cli, cfg_file: Path, canary: str, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    run = cli("config", "set-key", input=canary + "\n")
    assert run.stdout == ""  # never printed
    assert mask_key(canary) in run.stderr and str(cfg_file) in run.stderr
    assert "warning" not in run.stderr
    assert read_config(cfg_file) == {"profiles": {"default": {"api_key": canary}}}
    assert_private(cfg_file)


def test_set_key_stdin_flag_and_whitespace_stripped(cli, cfg_file: Path, canary: str) -> None:
    run = cli("config", "set-key", "--stdin", input=f"  {canary} \r\n\n")
    assert read_config(cfg_file)["profiles"]["default"]["api_key"] == canary
    # the environment variable still wins: say so
    assert "BROWSERACT_API_KEY" in run.stderr and "overrides" in run.stderr


def test_set_key_is_then_used_by_status(cli, sim, canary: str, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    cli("config", "set-key", input=canary)
    cli("status", "demo-forever", expect=14, base_url=sim.url)
    assert sim.requests[0].authorization == f"Bearer {canary}"


@pytest.mark.parametrize("given", ["", "\n", "   \n\t\n"])
def test_set_key_empty_input_is_usage_error(cli, cfg_file: Path, given: str) -> None:
    run = cli("config", "set-key", expect=2, input=given)
    assert "no API key" in run.stderr
    assert not cfg_file.exists()


@pytest.mark.parametrize(
    "key",
    ["ba_SECRETpart1 SECRETpart2", "ba_SECRETpart1\tSECRETpart2", "ba_SECRETpart1\x1b[2JSECRETpart2",
     "ba_SECRETpart1éSECRETpart2", "ba_SECRETpart1\nSECRETpart2"],
    ids=["space", "tab", "esc", "non-ascii", "two-lines"],
)
def test_set_key_bad_key_is_78_without_echo(cli, cfg_file: Path, key: str) -> None:
    write_config(cfg_file, '[profiles.default]\napi_key = "ba_old_key_0123456789"\n')
    before = cfg_file.read_bytes()
    run = cli("config", "set-key", expect=78, input=key + "\n")
    assert "SECRETpart" not in run.stdout + run.stderr
    assert "\x1b" not in run.stderr
    assert "whitespace, control or non-ASCII" in run.stderr
    assert cfg_file.read_bytes() == before


def test_set_key_for_a_profile_leaves_others_alone(cli, cfg_file: Path) -> None:
    write_config(cfg_file, '[profiles.default]\napi_key = "ba_default_key_0123"\n')
    run = cli("--profile", "staging", "config", "set-key", input="ba_staging_key_4567\n")
    assert "staging" in run.stderr
    assert read_config(cfg_file)["profiles"] == {
        "default": {"api_key": "ba_default_key_0123"},
        "staging": {"api_key": "ba_staging_key_4567"},
    }
    assert_private(cfg_file)


def test_set_key_replaces_and_keeps_other_settings(cli, cfg_file: Path) -> None:
    write_config(cfg_file, '[profiles.default]\napi_key = "ba_old_key_0123456"\n'
                           'base_url = "http://127.0.0.1:9"\n')
    cli("config", "set-key", input="ba_new_key_0123456\n")
    assert read_config(cfg_file)["profiles"]["default"] == {
        "api_key": "ba_new_key_0123456", "base_url": "http://127.0.0.1:9"}


def test_set_key_verify_rejected_is_77_and_not_stored(cli, sim, cfg_file: Path) -> None:
    run = cli("config", "set-key", "--verify", expect=77, input="ba_rejected_key_012345\n",
              base_url=sim.url)
    assert not cfg_file.exists()
    assert "not stored" in run.stderr
    assert "ba_rejected_key_012345" not in run.stdout + run.stderr
    assert len(sim.requests) == 1
    assert sim.requests[0].authorization == "Bearer ba_rejected_key_012345"


def test_set_key_verify_accepted_is_stored(cli, sim, cfg_file: Path, canary: str) -> None:
    cli("config", "set-key", "--verify", input=canary, base_url=sim.url)
    assert read_config(cfg_file)["profiles"]["default"]["api_key"] == canary
    assert len(sim.requests) == 1


def test_set_key_verify_unreachable_is_69_and_not_stored(cli, cfg_file: Path, canary: str) -> None:
    cli("config", "set-key", "--verify", expect=69, input=canary,
        base_url=f"http://127.0.0.1:{closed_port()}")
    assert not cfg_file.exists()


def test_set_key_verify_never_sends_the_key_to_a_refused_base_url(cli, cfg_file: Path, sim,
                                                                  no_network) -> None:
    cli("config", "set-key", "--verify", expect=78, input="ba_some_key_0123456789",
        base_url="http://example.com")
    assert no_network == []
    cli("config", "set-key", "--verify", expect=78, input="ba_some_key_0123456789",
        base_url=f"http://user:pw@127.0.0.1:{sim.port}")
    assert sim.requests == []
    assert not cfg_file.exists()


def test_set_api_key_on_the_command_line_is_refused(cli, cfg_file: Path) -> None:
    run = cli("config", "set", "api-key", "ba_argv_SECRET_0123456", expect=2)
    assert "set-key" in run.stderr
    assert "ba_argv_SECRET" not in run.stdout + run.stderr
    assert not cfg_file.exists()


# --------------------------------------------------------------------------- set / get / unset


def test_base_url_set_get_unset_round_trip(cli, cfg_file: Path) -> None:
    assert cli("config", "get", "base-url").stdout == DEFAULT_URL + "\n"
    run = cli("config", "set", "base-url", "HTTP://LocalHost:8765/")
    assert run.stdout == ""
    assert read_config(cfg_file) == {"profiles": {"default": {"base_url": "http://localhost:8765"}}}
    assert_private(cfg_file)
    assert cli("config", "get", "base-url").stdout == "http://localhost:8765\n"
    cli("config", "unset", "base-url")
    assert cli("config", "get", "base-url").stdout == DEFAULT_URL + "\n"
    assert read_config(cfg_file) == {}
    cli("config", "unset", "base-url")  # unsetting twice is fine


def test_set_base_url_is_then_used_by_status(cli, sim) -> None:
    cli("config", "set", "base-url", sim.url)
    cli("status", "demo-forever", expect=14)
    assert sim.request_count() == 1


@pytest.mark.parametrize(
    "url",
    ["http://example.com", "ftp://127.0.0.1", "https://user:hunter2SECRETpw@example.com",
     "https://example.com/?x=1", "https://exa mple.com", "example.com", "https://",
     "http://127.0.0.1:99999", "javascript:alert(1)"],
)
def test_set_invalid_base_url_is_78_and_not_stored(cli, cfg_file: Path, url: str) -> None:
    run = cli("config", "set", "base-url", url, expect=78)
    assert "base URL" in run.stderr
    assert "hunter2SECRETpw" not in run.stderr
    assert not cfg_file.exists()


def test_get_api_key_is_masked(cli, canary: str) -> None:
    run = cli("config", "get", "api-key")
    assert run.stdout == mask_key(canary) + "\n"


def test_get_api_key_without_a_key_is_78(cli, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    run = cli("config", "get", "api-key", expect=78)
    assert "set-key" in run.stderr


def test_unset_api_key_removes_it_from_the_profile(cli, cfg_file: Path, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    write_config(cfg_file, '[profiles.default]\napi_key = "ba_file_key_0123456"\n'
                           'base_url = "http://127.0.0.1:9"\n')
    cli("config", "unset", "api-key")
    assert read_config(cfg_file) == {"profiles": {"default": {"base_url": "http://127.0.0.1:9"}}}
    cli("config", "get", "api-key", expect=78)


def test_unknown_setting_name_is_usage_error(cli, cfg_file: Path) -> None:
    cli("config", "set", "colour", "red", expect=2)
    cli("config", "get", "api_token", expect=2)
    assert not cfg_file.exists()


# --------------------------------------------------------------------------- show / precedence


def test_show_masks_the_key_and_names_sources(cli, canary: str, cfg_file: Path) -> None:
    run = cli("config", "show")
    text = run.stdout
    assert mask_key(canary) in text
    assert "env" in text and "BROWSERACT_API_KEY" in text
    assert DEFAULT_URL in text and "default" in text
    assert str(cfg_file) in text and "does not exist" in text
    doc = show_json(cli)
    assert doc["api-key"] == {"value": mask_key(canary), "source": "env", "detail": "BROWSERACT_API_KEY"}
    assert doc["base-url"]["value"] == DEFAULT_URL and doc["base-url"]["source"] == "default"
    assert doc["profile"]["value"] == "default" and doc["profile"]["source"] == "default"
    assert doc["config_file"] == {"value": str(cfg_file), "exists": False}


def test_show_short_key_is_fully_masked(cli) -> None:
    run = cli("config", "show", env={"BROWSERACT_API_KEY": "ba_short7"})
    assert "ba_short7" not in run.stdout and "ba_s" not in run.stdout
    doc = show_json(cli, env={"BROWSERACT_API_KEY": "ba_short7"})
    assert set(doc["api-key"]["value"]) == {"*"}


def test_show_without_key(cli, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    doc = show_json(cli)
    assert doc["api-key"]["value"] is None and doc["api-key"]["source"] == "unset"
    assert "not set" in cli("config", "show").stdout


def test_precedence_flag_env_file_default(cli, cfg_file: Path, monkeypatch) -> None:
    assert show_json(cli)["base-url"]["source"] == "default"
    write_config(cfg_file, '[profiles.default]\nbase_url = "http://127.0.0.1:1001"\n'
                           'api_key = "ba_file_key_0123456"\n')
    doc = show_json(cli)
    assert doc["base-url"]["value"] == "http://127.0.0.1:1001" and doc["base-url"]["source"] == "file"
    assert doc["api-key"]["source"] == "env"  # env beats file for the key
    monkeypatch.setenv("BROWSERACT_BASE_URL", "http://127.0.0.1:1002")
    doc = show_json(cli)
    assert doc["base-url"]["value"] == "http://127.0.0.1:1002" and doc["base-url"]["source"] == "env"
    doc = show_json(cli, "--base-url", "http://127.0.0.1:1003")
    assert doc["base-url"]["value"] == "http://127.0.0.1:1003" and doc["base-url"]["source"] == "flag"
    assert cli("--base-url", "http://127.0.0.1:1003", "config", "get", "base-url").stdout == \
        "http://127.0.0.1:1003\n"
    # an empty environment variable counts as unset
    monkeypatch.setenv("BROWSERACT_BASE_URL", "")
    monkeypatch.setenv("BROWSERACT_API_KEY", "")
    doc = show_json(cli)
    assert doc["base-url"]["source"] == "file" and doc["api-key"]["source"] == "file"
    assert doc["api-key"]["value"] == mask_key("ba_file_key_0123456")


def test_key_precedence_end_to_end(cli, sim, cfg_file: Path, canary: str) -> None:
    write_config(cfg_file, f'[profiles.default]\napi_key = "{canary}"\nbase_url = "{sim.url}"\n')
    # env (wrong key) beats the file (right key)
    cli("status", "demo-forever", expect=77, env={"BROWSERACT_API_KEY": "ba_env_wrong_0123456"})
    # empty env: the file's key is used
    cli("status", "demo-forever", expect=14, env={"BROWSERACT_API_KEY": ""})
    assert [r.authorization for r in sim.requests] == ["Bearer ba_env_wrong_0123456", f"Bearer {canary}"]


PROFILES = (
    '[profiles.default]\nbase_url = "http://127.0.0.1:2001"\n\n'
    '[profiles.staging]\nbase_url = "http://127.0.0.1:2002"\napi_key = "ba_staging_key_0123"\n'
)


def test_profile_flag_and_env_select_the_table(cli, cfg_file: Path, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    write_config(cfg_file, PROFILES)
    doc = show_json(cli)
    assert doc["base-url"]["value"] == "http://127.0.0.1:2001" and doc["api-key"]["value"] is None
    doc = show_json(cli, "--profile", "staging")
    assert doc["profile"] == {"value": "staging", "source": "flag", "detail": "--profile"}
    assert doc["base-url"]["value"] == "http://127.0.0.1:2002"
    assert doc["api-key"]["value"] == mask_key("ba_staging_key_0123")
    assert "profiles.staging" in doc["base-url"]["detail"]
    monkeypatch.setenv("BROWSERACT_PROFILE", "staging")
    doc = show_json(cli)
    assert doc["profile"]["source"] == "env" and doc["base-url"]["value"] == "http://127.0.0.1:2002"
    doc = show_json(cli, "--profile", "default")  # flag beats env
    assert doc["profile"]["source"] == "flag" and doc["base-url"]["value"] == "http://127.0.0.1:2001"
    monkeypatch.setenv("BROWSERACT_PROFILE", "")  # empty counts as unset
    assert show_json(cli)["profile"]["source"] == "default"
    # an unknown profile is empty, not an error
    doc = show_json(cli, "--profile", "nope")
    assert doc["base-url"]["source"] == "default"


def test_profile_is_used_by_status(cli, make_sim, cfg_file: Path, canary: str, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    prod = make_sim({"t": [{"status": "finished"}]})
    staging = make_sim({"t": [{"status": "failed"}]})
    write_config(cfg_file, f'[profiles.default]\napi_key = "{canary}"\nbase_url = "{prod.url}"\n'
                           f'[profiles.staging]\napi_key = "{canary}"\nbase_url = "{staging.url}"\n')
    cli("status", "t", expect=0)
    cli("--profile", "staging", "status", "t", expect=10)
    cli("status", "t", expect=10, env={"BROWSERACT_PROFILE": "staging"})
    assert prod.request_count() == 1 and staging.request_count() == 2


def test_set_with_profile_env_writes_that_profile(cli, cfg_file: Path) -> None:
    cli("config", "set", "base-url", "https://staging.example.com", env={"BROWSERACT_PROFILE": "staging"})
    assert read_config(cfg_file) == {"profiles": {"staging": {"base_url": "https://staging.example.com"}}}


# --------------------------------------------------------------------------- path


def test_path_prints_the_path_even_when_missing(cli, cfg_file: Path) -> None:
    run = cli("config", "path")
    assert run.stdout == f"{cfg_file}\n"
    assert run.stderr == ""
    assert not cfg_file.exists() and not cfg_file.parent.exists()  # nothing created


def test_path_follows_browseract_config_dir(cli, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    run = cli("config", "path", env={"BROWSERACT_CONFIG_DIR": str(other)})
    assert run.stdout == f"{other / 'config.toml'}\n"


def test_path_works_with_a_corrupt_file(cli, cfg_file: Path) -> None:
    write_config(cfg_file, "[[[ not toml")
    assert cli("config", "path").stdout == f"{cfg_file}\n"


# --------------------------------------------------------------------------- broken files


CORRUPT = [
    f'[profiles.default]\napi_key = "{PLANTED}"\nbase_url = [[[\n',
    f'api_key = "{PLANTED}\n',
    f'[profiles.default]\napi_key = "{PLANTED}"\napi_key = "{PLANTED}"\n',
    f'profiles = "{PLANTED}"\n',
    f'[profiles.default]\napi_key = ["{PLANTED}"]\n',
]


@pytest.mark.parametrize("content", CORRUPT, ids=["syntax", "unterminated", "duplicate", "wrong-type",
                                                  "key-list"])
@pytest.mark.parametrize("command", [("status", "t"), ("config", "show"), ("config", "get", "base-url"),
                                     ("config", "set", "base-url", "https://x.example.com"),
                                     ("config", "set-key"), ("config", "doctor")])
def test_corrupt_config_is_78_naming_path_never_content(cli, sim, cfg_file: Path, content: str,
                                                         command: tuple[str, ...]) -> None:
    write_config(cfg_file, content)
    run = cli(*command, expect=78, base_url=sim.url, input="ba_new_key_0123456789\n")
    assert str(cfg_file) in run.stderr + run.stdout
    assert "PLANTED" not in run.stdout + run.stderr
    assert cfg_file.read_text() == content  # never rewritten
    assert sim.requests == []


def test_invalid_utf8_config_is_78(cli, cfg_file: Path) -> None:
    write_config(cfg_file, "")
    cfg_file.write_bytes(b'[profiles.default]\napi_key = "' + PLANTED.encode() + b'\xff"\n')
    run = cli("config", "show", expect=78)
    assert "PLANTED" not in run.stdout + run.stderr and str(cfg_file) in run.stderr


@posix_only
def test_symlinked_config_is_refused(cli, sim, cfg_file: Path, tmp_path: Path, canary: str) -> None:
    target = tmp_path / "target.toml"
    target.write_text(f'[profiles.default]\nbase_url = "{sim.url}"\n')
    os.chmod(target, 0o600)
    cfg_file.parent.mkdir(mode=0o700)
    cfg_file.symlink_to(target)
    for command in (("status", "demo-forever"), ("config", "show"), ("config", "set-key")):
        run = cli(*command, expect=78, input=canary)
        assert "symbolic link" in run.stderr and str(cfg_file) in run.stderr
    assert cfg_file.is_symlink()
    assert target.read_text() == f'[profiles.default]\nbase_url = "{sim.url}"\n'
    assert sim.requests == []


def test_config_path_that_is_a_directory_is_refused(cli, cfg_file: Path) -> None:
    cfg_file.mkdir(parents=True)
    run = cli("config", "show", expect=78)
    assert "directory" in run.stderr


@posix_only
def test_group_readable_config_warns_with_chmod_fix(cli, sim, cfg_file: Path, canary: str,
                                                    monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    write_config(cfg_file, f'[profiles.default]\napi_key = "{canary}"\n', mode=0o644)
    run = cli("status", "-q", "demo-forever", expect=14, base_url=sim.url)
    assert run.stdout == "created\n"  # the warning is not data
    [warning] = run.stderr.splitlines()
    assert str(cfg_file) in warning and "chmod 600" in warning
    run = cli("config", "doctor", base_url=sim.url)
    assert "chmod 600" in run.stdout + run.stderr
    assert mode_of(cfg_file) == 0o644  # never chmod-ed behind the user's back


def test_private_config_gives_no_warning(cli, sim, cfg_file: Path, canary: str, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    write_config(cfg_file, f'[profiles.default]\napi_key = "{canary}"\n')
    run = cli("status", "demo-forever", expect=14, base_url=sim.url)
    assert run.stderr == ""


# --------------------------------------------------------------------------- doctor


def test_doctor_all_ok(cli, sim) -> None:
    run = cli("config", "doctor", base_url=sim.url)
    assert "accepted" in run.stdout
    assert "FAIL" not in run.stdout
    [req] = sim.requests
    assert req.task_id  # a probe for a task that cannot exist
    assert req.task_id not in sim.task_ids


def test_doctor_with_file_key(cli, sim, cfg_file: Path, canary: str, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    write_config(cfg_file, f'[profiles.default]\napi_key = "{canary}"\nbase_url = "{sim.url}"\n')
    run = cli("config", "doctor")
    assert "accepted" in run.stdout and "file" in run.stdout and mask_key(canary) in run.stdout


def test_doctor_rejected_key_is_77(cli, sim) -> None:
    run = cli("config", "doctor", expect=77, base_url=sim.url,
              env={"BROWSERACT_API_KEY": "ba_rejected_0123456789"})
    assert "FAIL" in run.stdout and "401" in run.stdout + run.stderr
    assert "ba_rejected_0123456789" not in run.stdout + run.stderr
    assert len(sim.requests) == 1


def test_doctor_no_key_is_78_and_sends_nothing(cli, sim, monkeypatch) -> None:
    monkeypatch.delenv("BROWSERACT_API_KEY")
    run = cli("config", "doctor", expect=78, base_url=sim.url)
    assert "set-key" in run.stdout + run.stderr
    assert sim.requests == []


def test_doctor_malformed_key_is_78_without_echo(cli, sim) -> None:
    run = cli("config", "doctor", expect=78, base_url=sim.url,
              env={"BROWSERACT_API_KEY": "ba_SECRETpart1 SECRETpart2"})
    assert "SECRETpart" not in run.stdout + run.stderr
    assert sim.requests == []


def test_doctor_unreachable_is_69(cli) -> None:
    port = closed_port()
    run = cli("config", "doctor", expect=69, base_url=f"http://127.0.0.1:{port}")
    assert "refused" in run.stdout + run.stderr


def test_doctor_refused_base_url_is_78(cli, no_network) -> None:
    run = cli("config", "doctor", expect=78, base_url="http://example.com")
    assert "base URL" in run.stdout + run.stderr
    assert no_network == []


def test_doctor_wrong_api_path_is_65(cli, sim) -> None:
    # a base URL with a path prefix that answers 404: the API is not where the URL points
    run = cli("config", "doctor", expect=65, base_url=sim.url + "/nope")
    assert "FAIL" in run.stdout and "404" in run.stdout
    assert "--base-url" in run.stdout + run.stderr
