"""Tests for cognix.resolve.cuda: the torch plan, the CUDA delivered, and the data behind them."""

from __future__ import annotations

import importlib.util
import json
import sys
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from cognix.config.requirements import (
    RequirementLine,
    read_requirement_lines,
    read_requirements_file,
)
from cognix.errors import InputError, Location
from cognix.resolve._cuda_tables import minor, tables
from cognix.resolve.cuda import (
    CudaDelivered,
    Rewrite,
    TorchPlan,
    check_cuda_matches,
    cuda_delivered,
    plan_torch,
)

from conftest import CASES, CORPUS, REPO

CU118 = "https://download.pytorch.org/whl/cu118"
CPU = "https://download.pytorch.org/whl/cpu"
REFERENCE = REPO.parent / "shared" / "reference"


def project_lines(cog_yaml: Path, requirements: Path | None = None) -> list[RequirementLine]:
    """Read the requirement lines a cog.yaml names, as the config loader would."""
    build = yaml.safe_load(cog_yaml.read_text("utf-8"))["build"]
    if "python_requirements" in build:
        path = requirements or cog_yaml.parent / build["python_requirements"]
        return list(read_requirements_file(path, cog_yaml.parent).requirements)
    items = [(Location(cog_yaml, 1, 1), text) for text in build.get("python_packages", [])]
    return list(read_requirement_lines(items).requirements)


def plan_project(cog_yaml: Path, requirements: Path | None = None, **build: Any) -> TorchPlan:
    """Plan torch for a cog.yaml, with `build` keys overriding the file's."""
    settings = {**yaml.safe_load(cog_yaml.read_text("utf-8"))["build"], **build}
    return plan_torch(
        settings.get("gpu", False),
        settings.get("cuda"),
        project_lines(cog_yaml, requirements),
        minor(settings["python_version"]),
        cudnn=settings.get("cudnn"),
    )


def plan(*pairs: tuple[str, str], gpu: bool = True, **kw: Any) -> TorchPlan:
    """Plan torch for (name, specifier) pairs; Python 3.11 unless `python` says otherwise."""
    python, cuda = kw.pop("python", "3.11"), kw.pop("cuda", None)
    return plan_torch(gpu, cuda, list(pairs), python, **kw)


def sourced(result: TorchPlan) -> tuple[str, str | None, tuple[str, ...]]:
    """Return where a plan takes torch from: source, CUDA and extra indexes."""
    return result.source, result.cuda, result.extra_index_urls


def refusal(*pairs: tuple[str, str], **kw: Any) -> InputError:
    """Return the InputError that planning `pairs` raises."""
    with pytest.raises(InputError) as raised:
        plan(*pairs, **kw)
    return raised.value


@dataclass(frozen=True)
class Expected:
    """What a project's plan must say."""

    source: str
    torch: str | None
    cuda: str | None
    cudnn: str | None
    indexes: tuple[str, ...] = ()
    rewrites: tuple[tuple[str, str], ...] = ()
    added: tuple[str, ...] = ()


