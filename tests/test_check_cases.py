"""`cognix check` on the shared cases (tests/data/cases), as each EXPECTED.md says."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import copy_case


def test_misspelled_build_reports_key_and_missing_version(tmp_path: Path, cognix) -> None:
    project = copy_case("01-misspelled-key-and-float-version", tmp_path)

    result = cognix("check", "--project", str(project))

    assert result.code == 2
    assert "Traceback" not in result.stderr
    cog_yaml = project / "cog.yaml"
    assert result.stderr.splitlines() == [
        f"error: {cog_yaml}:1:1: unknown key 'buld'",
        "  hint: did you mean 'build'?",
        f"error: {cog_yaml}:1:1: missing required key 'build.python_version'",
        '  hint: add a build section with the Python version: build: {python_version: "3.11"}',
    ]


def test_corrected_build_reads_python_version_as_text(tmp_path: Path, cognix) -> None:
    project = copy_case("01-misspelled-key-and-float-version", tmp_path)
    cog_yaml = project / "cog.yaml"
    cog_yaml.write_text(cog_yaml.read_text().replace("buld:", "build:"))

    result = cognix("check", "--project", str(project), "--json")

    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["config"]["build"]["python_version"] == "3.10"
    assert report["python_requirements"] == ["numpy==1.26.4"]


def test_comment_only_lists_are_empty(tmp_path: Path, cognix) -> None:
    project = copy_case("02-comment-only-lists", tmp_path)

    result = cognix("check", "--project", str(project), "--json")

    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["config"]["build"]["system_packages"] == []
    assert report["config"]["build"]["python_packages"] == []
    assert report["python_requirements"] == []
    assert report["system_packages"] == []


def test_concurrency_scalar_shows_mapping_form(tmp_path: Path, cognix) -> None:
    project = copy_case("03-concurrency-scalar", tmp_path)

    result = cognix("check", "--project", str(project))

    assert result.code == 2
    assert result.stderr.splitlines() == [
        f"error: {project / 'cog.yaml'}:4:14: 'concurrency' must be a mapping",
        "  hint: write it as a mapping: concurrency: {max: 8}",
    ]


def test_secret_mount_is_refused_with_its_line(tmp_path: Path, cognix) -> None:
    project = copy_case("05-run-with-secret-mount", tmp_path)

    result = cognix("check", "--project", str(project))

    assert result.code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {project / 'cog.yaml'}:4:")
    assert "secret" in first
    assert "index" in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_mount_alone_leaves_mkdir_as_a_filesystem_step(tmp_path: Path, cognix) -> None:
    project = copy_case("05-run-with-secret-mount", tmp_path)
    (project / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\n  run:\n    - command: mkdir -p /models\n'
        'predict: "predict.py:Predictor"\n'
    )

    result = cognix("check", "--project", str(project), "--json")

    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["run_steps"]["shell"] == ["mkdir -p /models"]


def test_run_reading_project_files_is_refused(tmp_path: Path, cognix) -> None:
    project = copy_case("10-run-reads-project-files", tmp_path)

    result = cognix("check", "--project", str(project))

    assert result.code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: {project / 'cog.yaml'}:4:")
    assert "python scripts/prepare.py" in lines[0]
    assert "setup()" in result.stderr
    assert "sha256" in result.stderr or "download" in result.stderr


def test_predictor_in_subfolder_checks_clean(tmp_path: Path, cognix) -> None:
    project = copy_case("08-predictor-in-subfolder", tmp_path)

    result = cognix("check", "--project", str(project), "--json")

    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["predictor"] == "model/predict.py:Predictor"


def test_check_says_what_each_run_command_becomes(tmp_path: Path, cognix) -> None:
    project = copy_case("05-run-with-secret-mount", tmp_path)
    (project / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\n  run:\n'
        "    - apt-get update && apt-get install -y ffmpeg\n"
        "    - mkdir -p /models\n"
        'predict: "predict.py:Predictor"\n'
    )

    result = cognix("check", "--project", str(project))

    assert result.code == 0, result.stderr
    assert result.stdout.splitlines()[-4:] == [
        "  run commands become:",
        "    line 4: system package ffmpeg",
        "    line 4: dropped: `apt-get update` is not needed: system packages come from the"
        " pinned nixpkgs, not apt",
        "    line 5: filesystem step mkdir -p /models",
    ]


def test_check_says_what_lock_cannot_do_yet(tmp_path: Path, cognix) -> None:
    project = copy_case("02-comment-only-lists", tmp_path)
    with (project / "cog.yaml").open("a") as cog_yaml:
        cog_yaml.write('model: "r8.im/someone/model"\n')

    result = cognix("check", "--project", str(project))

    assert result.code == 0, result.stderr
    assert "  cognix lock cannot lock Cog managed weights (weights, model) yet" in result.stdout
    checked = json.loads(cognix("check", "--project", str(project), "--json").stdout)
    assert checked["unsupported"] == ["Cog managed weights (weights, model)"]


def test_empty_deprecated_list_is_not_warned_about(tmp_path: Path, cognix) -> None:
    project = copy_case("02-comment-only-lists", tmp_path)

    result = cognix("check", "--project", str(project))

    assert result.code == 0
    assert result.stderr == ""
