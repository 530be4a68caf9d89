"""`cognix generate`: flake.nix, flake.lock and .cognix/, byte for byte.

These tests need no Nix: tests/test_nix_eval.py evaluates what is written here.
"""

from __future__ import annotations

import json
import os
import time
import tomllib
from pathlib import Path

import pytest

from cognix.nixgen.flake import nix_string
from cognix.nixgen.project_json import default_image_name
from cognix.resolve.native import libraries_left_out

from conftest import EXAMPLES, REPO, copy_project

NIXGEN = REPO / "tests" / "data" / "nixgen"
HELLO_REV = "5880666fd9eb563038431edb35c2d0aa595884e6"


def tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Return every generated file under `folder` with its bytes and mode."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            found[path.relative_to(folder).as_posix()] = (path.read_bytes(), path.stat().st_mode)
    return found


def test_generate_writes_the_flake_the_lock_and_the_library(cognix, tmp_path: Path) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")

    result = cognix("generate", "--project", str(project))

    assert result.code == 0, result.stderr
    assert result.stdout == "wrote .cognix/, flake.nix, flake.lock\n"
    assert result.stderr == "pylock.toml is up to date (10 packages)\n"
    flake = (project / "flake.nix").read_text()
    assert f'inputs.nixpkgs.url = "github:NixOS/nixpkgs/{HELLO_REV}";' in flake
    assert 'description = "cog-hello-world: a Cog model built by cognix";' in flake
    library = sorted(p.name for p in (project / ".cognix").iterdir())
    nix_files = sorted(p.name for p in (REPO / "nix").iterdir() if p.suffix in {".nix", ".py"})
    assert library == sorted([*nix_files, "VERSION", "cognix_schema", "project.json"])
    schema_files = sorted(p.name for p in (project / ".cognix" / "cognix_schema").iterdir())
    assert schema_files == sorted(p.name for p in (REPO / "cognix" / "schema").glob("*.py"))


def test_flake_lock_is_written_from_the_pin(cognix, tmp_path: Path) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    cognix("generate", "--project", str(project))

    pin = tomllib.loads((project / "pylock.toml").read_text())["tool"]["cognix"]["nixpkgs"]
    lock = json.loads((project / "flake.lock").read_text())

    github = {"owner": "NixOS", "repo": "nixpkgs", "rev": pin["rev"], "type": "github"}
    assert lock == {
        "nodes": {
            "nixpkgs": {
                "locked": github
                | {"lastModified": pin["last-modified"], "narHash": pin["nar-hash"]},
                "original": github,
            },
            "root": {"inputs": {"nixpkgs": "nixpkgs"}},
        },
        "root": "root",
        "version": 7,
    }


def test_project_json_holds_what_cog_yaml_says(cognix, tmp_path: Path) -> None:
    project = copy_project(NIXGEN / "opencv", tmp_path / "opencv")
    assert cognix("generate", "--locked", "--project", str(project)).code == 0

    document = json.loads((project / ".cognix" / "project.json").read_text())
    labels = document.pop("labels")
    assert document == {
        "concurrency": None,
        "environment": ["HF_HOME=/opt/cache"],
        "extra-nixpkgs": [],
        "gpu": False,
        "libraries-left-out": sorted(libraries_left_out()),
        "max-layers": 100,
        "name": "cog-opencv",
        "predictor": "predict.py:Predictor",
        "trainer": None,
    }
    assert json.loads(labels.pop("run.cog.config")) == {
        "build": {
            "python_version": "3.11",
            "python_packages": ["opencv-python==4.10.0.84"],
            "system_packages": ["libgl1", "libglib2.0-0"],
            "run": [
                {"command": "mkdir -p /opt/cache"},
                {"command": "echo ready > /opt/cache/state"},
            ],
        },
        "predict": "predict.py:Predictor",
        "environment": ["HF_HOME=/opt/cache"],
    }
    schema = json.loads(labels.pop("run.cog.openapi_schema"))
    assert schema["info"] == {"title": "Cog", "version": "0.23.1"}
    assert labels == {
        "org.opencontainers.image.description": "Cog model built by cognix from pylock.toml",
        "org.opencontainers.image.title": "cog-opencv",
        "run.cog.has_init": "true",
        "run.cog.version": "0.23.1",
    }