# The shared cases and corpus files, each with the plan DESIGN.md section 3 gives it.
PROJECTS = {
    # Cases 04 and 09: see their EXPECTED.md.
    "case-04": (CASES / "04-torch-picks-cuda" / "cog.yaml", None, Expected(
        "pypi", "2.0.1", "11.7", "8")),
    "case-09": (CASES / "09-gpu-torch-unversioned" / "cog.yaml", None, Expected(
        "pypi", "2.11.0", "13.0", "9", rewrites=(("torch", "torch==2.11.0"),))),
    # torch 2.0.1 with cuda 11.7: PyPI's wheel carries exactly 11.7.
    "002": (CORPUS / "002.yaml", None, Expected("pypi", "2.0.1", "11.7", "8")),
    # No cuda: PyPI's 11.7 is one Cog lists for 2.0.1, so no index is needed.
    "010": (CORPUS / "010.yaml", None, Expected("pypi", "2.0.1", "11.7", "8")),
    # Unversioned torch and torchvision: newest torch with a listed PyPI CUDA, and its pair.
    "012": (CORPUS / "012.yaml", None, Expected(
        "pypi", "2.11.0", "13.0", "9",
        rewrites=(("torch", "torch==2.11.0"), ("torchvision", "torchvision==0.26.0")))),
    # torch 1.11 on PyPI bundles CUDA 10.2, which Cog's table drops; 11.3 is asked for.
    "031": (CORPUS / "031.yaml", None, Expected(
        "pytorch", "1.11.0", "11.3", None, ("https://download.pytorch.org/whl/cu113",))),
    # PyPI's 1.13.0 carries 11.7, not the 11.6 asked for.
    "039": (CORPUS / "039.yaml", None, Expected(
        "pytorch", "1.13.0", "11.6", None, ("https://download.pytorch.org/whl/cu116",))),
    # build.cuda 11.8 decides; TensorFlow 2.11's 11.2 has the same major; cuDNN 8 from TF.
    "043": (CORPUS / "043.yaml", CORPUS / "043.requirements.txt", Expected(
        "pytorch", "2.0.1", "11.8", "8", (CU118,))),
    # PyPI's 2.7.1 carries 12.6; the +cu128 pin needs PyTorch's cu128 index.
    "044": (CORPUS / "044.yaml", None, Expected(
        "pytorch", "2.7.1", "12.8", None, ("https://download.pytorch.org/whl/cu128",),
        (("torch==2.7.1+cu128", "torch==2.7.1"),))),
    "045": (CORPUS / "045.yaml", CORPUS / "045.requirements.txt", Expected(
        "pypi", "2.11.0", "13.0", "9", rewrites=(("torch", "torch==2.11.0"),))),
}  # fmt: skip


class TestProjects:
    @pytest.mark.parametrize("name", sorted(PROJECTS))
    def test_plans_as_design_says(self, name: str) -> None:
        cog_yaml, requirements, expected = PROJECTS[name]

        result = plan_project(cog_yaml, requirements)

        assert result.source == expected.source
        assert result.torch == expected.torch
        assert result.cuda == expected.cuda
        assert result.cudnn == expected.cudnn
        assert result.extra_index_urls == expected.indexes
        assert [(r.original, r.replacement) for r in result.rewrites] == list(expected.rewrites)
        assert result.added == expected.added
        assert f"torch {expected.torch} from " in result.note

    def test_case_04_takes_a_cuda_cog_lists_for_torch_2_0(self) -> None:
        result = plan_project(CASES / "04-torch-picks-cuda" / "cog.yaml")

        assert result.cuda in tables().torch["2.0.1"].cuda
        assert result.companions == (("torchvision", "0.15.2"), ("torchaudio", "2.0.2"))

    def test_case_04_with_cuda_11_8_takes_the_cu118_build(self) -> None:
        result = plan_project(CASES / "04-torch-picks-cuda" / "cog.yaml", cuda="11.8")

        assert sourced(result) == ("pytorch", "11.8", (CU118,))

    def test_case_04_never_records_11_8_over_wheels_built_for_11_7(self) -> None:
        delivered = cuda_delivered(TORCH_2_0_1_PYPI)
        assert delivered is not None

        with pytest.raises(InputError, match=r"build.cuda is 11.8, but .* carry CUDA 11.7"):
            check_cuda_matches("11.8", delivered)

    def test_case_09_says_which_torch_and_cuda_it_chose(self) -> None:
        result = plan_project(CASES / "09-gpu-torch-unversioned" / "cog.yaml")

        assert result.note.startswith(
            "torch is not pinned: chose torch 2.11.0, the newest whose PyPI wheel carries a "
            "CUDA Cog's table lists for it. torch 2.11.0 from PyPI: its wheel carries CUDA "
            "13.0 (nvidia-cuda-runtime==13.0.96.*)"
        )

    def test_case_09_no_newer_torch_has_a_listed_pypi_cuda(self) -> None:
        newer = [v for v in tables().torch if tuple(map(int, v.split("."))) > (2, 11, 0)]
        for version in newer:
            assert tables().pypi[version].cuda not in tables().torch[version].cuda

    def test_043_warns_that_tensorflow_was_built_for_11_2(self) -> None:
        result = plan_project(CORPUS / "043.yaml", CORPUS / "043.requirements.txt")

        assert result.warnings == (
            "tensorflow==2.11.1 was built for CUDA 11.2; this build gets CUDA 11.8 from "
            "build.cuda (the same major version)",
        )

    def test_case_04_file_is_unchanged_by_the_plan(self) -> None:
        result = plan_project(CASES / "04-torch-picks-cuda" / "cog.yaml")

        assert result.apply(["torch==2.0.1", "torchvision==0.15.2"]) == [
            "torch==2.0.1",
            "torchvision==0.15.2",
        ]


