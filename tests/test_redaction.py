"""Issue 13, findings 1, 2 and 20: a server that echoes the key, disguised or in pieces.

Every server string is sanitised and then redacted (sanitize.clean) before it is shown, so a key
with a NUL, ESC or bidi override inside, a key cut short, or a key split over msg and traceId is
masked in every mode: the stderr line, the --json record and the -q word.
"""

from __future__ import annotations

import json

import pytest

from browseract_cli import sanitize

MIN_RUN = 12


def key_runs(text: str, key: str) -> list[str]:
    """Every run of MIN_RUN consecutive characters of the key that shows up in text."""
    return sorted({key[i:i + MIN_RUN] for i in range(len(key) - MIN_RUN + 1) if key[i:i + MIN_RUN] in text})


def one_task(make_sim, steps):  # type: ignore[no-untyped-def]
    return make_sim({"echo": steps})


def envelope(msg: str, trace_id: str | None = "tr-1", code: int = 99001) -> list[dict]:
    body = {"code": code, "msg": msg, "data": None}
    if trace_id is not None:
        body["traceId"] = trace_id
    return [{"body": json.dumps(body), "http": 400, "content_type": "application/json"}]


def status_body(status: str) -> list[dict]:
    return [{"body": json.dumps({"status": status}), "content_type": "application/json"}]


def insert(key: str, char: str, at: int) -> str:
    return key[:at] + char + key[at:]


DISGUISES = {
    "nul": "\x00",
    "esc": "\x1b",
    "rlo": "\u202e",
    "alm": "\u061c",
    "zwsp": "\u200b",  # invisible on a terminal, though not a control character
}


# --------------------------------------------------------------------------- finding 1


@pytest.mark.parametrize("char", DISGUISES.values(), ids=DISGUISES.keys())
@pytest.mark.parametrize("mode", ["human", "--json"])
def test_key_echoed_with_a_hidden_character_in_an_error_is_masked(cli, make_sim, canary, char, mode) -> None:
    sim = one_task(make_sim, envelope(f"Bearer {insert(canary, char, 5)} is not valid",
                                      trace_id=insert(canary, char, 20)))
    args = ["status", "echo"] + ([mode] if mode != "human" else [])
    run = cli(*args, expect=65, base_url=sim.url)
    shown = run.stdout + run.stderr
    assert key_runs(shown, canary) == []
    assert "is not valid" in shown  # the rest of the message is still there
    if mode == "--json":
        error = json.loads(run.stdout)["error"]
        assert key_runs(error["msg"] + error["trace_id"], canary) == []


@pytest.mark.parametrize("char", DISGUISES.values(), ids=DISGUISES.keys())
@pytest.mark.parametrize("mode", ["human", "--json", "-q"])
def test_key_echoed_as_the_status_with_a_hidden_character_is_masked(cli, make_sim, canary, char, mode) -> None:
    sim = one_task(make_sim, status_body(insert(canary, char, 9)))
    args = ["status", "echo"] + ([mode] if mode != "human" else [])
    run = cli(*args, expect=13, base_url=sim.url)
    assert key_runs(run.stdout + run.stderr, canary) == []
    assert run.stdout.strip()  # something is shown for the task, just not the key


def test_watch_json_masks_a_disguised_key_in_status_events(cli, make_sim, canary, clock) -> None:
    sim = make_sim({"echo": [{"body": json.dumps({"status": insert(canary, "\x00", 3)}),
                              "content_type": "application/json", "polls": 1},
                             {"status": "finished"}]}, clock=clock)
    run = cli("watch", "--json", "--interval", "1", "echo", base_url=sim.url, clock=clock)
    assert key_runs(run.stdout + run.stderr, canary) == []
    assert [json.loads(line)["event"] for line in run.lines][-1] == "result"


# --------------------------------------------------------------------------- finding 2


