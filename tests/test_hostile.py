"""Hostile input found by review: every case ends in a located error, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MINIMAL = 'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n'
PREDICTOR = "class Predictor:\n    def predict(self) -> str:\n        return ''\n"


def project(root: Path, cog_yaml: str = MINIMAL, **files: str) -> Path:
    """Write a small project into `root`."""
    (root / "cog.yaml").write_text(cog_yaml)
    (root / "predict.py").write_text(PREDICTOR)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def with_requirements(line: str) -> str:
    return MINIMAL.replace("build:\n", "build:\n  python_requirements: r.txt\n") + f"#{line}\n"


def test_requirements_including_a_device_is_refused(tmp_path: Path, cognix) -> None:
    root = project(tmp_path, with_requirements(""), **{"r.txt": "-r /dev/zero\n"})

    result = cognix("check", "--project", str(root))

    assert result.code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: {root / 'r.txt'}:1:4: requirements file /dev/zero is outside the project"
        " folder, where Cog cannot see it"
    )


def test_requirements_outside_the_project_are_not_echoed(tmp_path: Path, cognix) -> None:
    (tmp_path / "secret.env").write_text("AWS_SECRET=hunter2\n")
    root = tmp_path / "proj"
    root.mkdir()
    project(root, with_requirements(""), **{"r.txt": "-r ../secret.env\n"})

    result = cognix("check", "--project", str(root))

    assert result.code == 2
    assert "hunter2" not in result.stderr
    assert "outside the project folder" in result.stderr


def test_requirements_file_that_is_a_fifo_is_refused(tmp_path: Path, cognix) -> None:
    root = project(tmp_path, with_requirements(""))
    os.mkfifo(root / "r.txt")

    result = cognix("check", "--project", str(root))

    assert result.code == 2
    assert "is not a regular file" in result.stderr


def test_credentials_in_urls_are_never_shown(tmp_path: Path, cognix) -> None:
    requirements = (
        "--index-url https://alice:s3cret@one.example/simple\n"
        "--index-url https://bob:0ther@two.example/simple\nsix\n"
    )
    root = project(tmp_path, with_requirements(""), **{"r.txt": requirements})

    result = cognix("check", "--project", str(root), "--json")

    assert result.code == 0
    assert "s3cret" not in result.stderr + result.stdout
    assert "0ther" not in result.stderr + result.stdout
    assert "https://***@two.example/simple" in result.stderr


def test_terminal_control_characters_are_escaped(tmp_path: Path, cognix) -> None:
    root = project(tmp_path, MINIMAL.replace('"3.11"', '"3.\\e]0;pwned\\a"'))

    result = cognix("check", "--project", str(root))

    assert result.code == 2
    assert "\x1b" not in result.stderr
    assert "\\x1b]0;pwned\\x07" in result.stderr


@pytest.mark.parametrize(
    ("lock_text", "message"),
    [
        ("tool = 1\n", "pylock.toml has no complete [tool.cognix] table"),
        (
            '[tool.cognix]\nexclude-newer = 5\ninputs-digest = "x"\n',
            "pylock.toml has no complete [tool.cognix] table",
        ),
        ("a = " + "[" * 5000 + "]" * 5000 + "\n", "pylock.toml is not valid TOML"),
    ],
)
def test_malformed_lock_is_unreadable_not_a_crash(
    tmp_path: Path, cognix, lock_text: str, message: str
) -> None:
    root = project(tmp_path, **{"pylock.toml": lock_text})

    result = cognix("check", "--project", str(root))

    assert result.code == 0
    assert "  lock: unreadable" in result.stdout
    assert result.stderr.startswith(f"warning: {root / 'pylock.toml'}:1:1: {message}")


def test_lock_that_is_a_directory_is_reported(tmp_path: Path, cognix) -> None:
    root = project(tmp_path)
    (root / "pylock.toml").mkdir()

    result = cognix("check", "--project", str(root))

    assert result.code == 0
    assert result.stderr == (
        f"warning: {root / 'pylock.toml'}:1:1: pylock.toml is a directory, not a file"
        " (it will be replaced)\n"
    )


def test_unreadable_cognix_toml_is_located(tmp_path: Path, cognix) -> None:
    root = project(tmp_path)
    (root / "cognix.toml").write_bytes(b"# caf\xe9\n")

    result = cognix("check", "--project", str(root))

    assert result.code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: {root / 'cognix.toml'}:1:1: cognix.toml is not UTF-8 text (byte 5)"
    )


def test_deeply_nested_predictor_is_refused(tmp_path: Path, cognix) -> None:
    root = project(tmp_path)
    (root / "predict.py").write_text("x = " + "-" * 200_000 + "1\nclass Predictor: pass\n")

    result = cognix("check", "--project", str(root))

    assert result.code == 2
    assert "predict.py cannot be parsed" in result.stderr


def test_init_onto_a_file_is_refused(tmp_path: Path, cognix) -> None:
    (tmp_path / "file").write_text("x")

    result = cognix("init", str(tmp_path / "file"))

    assert result.code == 2
    assert (
        result.stderr.splitlines()[0] == f"error: {tmp_path / 'file'} exists and is not a folder"
    )


def test_check_json_prints_problems_on_stdout(tmp_path: Path, cognix) -> None:
    root = project(tmp_path, MINIMAL.replace("build:", "buld:"))

    result = cognix("check", "--project", str(root), "--json")

    assert result.code == 2
    assert '"valid": false' in result.stdout
    assert '"message": "unknown key \'buld\'"' in result.stdout


def test_quick_up_to_date_answer_needs_every_recorded_input(tmp_path: Path) -> None:
    from cognix.lock import unchanged_lock

    root = project(tmp_path)
    lock = (
        '[tool.cognix]\ninputs-digest = "sha256-x"\nexclude-newer = "2026-01-01T00:00:00Z"\n'
        'inputs = ["cog.yaml", "gone.txt"]\n[tool.cognix.target]\npython = "3.11"\n'
        'platform = "x"\n[tool.cognix.cog]\nsdk = "0.23.1"\n[tool.cognix.nixpkgs]\nrev = "r"\n'
    )
    (root / "pylock.toml").write_text(lock)

    assert unchanged_lock(root) is None


def test_bidirectional_overrides_are_escaped_for_the_terminal() -> None:
    from cognix.errors import for_terminal

    assert for_terminal("evil\u202ecod.exe\u2066x\tok\n") == "evil\\u202ecod.exe\\u2066x\tok\n"