class TestPlanGpu:
    def test_pypi_wheel_when_its_cuda_is_listed(self) -> None:
        result = plan(("torch", "==2.1.0"))

        assert (result.source, result.cuda, result.cudnn) == ("pypi", "12.1", "8")
        assert result.note == (
            "torch 2.1.0 from PyPI: its wheel carries CUDA 12.1 "
            "(nvidia-cuda-runtime-cu12==12.1.105), which Cog's table lists for torch 2.1.0"
        )

    def test_local_tag_equal_to_pypi_cuda_uses_pypi(self) -> None:
        result = plan(("torch", "==2.1.0+cu121"))

        assert sourced(result) == ("pypi", "12.1", ())
        assert result.rewrites == (Rewrite("torch", "torch==2.1.0+cu121", "torch==2.1.0"),)

    def test_local_tag_other_than_pypi_uses_the_index(self) -> None:
        result = plan(("torch", "==2.1.0+cu118"), ("torchaudio", "==2.1.0+cu118"))

        assert sourced(result) == ("pytorch", "11.8", (CU118,))
        assert [r.replacement for r in result.rewrites] == ["torch==2.1.0", "torchaudio==2.1.0"]

    def test_build_cuda_other_than_pypi_uses_the_index(self) -> None:
        result = plan(("torch", "==2.0.1"), cuda="11.8")

        assert result.note == (
            "torch 2.0.1 from https://download.pytorch.org/whl/cu118: build.cuda asks for "
            "CUDA 11.8, and PyPI's wheel carries CUDA 11.7"
        )

    def test_short_pin_means_the_zero_patch(self) -> None:
        result = plan(("torch", "==2.1"))

        assert (result.torch, result.rewrites) == ("2.1.0", ())

    def test_build_cuda_with_patch_compares_major_minor(self) -> None:
        assert plan(("torch", "==2.1.0"), cuda="12.1.1").source == "pypi"

    def test_unversioned_with_build_cuda_takes_newest_for_that_cuda(self) -> None:
        result = plan(("torch", ""), cuda="11.8")

        assert result.torch == "2.7.1"
        assert sourced(result) == ("pytorch", "11.8", (CU118,))
        assert result.note.startswith(
            "torch is not pinned: chose torch 2.7.1, the newest Cog's table lists for CUDA 11.8."
        )

    def test_range_takes_newest_inside_it(self) -> None:
        result = plan(("torch", ">=2.3,<2.5"))

        assert (result.torch, result.source, result.cuda) == ("2.4.1", "pypi", "12.1")
        assert result.rewrites == (Rewrite("torch", "torch>=2.3,<2.5", "torch==2.4.1"),)

    def test_unversioned_torch_honours_a_pinned_companion(self) -> None:
        result = plan(("torch", ""), ("torchvision", "==0.15.2"), python="3.10")

        assert (result.torch, result.source, result.cuda) == ("2.0.1", "pypi", "11.7")

    def test_companion_alone_adds_its_torch(self) -> None:
        result = plan(("torchvision", "==0.15.2"), python="3.10")

        assert (result.torch, result.added, result.rewrites) == ("2.0.1", ("torch==2.0.1",), ())
        assert result.note.startswith("torch (for torchvision==0.15.2) is not pinned")

    def test_unversioned_companion_is_pinned_to_its_pair(self) -> None:
        result = plan(("torch", "==2.4.1"), ("torchaudio", ""))

        assert result.rewrites == (Rewrite("torchaudio", "torchaudio", "torchaudio==2.4.1"),)

    def test_torch_newer_than_cogs_table_uses_pypi(self) -> None:
        result = plan(("torch", "==2.13.0"), python="3.12")

        assert (result.source, result.cuda, result.cudnn, result.companions) == (
            "pypi", "13.0", "9", (),
        )  # fmt: skip
        assert "Cog's table ends at torch 2.11.0" in result.note

    def test_keeps_extras_and_markers_when_rewriting(self) -> None:
        text = 'torch[opt-einsum]==2.1.0+cu118; platform_system == "Linux"'
        lines = read_requirement_lines([(Location(Path("cog.yaml"), 3, 7), text)])

        result = plan_torch(True, None, lines.requirements, "3.11")

        expected = 'torch[opt-einsum]==2.1.0; platform_system == "Linux"'
        assert result.rewrites == (Rewrite("torch", text, expected),)

    def test_direct_url_torch_is_left_to_the_lock(self) -> None:
        text = "torch @ https://example.com/torch-2.1.0-cp311-cp311-linux_x86_64.whl"
        lines = read_requirement_lines([(Location(Path("cog.yaml"), 3, 7), text)])

        result = plan_torch(True, "12.1", lines.requirements, "3.11")

        assert (result.source, result.cuda, result.rewrites) == ("none", "12.1", ())
        assert result.note == f"torch comes from {text}; its CUDA is read from the locked wheel"

    def test_no_torch_keeps_build_cuda_with_cogs_cudnn(self) -> None:
        result = plan(("numpy", "==1.26.4"), cuda="12.4")

        assert (result.source, result.cuda, result.cudnn) == ("none", "12.4", "9")

    def test_no_torch_and_no_cuda_leaves_it_to_the_wheels(self) -> None:
        result = plan(("onnxruntime-gpu", ""))

        assert (result.source, result.cuda) == ("none", None)
        assert result.note == "no torch or TensorFlow: the CUDA is what the locked wheels carry"

    def test_tensorflow_alone_takes_its_cuda_and_cudnn(self) -> None:
        result = plan_project(CORPUS / "028.yaml")

        assert (result.source, result.cuda, result.cudnn) == ("none", "11.2", "8")

    def test_tensorflow_without_cuda_keeps_torch_on_its_major(self) -> None:
        result = plan(("tensorflow", "==2.12.0"), ("torch", "==2.1.0"), python="3.10")

        assert sourced(result) == ("pytorch", "11.8", (CU118,))

    def test_unpinned_tensorflow_is_a_warning(self) -> None:
        result = plan(("tensorflow", ">=2.12"), ("torch", "==2.1.0"))

        warning = "tensorflow>=2.12 is not pinned; its CUDA needs are not checked"
        assert result.warnings == (warning,)

    def test_matching_cudnn_is_kept(self) -> None:
        assert plan(("torch", "==2.4.0"), cudnn="9").cudnn == "9"


