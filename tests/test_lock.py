"""`cognix lock`: the first lock, its [tool.cognix] table, re-locking and refusals."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.pylock import Pylock

from conftest import EXAMPLES, copy_case, copy_project


def hello_world(tmp_path: Path) -> Path:
    """Copy the hello-world example without its committed lock."""
    project = tmp_path / "hello-world"
    copy_project(EXAMPLES / "hello-world", project)
    (project / "pylock.toml").unlink()
    return project


@pytest.mark.network
def test_lock_is_a_valid_pep751_lock_with_hashes(tmp_path: Path, cognix) -> None:
    project = hello_world(tmp_path)

    result = cognix("lock", "--project", str(project))

    assert result.code == 0, result.stderr
    document = tomllib.loads((project / "pylock.toml").read_text())
    lock = Pylock.from_dict(document)
    names = {package.name for package in lock.packages}
    assert {"cog", "coglet"} <= names
    for package in lock.packages:
        assert package.wheels, package.name
        assert all(len(wheel.hashes["sha256"]) == 64 for wheel in package.wheels)
    tool = document["tool"]["cognix"]
    assert tool["target"] == {"python": "3.11", "platform": "x86_64-manylinux_2_28"}
    assert tool["nixpkgs"]["rev"] == "5880666fd9eb563038431edb35c2d0aa595884e6"
    assert tool["nixpkgs"]["python-attr"] == "python311"
    assert tool["cog"]["sdk"] == next(p.version for p in lock.packages if p.name == "cog").public
    assert (
        result.stdout
        == f"wrote pylock.toml: {len(lock.packages)} packages, cog {tool['cog']['sdk']}\n"
    )


@pytest.mark.network
def test_unchanged_project_is_not_relocked(tmp_path: Path, cognix) -> None:
    project = hello_world(tmp_path)
    assert cognix("lock", "--project", str(project)).code == 0
    first = (project / "pylock.toml").read_bytes()
    count = first.count(b"[[packages]]")

    again = cognix("lock", "--project", str(project))

    assert again.code == 0
    assert again.stdout == f"pylock.toml is up to date ({count} packages)\n"
    assert (project / "pylock.toml").read_bytes() == first


@pytest.mark.network
def test_changed_inputs_relock_with_the_same_date(tmp_path: Path, cognix) -> None:
    project = hello_world(tmp_path)
    assert cognix("lock", "--project", str(project)).code == 0
    first = tomllib.loads((project / "pylock.toml").read_text())
    with (project / "cog.yaml").open("a") as cog_yaml:
        cog_yaml.write("# changed\n")

    checked = cognix("check", "--project", str(project))
    assert checked.code == 0
    assert "  lock: stale" in checked.stdout
    assert "pylock.toml does not match the project's inputs" in checked.stderr

    assert cognix("lock", "--project", str(project)).code == 0
    second = tomllib.loads((project / "pylock.toml").read_text())
    assert second["tool"]["cognix"]["exclude-newer"] == first["tool"]["cognix"]["exclude-newer"]
    assert second["tool"]["cognix"]["inputs-digest"] != first["tool"]["cognix"]["inputs-digest"]
    assert second["packages"] == first["packages"]


@pytest.mark.network
def test_failed_resolution_keeps_the_previous_lock(tmp_path: Path, cognix, monkeypatch) -> None:
    project = hello_world(tmp_path)
    assert cognix("lock", "--project", str(project)).code == 0
    previous = (project / "pylock.toml").read_bytes()
    (project / "requirements.txt").write_text("--index-url http://127.0.0.1:9/simple\nsix\n")
    cog_yaml = project / "cog.yaml"
    cog_yaml.write_text(
        cog_yaml.read_text().replace(
            'python_version: "3.11"',
            'python_version: "3.11"\n  python_requirements: requirements.txt',
        )
    )
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")

    result = cognix("lock", "--project", str(project))

    assert result.code == 1
    assert result.stderr.startswith("error: could not resolve the Python requirements:\n")
    assert "http://127.0.0.1:9/simple" in result.stderr
    assert result.stderr.endswith(
        "  hint: check the network and the package index; the previous lock is unchanged\n"
    )
    assert (project / "pylock.toml").read_bytes() == previous


def test_unreadable_previous_lock_is_replaced(tmp_path: Path, cognix) -> None:
    project = hello_world(tmp_path)
    (project / "pylock.toml").write_text("not a lock [\n")

    checked = cognix("check", "--project", str(project))

    assert checked.code == 0
    assert "  lock: unreadable" in checked.stdout


def test_managed_weights_are_refused(tmp_path: Path, cognix) -> None:
    project = hello_world(tmp_path)
    with (project / "cog.yaml").open("a") as cog_yaml:
        cog_yaml.write('model: "r8.im/someone/model"\n')

    result = cognix("lock", "--project", str(project))

    assert result.code == 2
    assert result.stderr.splitlines() == [
        "error: cognix cannot lock Cog managed weights (weights, model) yet",
        "  hint: load weights in setup(); publish local packages to an index or use name @ URL",
    ]
    assert not (project / "pylock.toml").exists()


@pytest.mark.network
def test_comment_only_lists_lock_only_the_sdk(tmp_path: Path, cognix) -> None:
    project = copy_case("02-comment-only-lists", tmp_path)

    assert cognix("lock", "--project", str(project)).code == 0, "lock failed"

    lock = Pylock.from_dict(tomllib.loads((project / "pylock.toml").read_text()))
    names = {package.name for package in lock.packages}
    assert names == {
        "cog", "coglet", "certifi", "charset-normalizer", "idna", "pyyaml", "requests",
        "structlog", "typing-extensions", "urllib3",
    }  # fmt: skip


@pytest.mark.network
def test_committed_example_lock_is_up_to_date(cognix) -> None:
    result = cognix("check", "--project", str(EXAMPLES / "hello-world"))

    assert result.code == 0, result.stderr
    assert "  lock: up to date" in result.stdout


def test_nixpkgs_override_must_be_a_pinned_revision(tmp_path: Path, cognix) -> None:
    project = hello_world(tmp_path)
    (project / "cognix.toml").write_text('[nixpkgs]\nrev = "0123456789abcdef"\n')

    result = cognix("check", "--project", str(project))

    assert result.code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"error: {project / 'cognix.toml'}:2:1: 'nixpkgs.rev': 0123456789abcdef"
        " is not one of cognix's pinned nixpkgs revisions"
    )
    assert lines[1].startswith(
        "  hint: use one of 5880666fd9eb563038431edb35c2d0aa595884e6 (nixos-26.05), "
    )


def test_pinned_revision_without_the_python_is_refused(tmp_path: Path, cognix) -> None:
    project = hello_world(tmp_path)
    rev = "03d771e513ce90147b65fe922d87d3a0356fc125"  # nixos-23.11: no Python 3.14
    cog_yaml = project / "cog.yaml"
    cog_yaml.write_text(cog_yaml.read_text().replace('"3.11"', '"3.14"'))
    (project / "cognix.toml").write_text(f'[nixpkgs]\nrev = "{rev}"\n')

    result = cognix("lock", "--project", str(project))

    assert result.code == 2
    assert result.stderr.splitlines() == [
        "error: nixpkgs 03d771e513ce (nixos-23.11) has no Python 3.14",
        "  hint: it has 3.8, 3.9, 3.10, 3.11, 3.12; change [nixpkgs] rev in cognix.toml",
    ]


@pytest.mark.network
def test_nixpkgs_override_picks_that_pin(tmp_path: Path, cognix) -> None:
    project = hello_world(tmp_path)
    rev = "25f538306313eae3927264466c70d7001dcea1df"
    (project / "cognix.toml").write_text(f'[nixpkgs]\nrev = "{rev}"\n')

    assert cognix("lock", "--project", str(project)).code == 0

    nixpkgs = tomllib.loads((project / "pylock.toml").read_text())["tool"]["cognix"]["nixpkgs"]
    assert (nixpkgs["rev"], nixpkgs["branch"]) == (rev, "nixos-25.11")


@pytest.mark.network
def test_lock_records_its_inputs_and_answers_up_to_date_from_them(tmp_path: Path, cognix) -> None:
    project = hello_world(tmp_path)
    (project / ".dockerignore").write_text("*.ckpt\n")
    assert cognix("lock", "--project", str(project)).code == 0
    tool = tomllib.loads((project / "pylock.toml").read_text())["tool"]["cognix"]

    assert tool["inputs"] == ["cog.yaml", ".dockerignore"]
    assert cognix("lock", "--project", str(project)).stdout.endswith(
        "is up to date (10 packages)\n"
    )

    # A new optional input is a change, even though the recorded files are unchanged.
    (project / "cognix.toml").write_text("[image]\nmax-layers = 80\n")
    assert cognix("lock", "--project", str(project)).stdout.startswith("wrote pylock.toml")