def test_gpu_config_label_carries_the_locked_cuda(cognix, tmp_path: Path) -> None:
    project = copy_project(NIXGEN / "gpu-torch-ffmpeg", tmp_path / "torch")
    assert cognix("generate", "--locked", "--project", str(project)).code == 0

    document = json.loads((project / ".cognix" / "project.json").read_text())
    config = json.loads(document["labels"]["run.cog.config"])
    assert config["build"]["cuda"] == "13.0"
    assert document["name"] == "r8.im/example/torch-ffmpeg"
    assert document["gpu"] is True


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("hello-world", "cog-hello-world"),
        ("My Model", "cog-my-model"),
        ("weird_name.v2!", "cog-weirdnamev2"),
        ("a" * 40, "cog-" + "a" * 26),
    ],
)
def test_default_image_name_follows_cog(folder: str, expected: str) -> None:
    assert default_image_name(folder) == expected


def test_nix_string_escapes_what_nix_would_read(tmp_path: Path) -> None:
    assert nix_string('a "b" \\ ${c} $d\n') == '"a \\"b\\" \\\\ \\${c} $d\\n"'


def test_output_is_identical_across_folders_time_zones_locales_and_umasks(
    cognix, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = copy_project(NIXGEN / "opencv", tmp_path / "one" / "opencv")
    second = copy_project(NIXGEN / "opencv", tmp_path / "two" / "deeper" / "opencv")

    previous_umask = os.umask(0o022)
    try:
        assert cognix("generate", "--locked", "--project", str(first)).code == 0
        monkeypatch.setenv("TZ", "Pacific/Chatham")
        monkeypatch.setenv("LC_ALL", "tr_TR.UTF-8")
        time.tzset()
        os.umask(0o077)
        assert cognix("generate", "--locked", "--project", str(second)).code == 0
    finally:
        os.umask(previous_umask)
        monkeypatch.delenv("TZ")
        time.tzset()

    assert tree(first) == tree(second)
    assert (first / ".cognix").stat().st_mode & 0o777 == 0o755
    assert (first / "flake.nix").stat().st_mode & 0o777 == 0o644


def test_a_second_run_changes_nothing(cognix, tmp_path: Path) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    cognix("generate", "--project", str(project))
    before = {path: path.stat().st_mtime_ns for path in project.rglob("*")}

    result = cognix("generate", "--project", str(project))

    assert result.stdout == "flake.nix, flake.lock and .cognix/ are up to date\n"
    assert {path: path.stat().st_mtime_ns for path in project.rglob("*")} == before


def test_a_changed_library_file_is_replaced_and_strays_removed(cognix, tmp_path: Path) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    cognix("generate", "--project", str(project))
    (project / ".cognix" / "image.nix").write_text("tampered")
    (project / ".cognix" / "stray.nix").write_text("{ }")

    result = cognix("generate", "--project", str(project))

    assert result.stdout == "wrote .cognix/\n"
    restored = (project / ".cognix" / "image.nix").read_bytes()
    assert restored == (REPO / "nix" / "image.nix").read_bytes()
    assert not (project / ".cognix" / "stray.nix").exists()
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".cognix")) == [".cognix"]


def test_locked_refuses_a_stale_lock_and_writes_nothing(cognix, tmp_path: Path) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    lock_before = (project / "pylock.toml").read_bytes()
    with (project / "cog.yaml").open("a") as cog_yaml:
        cog_yaml.write("# changed\n")

    result = cognix("generate", "--locked", "--project", str(project))

    assert result.code == 2
    assert result.stderr == (
        "error: pylock.toml is stale and --locked forbids writing it\n"
        "  hint: run `cognix lock` and commit pylock.toml, or leave out --locked\n"
    )
    assert (project / "pylock.toml").read_bytes() == lock_before
    assert not (project / "flake.nix").exists()


def test_a_file_where_the_library_goes_stops_before_any_write(cognix, tmp_path: Path) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    (project / ".cognix").write_text("not a folder")

    result = cognix("generate", "--project", str(project))

    assert result.code == 1
    assert result.stderr.endswith(
        f"error: cannot write {project / '.cognix'}: it is not a folder\n"
        "  hint: remove it, then run again\n"
    )
    assert not (project / "flake.nix").exists()


