"""Installed dependencies meet the floors that exclude versions with known problems."""

from __future__ import annotations

import re
from importlib.metadata import version

import pytest

FLOORS = {
    "requests": (2, 32, 4),  # CVE-2024-47081 (.netrc leak), CVE-2024-35195, CVE-2023-32681
    "urllib3": (2, 7, 0),  # Retry-After cap (2.6.3), decompression fixes, proxy header stripping
    "typer": (0, 26, 0),  # vendors Click; no locals in pretty tracebacks by default
    "platformdirs": (4, 6, 0),
}


def _parse(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_installed_version_is_at_least_the_floor(name: str) -> None:
    assert _parse(version(name)) >= FLOORS[name], f"{name} {version(name)} is below the floor"


def test_typer_stays_below_0_29_whose_pydantic_layer_slows_every_start() -> None:
    assert _parse(version("typer")) < (0, 29, 0)


def test_pyproject_declares_the_same_floors() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    deps = " ".join(project["project"]["dependencies"])
    for name, floor in FLOORS.items():
        assert f"{name}>={'.'.join(map(str, floor))}" in deps