class TestPlanCpu:
    def test_uses_pytorch_cpu_index(self) -> None:
        result = plan(("torch", "==2.1.0"), ("torchvision", "==0.16.0"), gpu=False)

        assert sourced(result) == ("pytorch", None, (CPU,))
        assert result.rewrites == ()
        assert result.companions == (("torchvision", "0.16.0"), ("torchaudio", "2.1.0"))

    def test_cuda_build_pin_is_turned_into_a_cpu_pin(self) -> None:
        result = plan(("torch", "==2.1.0+cu121"), gpu=False)

        assert result.rewrites == (Rewrite("torch", "torch==2.1.0+cu121", "torch==2.1.0"),)
        assert result.warnings == (
            "torch==2.1.0+cu121 is a CUDA build; this CPU build uses torch==2.1.0",
        )

    def test_pypi_choice_adds_no_index(self) -> None:
        result = plan(("torch", "==1.13.1+cpu"), gpu=False, torch_source="pypi")

        assert (result.source, result.extra_index_urls) == ("pypi", ())
        assert result.rewrites == (Rewrite("torch", "torch==1.13.1+cpu", "torch==1.13.1"),)

    def test_without_torch_plans_nothing(self) -> None:
        result = plan(("numpy", ""), gpu=False, cuda="11.8")

        assert (result.source, result.extra_index_urls) == ("none", ())
        assert result.warnings == ("build.cuda 11.8 is ignored: build.gpu is false",)