SPLITS = {
    "cut-short": lambda k: (f"token {k[:-1]} refused", "tr-1"),
    "cut-at-start": lambda k: (f"token {k[1:]} refused", "tr-1"),
    "middle-only": lambda k: (f"saw {k[10:23]}!", "tr-1"),
    "halves": lambda k: (f"token {k[:len(k) // 2]}", k[len(k) // 2:]),
    "short-pieces-across-fields": lambda k: (f"token {k[:8]}", k[8:16]),
    "reversed-pieces-across-fields": lambda k: (k[8:16] + " was refused", f"x{k[:8]}"),
}


@pytest.mark.parametrize("split", SPLITS.values(), ids=SPLITS.keys())
@pytest.mark.parametrize("mode", ["human", "--json"])
def test_any_12_character_run_of_the_key_is_masked_even_across_msg_and_trace_id(
        cli, make_sim, canary, split, mode) -> None:
    msg, trace_id = split(canary)
    sim = one_task(make_sim, envelope(msg, trace_id))
    args = ["status", "echo"] + ([mode] if mode != "human" else [])
    run = cli(*args, expect=65, base_url=sim.url)
    if mode == "--json":
        error = json.loads(run.stdout)["error"]
        for joined in (error["msg"] + error["trace_id"], error["trace_id"] + error["msg"]):
            assert key_runs(joined, canary) == []
    else:
        [line, _hint] = run.stderr.splitlines()
        shown_msg = line.partition("request rejected: ")[2].rpartition(" (HTTP 400")[0]
        shown_trace = line.rpartition("traceId ")[2].rstrip(")")
        assert shown_msg and shown_trace
        for joined in (line, shown_msg + shown_trace, shown_trace + shown_msg):
            assert key_runs(joined, canary) == []


def test_text_that_only_shares_short_pieces_with_the_key_is_left_alone(cli, make_sim, canary) -> None:
    piece = canary[:11]  # 11 characters: below the run length
    sim = one_task(make_sim, envelope(f"{piece} and {piece}", "tr-abc"))
    run = cli("status", "--json", "echo", expect=65, base_url=sim.url)
    error = json.loads(run.stdout)["error"]
    assert error["msg"] == f"{piece} and {piece}"
    assert error["trace_id"] == "tr-abc"


def test_redaction_happens_before_the_length_cap() -> None:
    key = "ba_unit_" + "k" * 30 + "_end"
    sanitize.register_secret(key)
    text = "x" * 190 + key  # the cap (200) would otherwise cut the key after 9 characters
    shown = sanitize.clean(text, 200)
    assert key_runs(shown, key) == [] and key[:9] not in shown[190:]
    assert len(shown) <= 200


def test_a_registered_key_shorter_than_the_run_length_is_masked_whole() -> None:
    sanitize.register_secret("ba_shrt7x")
    assert "ba_shrt7x" not in sanitize.clean("key ba_sh\x00rt7x rejected")
    assert sanitize.clean("ba_shr") == "ba_shr"


# --------------------------------------------------------------------------- finding 20

# Unicode's Bidi_Control property (PropList.txt): ALM, LRM, RLM, the embeddings and overrides
# (LRE, RLE, PDF, LRO, RLO) and the isolates (LRI, RLI, FSI, PDI).
BIDI_CONTROLS = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]


@pytest.mark.parametrize("cp", BIDI_CONTROLS, ids=[f"U+{cp:04X}" for cp in BIDI_CONTROLS])
def test_every_bidi_control_is_dropped_from_server_text(cli, make_sim, cp: int) -> None:
    sim = one_task(make_sim, status_body(f"runn{chr(cp)}ing"))
    run = cli("status", "-q", "echo", expect=13, base_url=sim.url)  # not the word "running"
    assert run.stdout == "running\n"


def test_clean_drops_the_whole_bidi_control_set() -> None:
    text = "a" + "".join(chr(cp) for cp in BIDI_CONTROLS) + "b"
    assert sanitize.clean(text) == "ab"
