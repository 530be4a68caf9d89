"""`cognix audit lock`, `cognix audit rebuild` and `cognix sbom` from the command line.

`audit rebuild` runs the real Nix here, on hand-written flakes without inputs whose stream
script runs tests/data/rebuild/make_archive.py (nixpkgs cannot be fetched on this machine).
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path

import pytest

from cognix.audit.rebuild import audit_rebuild

from conftest import EXAMPLES, REPO, copy_project

MAKE_ARCHIVE = REPO / "tests" / "data" / "rebuild" / "make_archive.py"
OFFLINE = (("substituters", ""), ("download-attempts", "1"))
STREAM_FLAKE = """{
  outputs = { self }: {
    packages.x86_64-linux.image = builtins.derivation {
      name = "stream-rebuild-test";
      system = "x86_64-linux";
      builder = "/bin/sh";
      nonce = "NONCE";
      maker = ./make_archive.py;
      args = [ "-c" ''
        printf '#!/bin/sh\\nexec PYTHON %s MODE\\n' "$maker" > "$out"
        /bin/chmod 0555 "$out"
      '' ];
    };
  };
}
"""
needs_nix = pytest.mark.skipif(shutil.which("nix") is None, reason="nix is not installed")


def stream_flake(folder: Path, mode: str) -> Path:
    folder.mkdir()
    text = STREAM_FLAKE.replace("NONCE", uuid.uuid4().hex).replace("MODE", mode)
    (folder / "flake.nix").write_text(text.replace("PYTHON", sys.executable))
    shutil.copy(MAKE_ARCHIVE, folder / "make_archive.py")
    return folder


@needs_nix
def test_a_reproducible_image_is_identical_over_two_builds(tmp_path: Path) -> None:
    result = audit_rebuild(stream_flake(tmp_path / "same", "same"), nix_options=OFFLINE)

    assert result.differences() == []
    assert result.summary() == (
        f"identical: config {result.first.config_digest}, 1 layers, built twice"
    )


@needs_nix
def test_a_layer_that_changes_between_builds_is_named(tmp_path: Path) -> None:
    result = audit_rebuild(stream_flake(tmp_path / "random", "random"), nix_options=OFFLINE)

    (config, layer) = result.differences()
    assert config.startswith(f"config: {result.first.config_digest} -> sha256:")
    assert layer == f"layer 1 of 1: {result.first.layers[0]} -> {result.second.layers[0]}"
    assert result.summary() == "the two builds differ in 2 places"


def test_audit_lock_of_a_sound_lock(tmp_path: Path, cognix) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")

    result = cognix("audit", "lock", "--project", str(project))

    assert (result.code, result.stdout) == (
        0,
        "pylock.toml is sound: 10 packages, 12 artifacts hashed; nixpkgs pinned; up to date\n",
    )


def test_audit_lock_of_a_stale_lock_exits_1(tmp_path: Path, cognix) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")
    with (project / "cog.yaml").open("a") as cog_yaml:
        cog_yaml.write("# changed\n")

    result = cognix("audit", "lock", "--project", str(project))

    assert result.code == 1
    assert result.stdout.splitlines() == [
        f"{project / 'pylock.toml'}:144:1: the lock is stale: the project's inputs (cog.yaml) "
        "changed",
        "  hint: run `cognix lock` to write the lock again",
    ]
    assert result.stderr == ("error: pylock.toml: 1 problem (10 packages, 12 artifacts checked)\n")


def test_sbom_is_printed_and_written(tmp_path: Path, cognix) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")

    printed = cognix("sbom", "--project", str(project))
    written = cognix("sbom", "--project", str(project), "-o", str(tmp_path / "sbom.json"))

    assert printed.code == written.code == 0
    document = json.loads(printed.stdout)
    assert document["bomFormat"] == "CycloneDX"
    assert (tmp_path / "sbom.json").read_text() == printed.stdout
    assert written.stderr == f"wrote {tmp_path / 'sbom.json'}\n"


def test_sbom_built_must_be_a_store_path(tmp_path: Path, cognix) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")

    result = cognix("sbom", "--project", str(project), "--built", "/etc/passwd")

    assert result.code == 2
    assert result.stderr.splitlines() == [
        "error: --built /etc/passwd is not a path in the Nix store",
        "  hint: pass the `result` link that `nix build .#image` made, or the store path it "
        "points to",
    ]


def test_sbom_into_a_folder_is_refused(tmp_path: Path, cognix) -> None:
    project = copy_project(EXAMPLES / "hello-world", tmp_path / "hello-world")

    result = cognix("sbom", "--project", str(project), "-o", str(tmp_path))

    assert result.code == 2
    assert result.stderr.splitlines()[0] == f"error: -o {tmp_path} is a folder"