# (pairs, keyword arguments, message, hint)
REFUSALS = {
    "cuda-not-listed-for-torch": (
        [("torch", "==2.0.1")], {"cuda": "12.1"},
        "build.cuda 12.1 does not match torch==2.0.1: Cog's table lists CUDA 11.7 and 11.8 "
        "for torch 2.0.1",
        "use CUDA 11.7 or 11.8, or pin a torch built for CUDA 12.1 (the newest is 2.5.1)",
    ),
    "cuda-against-local-tag": (
        [("torch", "==2.1.0+cu118")], {"cuda": "12.1"},
        "build.cuda 12.1 does not match torch==2.1.0+cu118, a CUDA 11.8 build",
        "drop +cu118 from the pin, or set cuda to 11.8",
    ),
    "local-tag-not-listed": (
        [("torch", "==2.1.0+cu117")], {},
        "torch==2.1.0+cu117 asks for CUDA 11.7: Cog's table lists CUDA 11.8 and 12.1 for "
        "torch 2.1.0",
        "use CUDA 11.8 or 12.1, or pin a torch built for CUDA 11.7 (the newest is 2.0.1)",
    ),
    "cpu-build-on-gpu": (
        [("torch", "==2.1.0+cpu")], {},
        "torch==2.1.0+cpu is not a CUDA build of torch, but build.gpu is true",
        "pin torch==2.1.0 or a +cuXYZ build",
    ),
    "no-wheel-for-python": (
        [("torch", "==2.0.1")], {"python": "3.12"},
        "torch 2.0.1 has no Linux x86_64 wheel for Python 3.12",
        "its wheels are for Python 3.8, 3.9, 3.10, 3.11",
    ),
    "companion-mismatch": (
        [("torch", "==2.0.1"), ("torchvision", "==0.16.0")], {"python": "3.10"},
        "torchvision==0.16.0 does not go with torch 2.0.1, which pairs with torchvision==0.15.2",
        "pin torchvision==0.15.2, or leave its version out",
    ),
    "newer-than-cog-with-other-cuda": (
        [("torch", "==2.13.0")], {"cuda": "12.8", "python": "3.12"},
        "build.cuda 12.8 does not match torch==2.13.0: Cog's table (up to torch 2.11.0) does "
        "not list it, and PyPI's wheel carries CUDA 13.0",
        "use CUDA 13.0, or pin torch 2.11.0 or older",
    ),
    "nothing-fits-range": (
        [("torch", "<1.11")], {"python": "3.10"},
        "no torch release in Cog's table fits torch<1.11, Python 3.10",
        "pin a torch release Cog's table lists, such as 2.11.0",
    ),
    "tensorflow-major": (
        [("tensorflow", "==2.11.0")], {"cuda": "12.1"},
        "tensorflow==2.11.0 needs CUDA 11.x (Cog's table: 11.2), but this build gets CUDA "
        "12.1 from build.cuda",
        "use a CUDA 11 release, or another TensorFlow",
    ),
    "tensorflow-unknown": (
        [("tensorflow", "==2.3.0")], {},
        "cognix does not know which CUDA tensorflow==2.3.0 needs: Cog's table has TensorFlow "
        "2.4 to 2.21",
        "set build.cuda, or pin a TensorFlow release the table lists",
    ),
    "cudnn-against-torch": (
        [("torch", "==2.4.0")], {"cudnn": "8"},
        "build.cudnn 8 does not match torch 2.4.0, whose PyPI wheel brings cuDNN 9 "
        "(nvidia-cudnn-cu12==9.1.0.70)",
        "set cudnn to 9, or remove it",
    ),
    "cudnn-against-tensorflow": (
        [("tensorflow", "==2.11.0")], {"cudnn": "9", "python": "3.10"},
        "build.cudnn 9 does not match tensorflow==2.11.0, which Cog's table pairs with cuDNN 8",
        "set cudnn to 8, or remove it",
    ),
}  # fmt: skip


