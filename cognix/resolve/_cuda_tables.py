"""The tables of `cognix/data/torch-cuda.toml`, typed, and small CUDA version helpers.

The file restates Cog 0.23.1's torch, TensorFlow and base-image tables and adds what PyPI's
own torch wheel for Linux x86_64 carries per release; `scripts/derive_torch_cuda.py` wrote it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from packaging.version import Version

_T = TypeVar("_T")


@dataclass(frozen=True)
class CogTorch:
    """One torch release in Cog's table: its CUDA builds, companions and Pythons."""

    version: str
    cuda: tuple[str, ...]
    cpu: bool
    torchvision: str
    torchaudio: str
    pythons: tuple[str, ...]

    def companions(self) -> tuple[tuple[str, str], ...]:
        """Return the torchvision and torchaudio versions that go with this torch."""
        return (("torchvision", self.torchvision), ("torchaudio", self.torchaudio))


@dataclass(frozen=True)
class PypiTorch:
    """What PyPI's own torch wheel for Linux x86_64 carries."""

    version: str
    cuda: str
    runtime: str | None
    cudnn: str | None
    pythons: tuple[str, ...]

    @property
    def cudnn_major(self) -> str | None:
        """Return the cuDNN major of the pinned `nvidia-cudnn` wheel (None when bundled)."""
        return self.cudnn.split("==")[1].split(".")[0] if self.cudnn else None

    def carries(self) -> str:
        """Describe what the wheel carries, e.g. `nvidia-cuda-runtime-cu12==12.1.105`."""
        return self.runtime or f"CUDA {self.cuda} inside the wheel"


@dataclass(frozen=True)
class TfRelease:
    """One TensorFlow release in Cog's table: the CUDA and cuDNN major it expects."""

    version: str
    cuda: str
    cudnn: str


@dataclass(frozen=True)
class Tables:
    """Everything the data file says; torch releases are listed newest first."""

    torch: Mapping[str, CogTorch]
    pypi: Mapping[str, PypiTorch]
    tensorflow: Mapping[str, TfRelease]
    cudnn: Mapping[str, str]
    pytorch_index: str
    pypi_checked: str
    pypi_newest: str

    def index_url(self, cuda: str | None) -> str:
        """Return PyTorch's wheel index for a CUDA major.minor, or its CPU index for None."""
        return f"{self.pytorch_index}/{cuda_tag(cuda) if cuda else 'cpu'}"

    def release(self, version: Version) -> str:
        """Return how the tables spell a torch version (`2.1` is 2.1.0), without +local."""
        public = Version(version.public)
        known = (name for name in (*self.torch, *self.pypi) if Version(name) == public)
        return next(known, version.public)

    def pythons(self, version: str) -> tuple[str, ...]:
        """Return the Pythons a torch release has wheels for (PyPI's, else Cog's list)."""
        pypi = self.pypi.get(version)
        return pypi.pythons if pypi else self.torch[version].pythons

    def newest_for_cuda(self, cuda: str) -> str | None:
        """Return the newest torch release Cog's table lists for a CUDA major.minor."""
        return next((v for v, entry in self.torch.items() if cuda in entry.cuda), None)

    def tensorflow_for(self, version: Version) -> TfRelease | None:
        """Return the table's release with the same major.minor as a TensorFlow version."""
        wanted = (version.major, version.minor)
        for release in self.tensorflow.values():
            parsed = Version(release.version)
            if (parsed.major, parsed.minor) == wanted:
                return release
        return None


def minor(version: str) -> str:
    """Return the major.minor part of a version, e.g. "12.1" for "12.1.105"."""
    return ".".join(version.split(".")[:2])


def major(version: str) -> str:
    """Return the major part of a version, e.g. "12" for "12.1"."""
    return version.split(".")[0]


def cuda_tag(cuda: str) -> str:
    """Return PyTorch's tag for a CUDA major.minor, e.g. `cu121` for "12.1"."""
    return "cu" + minor(cuda).replace(".", "")


def cuda_of_tag(tag: str) -> str:
    """Return the CUDA major.minor of a PyTorch tag such as `cu121` (the last digit is minor)."""
    digits = tag.removeprefix("cu")
    return f"{digits[:-1]}.{digits[-1]}"


@cache
def tables() -> Tables:
    """Return the parsed data file (read once)."""
    text = resources.files("cognix.data").joinpath("torch-cuda.toml").read_text("utf-8")
    data = tomllib.loads(text)
    meta = data["meta"]
    return Tables(
        torch=_newest_first({v: _cog_torch(v, e) for v, e in data["torch"].items()}),
        pypi={v: _pypi_torch(v, e) for v, e in data["pypi"].items()},
        tensorflow=_newest_first({v: _tf(v, e) for v, e in data["tensorflow"].items()}),
        cudnn={cuda: entry["cudnn"] for cuda, entry in data["cuda"].items()},
        pytorch_index=meta["pytorch-index"],
        pypi_checked=meta["pypi-checked"],
        pypi_newest=meta["pypi-newest-torch"],
    )


def _newest_first(entries: dict[str, _T]) -> dict[str, _T]:
    return dict(sorted(entries.items(), key=lambda item: Version(item[0]), reverse=True))


def _cog_torch(version: str, entry: dict[str, Any]) -> CogTorch:
    return CogTorch(
        version,
        tuple(entry["cuda"]),
        entry["cpu"],
        entry["torchvision"],
        entry["torchaudio"],
        tuple(entry["pythons"]),
    )


def _pypi_torch(version: str, entry: dict[str, Any]) -> PypiTorch:
    return PypiTorch(
        version,
        entry["cuda"],
        entry.get("cuda-runtime"),
        entry.get("cudnn"),
        tuple(entry["pythons"]),
    )


def _tf(version: str, entry: dict[str, Any]) -> TfRelease:
    return TfRelease(version, entry["cuda"], entry["cudnn"])
