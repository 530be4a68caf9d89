"""The command line itself: version, init, usage errors, and the project lookup."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import pytest

from cognix import __version__
from cognix.__main__ import main as entry_point

from conftest import REPO, copy_case


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


def _group_members(group: int) -> list[int]:
    """Return the pids of the processes of process group `group`."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group:
                members.append(int(entry.name))
    return members


@pytest.mark.network
@pytest.mark.parametrize(("signal_number", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_during_lock_stops_uv_too(tmp_path: Path, signal_number: int, code: int) -> None:
    from cognix import external

    project = copy_case("06-requirement-markers", tmp_path)
    log_file = tmp_path / "lock.log"
    command = [sys.executable, "-m", "cognix", "lock", "--project", str(project)]
    process = external.start(command, env={"PYTHONPATH": str(REPO)}, log_file=log_file)
    try:
        deadline = time.monotonic() + 60
        # Wait until cognix has started uv: the signal must reach it mid-resolution.
        while len(_group_members(process.pid)) < 2:
            assert process.poll() is None, log_file.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal_number)
        assert process.wait(timeout=30) == code
    finally:
        external.stop(process)

    name = signal.Signals(signal_number).name
    assert log_file.read_text().splitlines()[-1] == f"error: interrupted by {name}"
    assert _group_members(process.pid) == []
    assert not (project / "pylock.toml").exists()