class TestPlanRefusals:
    @pytest.mark.parametrize("name", sorted(REFUSALS))
    def test_refuses_with_message_and_hint(self, name: str) -> None:
        pairs, keywords, message, hint = REFUSALS[name]

        error = refusal(*pairs, **keywords)

        assert (error.message, error.hint) == (message, hint)

    def test_refuses_unknown_torch_version(self) -> None:
        error = refusal(("torch", "==2.0.5"))

        checked = tables().pypi_checked
        assert error.message == (
            "torch 2.0.5 is in neither Cog's torch/CUDA table nor cognix's table of PyPI"
            f" torch releases (read {checked})"
        )
        assert error.hint == "pin a torch those tables list, such as 2.11.0"

    def test_refusals_are_input_errors(self) -> None:
        assert refusal(("torch", "==2.0.5")).exit_code == 2


# Locked (name, version) pairs, as uv resolves them for Linux x86_64.
TORCH_2_0_1_PYPI = [
    ("torch", "2.0.1"), ("nvidia-cuda-runtime-cu11", "11.7.99"),
    ("nvidia-cudnn-cu11", "8.5.0.96"), ("nvidia-cublas-cu11", "11.10.3.66"),
    ("nvidia-cuda-nvrtc-cu11", "11.7.99"), ("triton", "2.0.0"), ("numpy", "1.26.4"),
]  # fmt: skip
TORCH_2_1_0_PYPI = [
    ("torch", "2.1.0"), ("nvidia-cuda-runtime-cu12", "12.1.105"),
    ("nvidia-cudnn-cu12", "8.9.2.26"), ("nvidia-cublas-cu12", "12.1.3.1"),
    ("nvidia-cusparse-cu12", "12.1.0.106"), ("nvidia-nvjitlink-cu12", "12.9.86"),
    ("triton", "2.1.0"),
]  # fmt: skip
TORCH_2_11_0_PYPI = [
    ("torch", "2.11.0"), ("cuda-toolkit", "13.0.2"), ("nvidia-cuda-runtime", "13.0.96"),
    ("nvidia-cudnn-cu13", "9.19.0.56"), ("nvidia-nvjitlink", "13.0.88"),
]  # fmt: skip
TORCH_2_7_1_CU128 = [
    ("torch", "2.7.1+cu128"), ("Nvidia_Cuda_Runtime_Cu12", "12.8.57"),
    ("nvidia-cudnn-cu12", "9.7.1.26"), ("torchvision", "0.22.1+cu128"),
]  # fmt: skip

