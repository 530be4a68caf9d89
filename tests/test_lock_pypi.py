"""`cognix lock` against real PyPI: the cases, corpus files, GPU projects, reproducibility.

Every test here needs PyPI (marked `network`). Wheels are resolved from metadata only, so
even torch locks without downloading its wheels.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.pylock import Pylock

from conftest import copy_case, corpus_project

pytestmark = pytest.mark.network


def lock_document(project: Path) -> dict[str, Any]:
    """Return the project's pylock.toml, checked to be a valid PEP 751 lock."""
    document = tomllib.loads((project / "pylock.toml").read_text())
    Pylock.from_dict(document)
    return document


def versions(document: dict[str, Any]) -> dict[str, str]:
    return {package["name"]: package["version"] for package in document["packages"]}


def test_torch_2_0_records_the_cuda_its_wheels_carry(tmp_path: Path, cognix) -> None:
    project = copy_case("04-torch-picks-cuda", tmp_path)

    result = cognix("lock", "--project", str(project))

    assert result.code == 0, result.stderr
    document = lock_document(project)
    tool = document["tool"]["cognix"]
    assert tool["cuda"] == {
        "version": "11.7",
        "cudnn": "8",
        "source": "nvidia-cuda-runtime-cu11 wheel 11.7.99",
    }
    assert tool["target"]["python"] == "3.10"
    assert "3.10" in _pin_pythons(tool["nixpkgs"]["rev"])
    locked = versions(document)
    assert (locked["torch"], locked["torchvision"]) == ("2.0.1", "0.15.2")
    assert locked["nvidia-cudnn-cu11"].startswith("8.5.")


def test_cuda_asked_for_that_needs_pytorch_index_names_it(tmp_path: Path, cognix) -> None:
    project = copy_case("04-torch-picks-cuda", tmp_path)
    cog_yaml = project / "cog.yaml"
    cog_yaml.write_text(cog_yaml.read_text().replace("gpu: true", 'gpu: true\n  cuda: "11.8"'))

    result = cognix("lock", "--project", str(project))

    # download.pytorch.org cannot be reached from the project's machines.
    assert result.code == 1
    assert "https://download.pytorch.org/whl/cu118" in result.stderr
    assert not (project / "pylock.toml").exists()


def test_markers_are_evaluated_for_the_target(tmp_path: Path, cognix) -> None:
    project = copy_case("06-requirement-markers", tmp_path)

    assert cognix("lock", "--project", str(project)).code == 0

    locked = versions(lock_document(project))
    assert locked["numpy"] == "2.1.3"
    assert "exceptiongroup" not in locked
    assert "tomli" not in locked


def test_unversioned_gpu_torch_picks_and_says(tmp_path: Path, cognix) -> None:
    project = copy_case("09-gpu-torch-unversioned", tmp_path)

    result = cognix("lock", "--project", str(project))

    assert result.code == 0, result.stderr
    assert "note: torch is not pinned: chose torch 2.11.0" in result.stderr
    tool = lock_document(project)["tool"]["cognix"]
    assert tool["cuda"]["version"] == "13.0"
    assert tool["cuda"]["source"].startswith("nvidia-cuda-runtime wheel 13.0.")
    assert "Traceback" not in result.stderr


def test_packages_record_their_dependencies(tmp_path: Path, cognix) -> None:
    project = copy_case("06-requirement-markers", tmp_path)
    assert cognix("lock", "--project", str(project)).code == 0

    packages = {p["name"]: p for p in lock_document(project)["packages"]}

    assert packages["cog"]["dependencies"] == [
        {"name": name}
        for name in ("coglet", "pyyaml", "requests", "structlog", "typing-extensions")
    ]
    assert "dependencies" not in packages["numpy"]


