"""The package builds, passes `twine check`, holds what it should, and runs from a fresh venv.

Builds the sdist and the wheel with `build` (isolated, as a packager would) from a clean copy
of the tree, then installs the wheel into a new virtual environment and runs `browseract
--version` and `browseract demo` there, far from the source tree. About 25 s, most of it the
demo; deselect with `-m 'not slow and not packaging'`. CI runs it.
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(300)]

# What a clean checkout holds: the tree without local state (venvs, caches, build output).
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "__pycache__", "*.pyc", "build", "dist", "*.egg-info",
    ".hypothesis", ".pytest_cache", ".ruff_cache", "node_modules", ".tools")


def _run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("timeout", 240)
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, (
        f"{' '.join(map(str, args))} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_script(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / (f"{name}.exe" if os.name == "nt" else name)


def package_sources() -> list[str]:
    """Every file of the package in the tree, as a POSIX path relative to the root."""
    return sorted(
        p.relative_to(ROOT).as_posix() for p in (ROOT / "browseract_cli").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built from a clean copy of the tree."""
    work = tmp_path_factory.mktemp("packaging")
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=_NOT_SOURCE)
    out = work / "dist"
    _run([sys.executable, "-m", "build", "--outdir", out, src], cwd=work)
    sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return {"sdist": sdists[0], "wheel": wheels[0], "work": work}


def test_twine_check_passes_on_both(dist: dict[str, Path]) -> None:
    done = _run([sys.executable, "-m", "twine", "check", "--strict", dist["sdist"], dist["wheel"]])
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_wheel_holds_every_package_file_and_the_licence_and_nothing_else(dist: dict[str, Path]) -> None:
    from browseract_cli import __version__

    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = whl.namelist()
        info = f"browseract-{__version__}.dist-info"
        metadata = email.parser.Parser().parsestr(whl.read(f"{info}/METADATA").decode("utf-8"))
        entry_points = whl.read(f"{info}/entry_points.txt").decode("utf-8")
        licence = whl.read(f"{info}/licenses/LICENSE").decode("utf-8")
    # Every file of the package and of each subpackage, automatic discovery included.
    missing = sorted(set(package_sources()) - set(names))
    assert missing == [], f"not in the wheel: {missing}"
    subpackages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "browseract_cli").rglob("__init__.py")}
    assert {"browseract_cli", "browseract_cli/commands"} <= subpackages
    assert all(f"{pkg}/__init__.py" in names for pkg in subpackages)
    # Nothing else: no tests, caches, completions source, or files of the tree's root.
    stray = [n for n in names if not n.startswith(("browseract_cli/", f"{info}/"))]
    assert stray == []
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if PurePosixPath(n).name.startswith(("test_", "conftest"))]
    # The licence and the metadata packagers and PyPI read.
    assert licence == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License")
    assert metadata["Name"] == "browseract" and metadata["Version"] == __version__
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "browseract = browseract_cli.__main__:main" in entry_points
    requires = metadata.get_all("Requires-Dist") or []
    assert any(r.startswith("typer") and "<0.29" in r for r in requires), requires
    assert not [r for r in requires if "extra ==" not in r and r.split(">")[0].split("<")[0] in
                ("pytest", "ruff", "build", "twine", "check-jsonschema")]


def test_sdist_ships_completions_tests_and_licence_for_packagers(dist: dict[str, Path]) -> None:
    with tarfile.open(dist["sdist"]) as tar:
        top = tar.getnames()[0].split("/")[0]
        names = {n[len(top) + 1:] for n in tar.getnames() if n.startswith(top + "/")}

        def text(name: str) -> str:
            member = tar.extractfile(f"{top}/{name}")
            assert member is not None, name
            return member.read().decode("utf-8")

        completions = sorted(p.name for p in (ROOT / "completions").iterdir()
                             if p.is_file() and p.suffix != ".pyc")
        for name in completions:
            assert text(f"completions/{name}") == (ROOT / "completions" / name).read_text(encoding="utf-8")
        assert text("LICENSE") == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert {"completions/browseract.bash", "completions/_browseract", "completions/browseract.fish"} <= names
    assert {"tests/conftest.py", "README.md", "CHANGELOG.md", "pyproject.toml"} <= names
    assert set(package_sources()) <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith(".venv")]


def test_the_wheel_installs_into_a_fresh_venv_and_runs(dist: dict[str, Path], tmp_path: Path) -> None:
    from browseract_cli import __version__

    venv = dist["work"] / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    # The running venv's pip installs into the new one; dependencies come from the index as a
    # user's would (or pip's cache).
    _run([sys.executable, "-m", "pip", "--python", venv_python(venv), "install", "--quiet",
          "--disable-pip-version-check", "--no-input", dist["wheel"]])
    _run([sys.executable, "-m", "pip", "--python", venv_python(venv), "check"])
    # Far from the source tree, with no key, no config and nothing of this venv on the path.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BROWSERACT_", "PYTHON", "VIRTUAL_ENV"))}
    env["BROWSERACT_CONFIG_DIR"] = str(tmp_path / "config")
    demo = subprocess.Popen([venv_script(venv, "browseract"), "demo"], cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        version = _run([venv_script(venv, "browseract"), "--version"], cwd=tmp_path, env=env)
        assert version.stdout == f"browseract {__version__}\n"
        where = _run([venv_python(venv), "-c", "import browseract_cli; print(browseract_cli.__file__)"],
                     cwd=tmp_path, env=env)
        assert Path(where.stdout.strip()).resolve().is_relative_to(venv.resolve())
        out, err = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, f"demo exited {demo.returncode}\n{out}\n{err}"
    assert "demo-finished" in out and "Traceback" not in err