DELIVERED = {
    "pypi-2.0.1": (TORCH_2_0_1_PYPI, CudaDelivered(
        "11.7", "8", "nvidia-cuda-runtime-cu11 wheel 11.7.99")),
    "pypi-2.1.0-ignores-nvjitlink": (TORCH_2_1_0_PYPI, CudaDelivered(
        "12.1", "8", "nvidia-cuda-runtime-cu12 wheel 12.1.105")),
    "pypi-2.11.0-cuda-13-names": (TORCH_2_11_0_PYPI, CudaDelivered(
        "13.0", "9", "nvidia-cuda-runtime wheel 13.0.96")),
    "index-cu128-with-runtime-wheel": (TORCH_2_7_1_CU128, CudaDelivered(
        "12.8", "9", "nvidia-cuda-runtime-cu12 wheel 12.8.57")),
    "index-cu113-bundled": ([("torch", "1.11.0+cu113"), ("numpy", "1.21.1")], CudaDelivered(
        "11.3", None, "torch local version +cu113")),
    "pypi-1.12.1-bundled": ([("torch", "1.12.1")], CudaDelivered(
        "10.2", None, "PyPI default for torch 1.12.1")),
    "pypi-2.1.0-torch-only": ([("torch", "2.1.0")], CudaDelivered(
        "12.1", "8", "PyPI default for torch 2.1.0")),
    "two-runtimes": ([*TORCH_2_1_0_PYPI, ("nvidia-cuda-runtime-cu11", "11.8.89")], CudaDelivered(
        "12.1", "8",
        "nvidia-cuda-runtime-cu12 wheel 12.1.105 (also nvidia-cuda-runtime-cu11 11.8.89)")),
    "runtime-without-torch": ([("onnxruntime-gpu", "1.20.1"),
        ("nvidia-cuda-runtime-cu12", "12.4.127")], CudaDelivered(
        "12.4", None, "nvidia-cuda-runtime-cu12 wheel 12.4.127")),
}  # fmt: skip


class TestCudaDelivered:
    @pytest.mark.parametrize("name", sorted(DELIVERED))
    def test_reads_the_cuda_the_lock_carries(self, name: str) -> None:
        packages, expected = DELIVERED[name]

        assert cuda_delivered(packages) == expected

    @pytest.mark.parametrize(
        "packages",
        [
            [("torch", "2.1.0+cpu")],
            [("torch", "2.5.1+rocm6.2")],
            [("numpy", "1.26.4")],
            [("torch", "2.0.5")],
            [],
        ],
    )
    def test_returns_none_when_nothing_carries_cuda(self, packages: list[tuple[str, str]]) -> None:
        assert cuda_delivered(packages) is None


class TestCheckCudaMatches:
    def test_refuses_a_different_cuda_naming_both(self) -> None:
        delivered = CudaDelivered("12.1", "8", "nvidia-cuda-runtime-cu12 wheel 12.1.105")

        with pytest.raises(InputError) as raised:
            check_cuda_matches("11.8", delivered)

        assert raised.value.message == (
            "build.cuda is 11.8, but the locked wheels carry CUDA 12.1 "
            "(nvidia-cuda-runtime-cu12 wheel 12.1.105)"
        )
        assert raised.value.hint == "set cuda to 12.1, or pin torch built for CUDA 11.8"

    @pytest.mark.parametrize("requested", [None, "12.1", "12.1.1"])
    def test_accepts_the_same_major_minor_or_none(self, requested: str | None) -> None:
        check_cuda_matches(requested, CudaDelivered("12.1", "8", "PyPI default for torch 2.1.0"))


def data_file() -> dict[str, Any]:
    """Return the raw data file."""
    text = resources.files("cognix.data").joinpath("torch-cuda.toml").read_text("utf-8")
    return tomllib.loads(text)


def newer_or_equal(version: str, floor: str) -> bool:
    """Compare dotted release numbers."""
    return tuple(map(int, version.split("."))) >= tuple(map(int, floor.split(".")))