def test_relock_after_a_round_trip_is_byte_identical(tmp_path: Path, cognix) -> None:
    project = copy_case("06-requirement-markers", tmp_path)
    assert cognix("lock", "--project", str(project)).code == 0
    first = (project / "pylock.toml").read_bytes()
    cog_yaml = project / "cog.yaml"
    original = cog_yaml.read_text()

    cog_yaml.write_text(original + "# changed\n")
    assert cognix("lock", "--project", str(project)).code == 0
    cog_yaml.write_text(original)
    assert cognix("lock", "--project", str(project)).code == 0

    assert (project / "pylock.toml").read_bytes() == first


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("002", {"torch": "2.0.1", "gradio": "6.25.0"}),
        ("004", {}),
        ("036", {}),
        ("037", {}),
        ("041", {"cog": None}),
    ],
)
def test_corpus_files_lock(tmp_path: Path, cognix, number: str, expected: dict[str, str]) -> None:
    project = corpus_project(tmp_path, number)

    result = cognix("lock", "--project", str(project))

    assert result.code == 0, result.stderr
    document = lock_document(project)
    locked = versions(document)
    for name, version in expected.items():
        assert name in locked
        assert version is None or locked[name] == version
    for package in document["packages"]:
        assert all(len(wheel["hashes"]["sha256"]) == 64 for wheel in package["wheels"])


def test_run_commands_and_system_packages_are_recorded(tmp_path: Path, cognix) -> None:
    project = corpus_project(tmp_path, "004")

    assert cognix("lock", "--project", str(project)).code == 0

    tool = lock_document(project)["tool"]["cognix"]
    assert tool["system-packages"] == [
        {"apt": "libgomp1", "nixpkgs": ["stdenv.cc.cc.lib"], "kind": "runtime"}
    ]
    assert [step["argv"][:2] for step in tool["run"]] == [["mkdir", "-p"]] * 4


def test_locked_packages_install_and_import(tmp_path: Path, cognix) -> None:
    from cognix import external
    from cognix.resolve.python import uv_binary

    project = copy_case("06-requirement-markers", tmp_path)
    (project / "cog.yaml").write_text(
        (project / "cog.yaml").read_text().replace('"3.12"', '"3.11"')
    )
    assert cognix("lock", "--project", str(project)).code == 0
    venv = tmp_path / "venv"

    external.run([uv_binary(), "venv", "--quiet", "--python", "3.11", str(venv)])
    python = str(venv / "bin" / "python")
    external.run([uv_binary(), "pip", "sync", "--quiet", "--python", python,
                  str(project / "pylock.toml")])  # fmt: skip
    imported = external.run([python, "-c", "import numpy, cog, coglet; print(numpy.__version__)"])

    assert imported.stdout == "2.1.3\n"


def _pin_pythons(rev: str) -> tuple[str, ...]:
    from cognix.resolve.pins import known_pins

    return next(pin.pythons for pin in known_pins() if pin.rev == rev)


def test_missing_native_libraries_are_named_with_apt_packages(tmp_path: Path, cognix) -> None:
    project = copy_case("07-opencv-needs-libgl", tmp_path)

    result = cognix("lock", "--project", str(project))

    assert result.code == 0, result.stderr
    assert "warning: the image would lack native libraries that locked wheels need:" in (
        result.stderr
    )
    assert "opencv-python 4.10.0.84: " in result.stderr
    assert "libGL.so.1 (apt: libgl1)" in result.stderr
    assert "libglib-2.0.so.0 (apt: libglib2.0-0)" in result.stderr
    hint = "  hint: add libgl1, libxcb1, libxext6, libx11-6, libsm6, libice6, libglib2.0-0"
    assert hint + " to build.system_packages in cog.yaml" in result.stderr.splitlines()


def test_named_apt_packages_satisfy_the_native_check(tmp_path: Path, cognix) -> None:
    project = copy_case("07-opencv-needs-libgl", tmp_path)
    names = ["libgl1", "libxcb1", "libxext6", "libx11-6", "libsm6", "libice6", "libglib2.0-0"]
    cog_yaml = project / "cog.yaml"
    listed = "".join(f"    - {name}\n" for name in names)
    cog_yaml.write_text(
        cog_yaml.read_text().replace("build:\n", f"build:\n  system_packages:\n{listed}")
    )

    result = cognix("lock", "--project", str(project))

    assert result.code == 0, result.stderr
    assert "native libraries" not in result.stderr
    system = lock_document(project)["tool"]["cognix"]["system-packages"]
    assert [package["apt"] for package in system] == names


def test_torch_decision_errors_point_at_the_requirement(tmp_path: Path, cognix) -> None:
    project = corpus_project(tmp_path, "029", "replicate/predict.py:Predictor")
    cog_yaml = project / "cog.yaml"

    result = cognix("lock", "--project", str(project))

    assert result.code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: {cog_yaml}:11:7: build.cuda 11.0 does not match torch==1.10.0+cu113,"
        " a CUDA 11.3 build"
    )
