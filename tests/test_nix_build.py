"""A real image build with real nixpkgs: `pytest -m nixbuild` where Nix can fetch it.

The build needs github.com (the pinned nixpkgs) and cache.nixos.org (its binary cache),
and PyPI for the wheels. This project's own machines reach only PyPI, so there the test
is skipped with that reason; it is never replaced by an evaluation.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import httpx
import pytest

from cognix import external
from cognix.image.nix_build import newer_version
from cognix.lock import read_lock_info
from cognix.resolve.pins import known_pins

from conftest import EXAMPLES, copy_project

pytestmark = pytest.mark.nixbuild

NEEDED_HOSTS = ("https://cache.nixos.org/nix-cache-info", "https://github.com")


@pytest.fixture(scope="module")
def reachable_nixpkgs() -> None:
    """Skip unless Nix is installed and nixpkgs and its cache can be fetched."""
    if shutil.which("nix") is None:
        pytest.skip("nix is not installed")
    version = external.run(["nix", "--version"]).stdout.split()[-1]
    info = read_lock_info(EXAMPLES / "hello-world" / "pylock.toml")
    needed = next(pin.min_nix for pin in known_pins() if info and pin.rev == info.nixpkgs_rev)
    if newer_version(version, needed) != version:
        pytest.skip(f"Nix {version} is older than the {needed} the example's nixpkgs pin needs")
    for url in NEEDED_HOSTS:
        try:
            httpx.head(url, timeout=5.0, follow_redirects=True)
        except httpx.HTTPError as error:
            pytest.skip(f"{url} is unreachable from this machine ({type(error).__name__})")


def stream_digest(script: Path, destination: Path) -> str:
    """Run the stream script into `destination` and return the archive's sha256."""
    from cognix.image.export import export_image

    export_image(script, f"docker-archive:{destination}", None)
    return hashlib.sha256(destination.read_bytes()).hexdigest()


def build_script(project: Path, *extra: str) -> Path:
    # Nix 2.8 has no --print-out-paths; --json names the outputs.
    argv = external.nix_command("nix", "build", f"path:{project}#image", "--no-link", "--json")
    completed = external.run([*argv, *extra])
    return Path(json.loads(completed.stdout)[0]["outputs"]["out"])


@pytest.mark.usefixtures("reachable_nixpkgs")
def test_hello_world_image_is_identical_over_two_builds(cognix, tmp_path: Path) -> None:
    project = tmp_path / "hello-world"
    copy_project(EXAMPLES / "hello-world", project)
    assert cognix("generate", "--locked", "--project", str(project)).code == 0

    script = build_script(project)
    first = stream_digest(script, tmp_path / "first.tar")
    # --rebuild builds every derivation of the image again and fails if any output differs.
    rebuilt = build_script(project, "--rebuild")
    second = stream_digest(rebuilt, tmp_path / "second.tar")

    assert rebuilt == script
    assert first == second


@pytest.mark.usefixtures("reachable_nixpkgs")
def test_audit_rebuild_of_hello_world_finds_no_difference(cognix, tmp_path: Path) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")

    result = cognix("audit", "rebuild", "--project", str(project))

    assert result.code == 0, result.stderr
    assert result.stdout.startswith("identical: config sha256:")