class TestDataFile:
    def test_header_names_its_sources_and_date(self) -> None:
        text = resources.files("cognix.data").joinpath("torch-cuda.toml").read_text("utf-8")
        header = text.split("[meta]")[0]

        for source in ("torch_compatibility.json", "cuda_compatibility.json", "tf_compatibility"):
            assert source in header
        assert "scripts/derive_torch_cuda.py" in header
        assert f"Looked at PyPI on {tables().pypi_checked}" in header

    def test_every_torch_entry_has_companions_cuda_and_pythons(self) -> None:
        for version, entry in tables().torch.items():
            assert entry.torchvision, version
            assert entry.torchaudio, version
            assert entry.cuda, version
            assert entry.pythons, version

    def test_every_listed_cuda_has_a_base_image(self) -> None:
        for entry in tables().torch.values():
            assert set(entry.cuda) <= set(tables().cudnn)

    def test_pypi_table_covers_cogs_torch_from_2_0_0(self) -> None:
        wanted = {v for v in tables().torch if newer_or_equal(v, "2.0.0")}
        missing = wanted - set(tables().pypi)
        assert not missing
        for version in wanted:
            assert tables().pypi[version].runtime, version

    def test_pypi_table_covers_every_release_up_to_the_newest(self) -> None:
        pypi = tables().pypi
        assert max(pypi, key=lambda v: tuple(map(int, v.split(".")))) == tables().pypi_newest
        assert {"1.13.0", "1.13.1", "2.0.0", "2.0.1", "2.1.0", "2.10.0"} <= set(pypi)

    def test_pypi_cuda_is_the_runtime_wheels_major_minor(self) -> None:
        for version, entry in tables().pypi.items():
            if entry.runtime is not None:
                assert minor(entry.runtime.split("==")[1]) == entry.cuda, version

    @pytest.mark.parametrize(
        ("version", "runtime", "cudnn"),
        [
            ("1.13.0", "nvidia-cuda-runtime-cu11==11.7.99", "nvidia-cudnn-cu11==8.5.0.96"),
            ("2.0.1", "nvidia-cuda-runtime-cu11==11.7.99", "nvidia-cudnn-cu11==8.5.0.96"),
            ("2.1.0", "nvidia-cuda-runtime-cu12==12.1.105", "nvidia-cudnn-cu12==8.9.2.26"),
            ("2.4.0", "nvidia-cuda-runtime-cu12==12.1.105", "nvidia-cudnn-cu12==9.1.0.70"),
            ("2.7.1", "nvidia-cuda-runtime-cu12==12.6.77", "nvidia-cudnn-cu12==9.5.1.17"),
            ("2.8.0", "nvidia-cuda-runtime-cu12==12.8.90", "nvidia-cudnn-cu12==9.10.2.21"),
            ("2.11.0", "nvidia-cuda-runtime==13.0.96.*", "nvidia-cudnn-cu13==9.19.0.56"),
        ],
    )
    def test_pypi_records_what_pypi_said(self, version: str, runtime: str, cudnn: str) -> None:
        entry = tables().pypi[version]

        assert (entry.runtime, entry.cudnn) == (runtime, cudnn)

    def test_cog_rows_match_reference_md_2_3(self) -> None:
        rows = {
            "1.13.1": ("11.6", "11.7"),
            "2.6.0": ("11.8", "12.4", "12.6"),
            "2.8.0": ("12.6", "12.8", "12.9"),
            "2.11.0": ("12.6", "12.8", "12.9", "13.0"),
        }
        for version, cuda in rows.items():
            assert tables().torch[version].cuda == cuda

    def test_tensorflow_cudnn_is_a_major_version(self) -> None:
        for release in tables().tensorflow.values():
            assert release.cudnn.isdigit()
        assert tables().tensorflow["2.18.0"].cuda == "12.5"

    @pytest.mark.skipif(not REFERENCE.is_dir(), reason="needs ../shared/reference")
    def test_cog_sections_restate_the_reference_json(self, derive_script: ModuleType) -> None:
        script = derive_script
        read = {name: json.loads((REFERENCE / f"{name}.json").read_text()) for name in (
            "torch_compatibility", "cuda_compatibility", "tf_compatibility")}  # fmt: skip
        lines = script.image_section(read["cuda_compatibility"])
        lines += script.torch_section(read["torch_compatibility"], read["cuda_compatibility"])
        lines += script.tf_section(read["tf_compatibility"])

        derived = tomllib.loads("\n".join(lines))
        for key in ("cuda", "torch", "tensorflow"):
            assert derived[key] == data_file()[key]


@pytest.fixture
def derive_script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import scripts/derive_torch_cuda.py, which is not a package module."""
    path = REPO / "scripts" / "derive_torch_cuda.py"
    spec = importlib.util.spec_from_file_location("derive_torch_cuda", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module
