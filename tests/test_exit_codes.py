"""Exit codes: the contract's table, its severity order, and `browseract --help`.

Contract: "Exit codes" (the table, the order for several tasks, "printed by browseract --help"),
with the additions of lifecycle-contract.md (20, 74 and the new severity order).
"""

from __future__ import annotations

import itertools
import re

import pytest

from browseract_cli.exit_codes import SEVERITY, ExitCode, worst

# The contract's table, with a word of each meaning that the help line must carry.
CONTRACT_TABLE = {
    0: "finished",
    1: "internal",
    2: "usage",
    10: "failed",
    11: "canceled",
    12: "paused",
    13: "unknown",
    14: "progress",
    20: "files",
    65: "invalid",
    66: "not exist",
    74: "i/o",
    69: "reached",
    75: "rate limited",
    76: "badly",
    77: "rejected",
    78: "configuration",
    124: "timeout",
    130: "interrupted",
    141: "broken pipe",
    143: "terminated",
}
# lifecycle-contract.md: "Severity order with several tasks, most severe first:"
CONTRACT_ORDER = (78, 77, 76, 74, 69, 75, 66, 65, 124, 20, 10, 13, 11, 12, 14, 0)


def test_enum_has_exactly_the_contract_codes() -> None:
    assert sorted(int(c) for c in ExitCode) == sorted(CONTRACT_TABLE)


def test_severity_tuple_is_the_contract_order() -> None:
    assert tuple(int(c) for c in SEVERITY) == CONTRACT_ORDER


@pytest.mark.parametrize(("i", "j"), list(itertools.combinations(range(len(CONTRACT_ORDER)), 2)))
def test_worst_prefers_the_earlier_code_in_either_order(i: int, j: int) -> None:
    more, less = CONTRACT_ORDER[i], CONTRACT_ORDER[j]
    assert worst([more, less]) == more
    assert worst([less, more]) == more
    assert worst([less, less, more, less]) == more


def test_worst_of_the_whole_order_shuffled() -> None:
    for k in range(len(CONTRACT_ORDER)):
        tail = list(CONTRACT_ORDER[k:])
        for codes in (tail, tail[::-1], tail[1:] + tail[:1]):
            assert worst(codes) == CONTRACT_ORDER[k]


def test_worst_of_nothing_or_only_successes_is_zero() -> None:
    assert worst([]) == 0
    assert worst([0, 0, 0]) == 0
    assert worst(iter([0, 14])) == 14  # any iterable


def test_worst_returns_an_exit_code_usable_by_sys_exit() -> None:
    result = worst([10, 66])
    assert isinstance(result, ExitCode) and int(result) == 66


def test_help_lists_every_exit_code_with_its_meaning(cli) -> None:
    run = cli("--help")
    assert run.stderr == ""
    for code, word in CONTRACT_TABLE.items():
        lines = [line for line in run.stdout.splitlines() if re.match(rf"^\s*{code}\s+\S", line)]
        assert len(lines) == 1, f"exit code {code} is not listed exactly once in --help"
        assert word in lines[0].lower(), f"--help line for {code} does not say {word!r}: {lines[0]!r}"


def test_help_exit_code_table_is_not_rewrapped_in_a_narrow_terminal(cli) -> None:
    run = cli("--help", env={"COLUMNS": "20"})
    for code, word in CONTRACT_TABLE.items():
        assert any(re.match(rf"^\s*{code}\s+\S", line) and word in line.lower()
                   for line in run.stdout.splitlines()), code
    assert "\x1b" not in run.stdout


def test_help_lists_codes_in_ascending_order(cli) -> None:
    run = cli("--help")
    listed = [int(m.group(1)) for line in run.stdout.splitlines()
              if (m := re.match(r"^\s*(\d{1,3})\s{2,}\S", line))]
    assert listed == sorted(CONTRACT_TABLE)
