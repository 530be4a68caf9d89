"""The command line itself: version, init, usage errors, and the project lookup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cognix import __version__
from cognix.__main__ import main as entry_point


def test_version_answers_without_the_cli_framework(capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.argv", ["cognix", "--version"])
    with pytest.raises(SystemExit) as done:
        entry_point()
    assert done.value.code == 0
    assert capsys.readouterr().out == f"cognix {__version__}\n"


def test_version_through_the_cli_matches(cognix) -> None:
    result = cognix("--version", "-v")
    assert (result.code, result.stdout) == (0, f"cognix {__version__}\n")


def test_init_writes_a_project_that_checks_clean(tmp_path: Path, cognix) -> None:
    result = cognix("init", str(tmp_path / "new"))

    assert result.code == 0, result.stderr
    assert sorted(path.name for path in (tmp_path / "new").iterdir()) == [
        "cog.yaml",
        "predict.py",
        "requirements.txt",
    ]
    checked = cognix("check", "--project", str(tmp_path / "new"), "--json")
    assert checked.code == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["config"]["build"]["python_version"] == "3.11"
    assert report["predictor"] == "predict.py:Predictor"


def test_init_never_overwrites(tmp_path: Path, cognix) -> None:
    (tmp_path / "cog.yaml").write_text("build: {}\n")

    result = cognix("init", str(tmp_path))

    assert result.code == 2
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'cog.yaml'} already exists",
        "  hint: run cognix init in an empty folder",
    ]
    assert (tmp_path / "cog.yaml").read_text() == "build: {}\n"


def test_no_project_found_exits_2(tmp_path: Path, cognix, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    result = cognix("check")

    assert result.code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: no cog.yaml found in {tmp_path} or any folder above it"
    )


def test_explicit_project_must_hold_cog_yaml(tmp_path: Path, cognix) -> None:
    cognix("init", str(tmp_path))
    (tmp_path / "nested").mkdir()

    result = cognix("check", "--project", str(tmp_path / "nested"))

    assert result.code == 2
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'nested'} holds no cog.yaml",
        "  hint: --project names the folder that holds cog.yaml; leave it out to search upwards",
    ]


def test_explicit_project_must_exist(tmp_path: Path, cognix) -> None:
    result = cognix("generate", "--project", str(tmp_path / "missing"))

    assert result.code == 2
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'missing'} is not a folder",
        "  hint: --project names the folder that holds cog.yaml; leave it out to search upwards",
    ]


def test_project_is_found_by_walking_up(tmp_path: Path, cognix, monkeypatch) -> None:
    cognix("init", str(tmp_path))
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")

    result = cognix("check")

    assert result.code == 0, result.stderr
    assert result.stdout.startswith("cog.yaml is valid\n")


def test_unknown_flag_is_a_usage_error(cognix) -> None:
    result = cognix("check", "--bogus")
    assert result.code == 2
    assert "No such option: --bogus" in result.stderr


def test_predict_without_local_checks_the_inputs_first(
    tmp_path: Path, cognix, monkeypatch: pytest.MonkeyPatch
) -> None:
    cognix("init", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))

    result = cognix("predict", "--project", str(tmp_path), "-i", "nme=x")

    assert result.code == 2
    assert result.stderr.splitlines()[1:] == [
        "error: unknown input 'nme'",
        "  hint: did you mean 'name'? the inputs are name",
    ]