def test_git_checkouts_are_told_what_to_add(cognix, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")

    result = cognix("generate", "--project", str(project))

    assert result.stderr.endswith(
        "note: for `nix build .#image`, git add flake.nix flake.lock .cognix pylock.toml\n"
    )


@pytest.mark.parametrize(
    ("line", "replacement", "message"),
    [
        (
            f'rev = "{HELLO_REV}"',
            'rev = "x\\"; outputs = _: abort \\"pwned\\"; y = \\""',
            "pylock.toml:161:1: [tool.cognix.nixpkgs] rev is "
            '\'x"; outputs = _: abort "pwned"; y = "\', not a 40-hex-digit git commit',
        ),
        (
            'nar-hash = "sha256-OURZPknrTjQrlNyxPdqzyqmU/81Wes1CUP/Ft1Rv/YI="',
            "",
            "pylock.toml:159:1: [tool.cognix.nixpkgs] nar-hash is missing, not an SRI sha256 hash",
        ),
        (
            "last-modified = 1787204541",
            'last-modified = "soon"',
            "pylock.toml:163:1: [tool.cognix.nixpkgs] last-modified is 'soon', "
            "not an integer (seconds since 1970)",
        ),
    ],
)
def test_a_hand_edited_pin_is_refused_before_any_write(
    cognix, tmp_path: Path, line: str, replacement: str, message: str
) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    lock = project / "pylock.toml"
    assert line in lock.read_text()
    lock.write_text(lock.read_text().replace(line, replacement))

    result = cognix("generate", "--locked", "--project", str(project))

    assert result.code == 2
    assert result.stderr == (
        f"error: {project}/{message}\n"
        "  hint: delete pylock.toml and run `cognix lock` to write it again\n"
    )
    assert sorted(p.name for p in project.iterdir()) == ["cog.yaml", "predict.py", "pylock.toml"]


def test_a_cuda_table_without_version_is_refused(cognix, tmp_path: Path) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    with (project / "pylock.toml").open("a") as lock:
        lock.write('\n[tool.cognix.cuda]\ncudnn = "9"\n')

    result = cognix("generate", "--locked", "--project", str(project))

    assert result.code == 2
    assert result.stderr == (
        f"error: {project}/pylock.toml:166:1: [tool.cognix.cuda] has no version string\n"
        "  hint: delete pylock.toml and run `cognix lock` to write it again\n"
    )


def test_leftovers_of_an_interrupted_run_are_removed(cognix, tmp_path: Path) -> None:
    # What SIGKILL between the two renames of `.cognix/` leaves: Nix would copy it into /src.
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    (project / ".cognix.new-ab_12xyz" / "sub").mkdir(parents=True)
    (project / ".cognix.old-cd34efgh" / ".cognix").mkdir(parents=True)
    (project / ".flake.nix.q1w2e3r4").write_text("half")
    (project / ".cognix.keep").write_text("the user's own")

    result = cognix("generate", "--project", str(project))

    assert result.code == 0, result.stderr
    assert sorted(p.name for p in project.iterdir()) == [
        ".cognix", ".cognix.keep", "cog.yaml", "flake.lock", "flake.nix", "predict.py",
        "pylock.toml",
    ]  # fmt: skip


def test_a_folder_where_flake_nix_goes_leaves_the_library_as_it_was(
    cognix, tmp_path: Path
) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    cognix("generate", "--project", str(project))
    (project / ".cognix" / "image.nix").write_text("previous")
    (project / "flake.nix").unlink()
    (project / "flake.nix").mkdir()

    result = cognix("generate", "--project", str(project))

    assert result.code == 1
    assert result.stderr.endswith(
        f"error: cannot write {project / 'flake.nix'}: it is a directory\n"
        "  hint: remove it, then run again\n"
    )
    assert (project / ".cognix" / "image.nix").read_text() == "previous"


@pytest.mark.parametrize("image", ["Bad Name!!", "r8.im/user/model:v1"])
def test_an_image_name_nix_or_docker_would_refuse_is_an_input_error(
    cognix, tmp_path: Path, image: str
) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    with (project / "cog.yaml").open("a") as cog_yaml:
        cog_yaml.write(f'image: "{image}"\n')

    result = cognix("generate", "--project", str(project))

    assert result.code == 2
    assert result.stderr.endswith(
        f"error: {project}/cog.yaml:5:1: image {image!r} is not an image name\n"
        "  hint: use lowercase letters, digits, `.`, `_`, `-` and `/`, with no tag, at most "
        "200 characters, e.g. r8.im/user/model; `cognix build -t` sets a tag\n"
    )
    assert not (project / "flake.nix").exists()
