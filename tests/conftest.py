"""Shared fixtures: the shared cases and corpus, and a way to run the cognix CLI in-process."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from cognix.cli import main

REPO = Path(__file__).resolve().parent.parent
# Copies of the project's shared cases and real-world cog.yaml corpus, so CI has them.
CASES = REPO / "tests" / "data" / "cases"
CORPUS = REPO / "tests" / "data" / "corpus"
EXAMPLES = REPO / "examples"


@dataclass(frozen=True)
class CliResult:
    """The exit code and the two output streams of one cognix run."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cognix(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Return a function that runs `cognix ARGS…` in-process and returns a `CliResult`."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["cognix", *args])
        try:
            main()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def copy_case(name: str, destination: Path) -> Path:
    """Copy shared case `name` into `destination` and return the copy's folder."""
    target = destination / name
    shutil.copytree(CASES / name, target)
    return target
