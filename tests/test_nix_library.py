"""The Nix library's functions, one by one: tests/nix/library-cases.nix, evaluated by real Nix.

nixpkgs is the contract stub there (an interface test double); nothing is built. The image
library check (nix/check-libraries.py) runs here for real, on ELF files built with gcc.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from cognix import external
from cognix.commands import generate_project

from conftest import REPO, stub_flake_dir

NIX = REPO / "nix"
CASES_FILE = REPO / "tests" / "nix" / "library-cases.nix"
NIXGEN = REPO / "tests" / "data" / "nixgen"
STORE = r"/nix/store/[0-9a-z]{32}-"

needs_nix = pytest.mark.skipif(
    shutil.which("nix-instantiate") is None, reason="nix-instantiate is not installed"
)


def evaluate(expression: str) -> Any:
    completed = external.run(["nix-instantiate", "--eval", "--strict", "--json", "-E", expression])
    return json.loads(completed.stdout)


def evaluation_error(expression: str) -> str:
    """Return the first `error:` line of a failing evaluation."""
    completed = external.run(
        ["nix-instantiate", "--eval", "--strict", "-E", expression], check=False
    )
    assert completed.returncode != 0, completed.stdout
    return next(line for line in completed.stderr.splitlines() if line.startswith("error:"))


@pytest.fixture(scope="module")
def cases() -> dict[str, Any]:
    return evaluate(f"import {CASES_FILE} {{ }}")


@needs_nix
def test_every_case_gives_what_it_must(cases: dict[str, Any]) -> None:
    wrong = {name: case for name, case in cases.items() if case["actual"] != case["expected"]}
    assert wrong == {}
    assert len(cases) >= 25


@needs_nix
@pytest.mark.parametrize(
    ("file", "arguments"),
    [
        ("shell", ""),
        ("attributes", "{ inherit pkgs; }"),
        ("cuda", "{ inherit attributes; cuda = null; gpu = false; systemPackages = [ ]; }"),
        ("system", "{ inherit pkgs attributes; systemPackages = [ ]; extraAttributes = [ ]; }"),
        ("run-steps", "{ inherit pkgs shell; steps = [ ]; }"),
    ],
)
def test_every_function_of_a_file_has_a_case(
    cases: dict[str, Any], file: str, arguments: str
) -> None:
    exported = evaluate(
        f'let pkgs = import {REPO}/tests/nix/nixpkgs-stub {{ system = "x86_64-linux"; }}; '
        f"shell = import {NIX}/shell.nix; "
        f"attributes = import {NIX}/attributes.nix {{ inherit pkgs; }}; "
        f"in builtins.attrNames (import {NIX}/{file}.nix {arguments})"
    )
    covered = {name.split(".")[1] for name in cases if name.split(".")[0] == file}
    assert sorted(covered) == exported


@needs_nix
def test_a_missing_attribute_names_who_asked_for_it() -> None:
    expression = (
        f"(import {NIX}/attributes.nix {{ pkgs = {{ ffmpeg = {{ }}; }}; }}).byPath "
        '"apt package libfoo" "libfoo.dev"'
    )

    assert evaluation_error(expression) == (
        "error: cognix: the pinned nixpkgs has no attribute `libfoo.dev` (asked for by apt "
        "package libfoo); run `cognix lock --upgrade` or change the mapping in cognix.toml"
    )


@needs_nix
def test_a_project_without_a_lock_says_to_lock(tmp_path: Path) -> None:
    assert evaluation_error(f"(import {NIX}/lock.nix {{ root = {tmp_path}; }}).packages") == (
        f"error: cognix: {tmp_path} has no pylock.toml; run `cognix lock` there"
    )


@needs_nix
def test_a_lock_of_another_version_says_to_generate_again(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\n[tool.cognix]\nlock-version = 9\n'
    )

    assert evaluation_error(f"(import {NIX}/lock.nix {{ root = {tmp_path}; }}).packages") == (
        "error: cognix: pylock.toml has lock-version 9; this Nix library reads version 1: "
        "run `cognix generate` again"
    )


@needs_nix
def test_cuda_from_nixpkgs_is_admitted_by_the_unfree_predicate(tmp_path: Path) -> None:
    project = tmp_path / "gpu"
    shutil.copytree(NIXGEN / "gpu-torch", project)
    lock = project / "pylock.toml"
    text = lock.read_text()
    # As `cognix lock` writes it when no locked wheel brings CUDA (resolution.py `_cuda`).
    text = re.sub(r'source = "[^"]*"', 'source = "nixpkgs cudaPackages_13.0"', text, count=1)
    lock.write_text(text)
    generate_project(project, locked=True)
    stub = stub_flake_dir(tmp_path)

    completed = external.run(
        external.nix_command(
            "nix", "eval", "--json", "--no-write-lock-file", "--override-input", "nixpkgs",
            f"path:{stub}", f"path:{project}#packages.x86_64-linux.image",
            "--apply", "image: map (p: p.name) image.stubArgs.contents",
        )
    )  # fmt: skip

    names = json.loads(completed.stdout)
    assert names[-3:] == ["cuda_cudart-13.0", "libcublas-13.0", "cudnn-9"]


def _gcc(folder: Path, output: str, source: str, *arguments: str) -> Path:
    (folder / f"{output}.c").write_text(source)
    external.run(["gcc", "-shared", "-fPIC", "-o", output, f"{output}.c", *arguments], cwd=folder)
    return folder / output


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_the_library_check_names_each_missing_library(tmp_path: Path) -> None:
    wheel = tmp_path / "wheel" / "lib"
    system = tmp_path / "system"
    wheel.mkdir(parents=True)
    system.mkdir()
    _gcc(system, "libprovided.so.1", "int provided(void) { return 1; }")
    _gcc(wheel, "libbundled.so.2", "int bundled(void) { return 2; }")
    _gcc(tmp_path, "libgone.so.3", "int gone(void) { return 3; }")
    _gcc(tmp_path, "libcuda.so.1", "int driver(void) { return 4; }")
    _gcc(
        wheel, "ext.so", "int provided(void); int bundled(void); int gone(void); "
        "int driver(void); int f(void) { return provided() + bundled() + gone() + driver(); }",
        f"-L{system}", f"-L{wheel}", f"-L{tmp_path}", "-l:libprovided.so.1", "-l:libbundled.so.2",
        "-l:libgone.so.3", "-l:libcuda.so.1", "-Wl,-rpath,$ORIGIN",
    )  # fmt: skip
    (wheel / "README.txt").write_text("not an ELF file")
    check = [sys.executable, str(NIX / "check-libraries.py"), "--search", str(system), "/lib64"]

    failed = external.run([*check, "--allow", "libcuda.so.1", "--", str(tmp_path / "wheel")],
                          check=False)  # fmt: skip
    passed = external.run(
        [*check, str(tmp_path), "--allow", "libcuda.so.1", "--", str(tmp_path / "wheel")]
    )

    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        f"missing library: {wheel / 'ext.so'}: libgone.so.3",
        "The image lacks the libraries above. Add the apt packages that provide them to "
        "cog.yaml's system_packages (`cognix lock` names them).",
    ]
    assert passed.returncode == 0
    assert passed.stderr == ""
