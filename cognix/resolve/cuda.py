"""Decide where torch comes from and which CUDA a build targets; read back the CUDA delivered.

    >>> plan = plan_torch(True, None, [("torch", "==2.1.0")], "3.11")
    >>> plan.source, plan.cuda, plan.extra_index_urls
    ('pypi', '12.1', ())
    >>> cuda_delivered([("torch", "2.1.0"), ("nvidia-cuda-runtime-cu12", "12.1.105")]).source
    'nvidia-cuda-runtime-cu12 wheel 12.1.105'

The rules are DESIGN.md section 3 ("torch and CUDA", "The CUDA delivered"); the facts come
from `cognix/data/torch-cuda.toml`: Cog's tables plus the CUDA PyPI's own torch wheels
carry. Nothing here touches the network.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from packaging.utils import canonicalize_name
from packaging.version import Version

from cognix.config.requirements import RequirementLine
from cognix.errors import InputError
from cognix.resolve._cuda_choice import (
    COMPANIONS,
    Choice,
    Tensorflow,
    Want,
    Wanted,
    choose_torch,
    read_tensorflow,
    wanted_by_name,
)
from cognix.resolve._cuda_tables import cuda_of_tag, major, minor, tables

__all__ = [
    "CudaDelivered",
    "Rewrite",
    "TorchPlan",
    "check_cuda_matches",
    "cuda_delivered",
    "plan_torch",
]

TorchSource = Literal["pypi", "pytorch", "none"]
_RUNTIME = re.compile(r"^nvidia-cuda-runtime(-cu\d+)?$")
_CUDNN = re.compile(r"^nvidia-cudnn(-cu\d+)?$")
_LOCAL_CUDA = re.compile(r"^(cu\d{3,})\b")


@dataclass(frozen=True)
class Rewrite:
    """One requirement the plan replaces: as written, and what the resolver gets instead."""

    name: str
    original: str
    replacement: str


@dataclass(frozen=True)
class TorchPlan:
    """Where torch comes from for one build, and the CUDA (and cuDNN major) it targets."""

    source: TorchSource
    torch: str | None = None
    cuda: str | None = None
    cudnn: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    rewrites: tuple[Rewrite, ...] = ()
    added: tuple[str, ...] = ()
    companions: tuple[tuple[str, str], ...] = ()
    note: str = ""
    warnings: tuple[str, ...] = ()

    def apply(self, requirements: Sequence[str]) -> list[str]:
        """Return requirement texts with the rewrites made and the added lines appended."""
        swaps = {rewrite.original: rewrite.replacement for rewrite in self.rewrites}
        return [swaps.get(text, text) for text in requirements] + list(self.added)


@dataclass(frozen=True)
class CudaDelivered:
    """The CUDA major.minor (and cuDNN major) the locked wheels carry, and how that is known."""

    version: str
    cudnn: str | None
    source: str


def plan_torch(
    config_gpu: bool,
    cuda: str | None,
    requirements: Sequence[RequirementLine | tuple[str, str]],
    python_minor: str,
    *,
    cudnn: str | None = None,
    torch_source: Literal["pytorch", "pypi"] = "pytorch",
) -> TorchPlan:
    """Decide the torch source, index, rewrites and CUDA for a build.

    `requirements` are requirement lines, or (name, specifier) pairs such as
    ("torch", "==2.1.0+cu121"). `cuda` and `cudnn` are cog.yaml's `build.cuda` and
    `build.cudnn`; `torch_source` is cognix.toml's choice for CPU builds. Raises
    `InputError` when the pins, `build.cuda` and the tables cannot agree.
    """
    wanted = wanted_by_name(requirements)
    if not config_gpu:
        return _cpu_plan(wanted, torch_source, cuda)
    want = Want(minor(cuda)) if cuda else None
    # Cog reads `tensorflow`; `tensorflow-gpu` (up to 2.11) has the same CUDA needs.
    tf_line = wanted.get("tensorflow") or wanted.get("tensorflow-gpu")
    tf, warnings = read_tensorflow(tf_line, want)
    plan = _gpu_plan(wanted, want, tf, python_minor)
    plan = replace(plan, warnings=plan.warnings + warnings)
    if tf is not None:
        plan = _with_tensorflow(plan, tf, want)
    return _with_cudnn(plan, cudnn, tf)


def cuda_delivered(packages: Sequence[tuple[str, str]]) -> CudaDelivered | None:
    """Return the CUDA that locked (name, version) pairs carry, or None when none is known.

    The `nvidia-cuda-runtime*` wheel decides where there is one; else torch's `+cuXYZ`
    local version; else the CUDA PyPI's own wheel of that torch release carries.
    """
    locked = {str(canonicalize_name(name)): version for name, version in packages}
    cudnn = next((major(v) for name, v in locked.items() if _CUDNN.match(name)), None)
    runtimes = [(name, v) for name, v in locked.items() if _RUNTIME.match(name)]
    if runtimes:
        return _from_runtime(runtimes, cudnn)
    if "torch" not in locked:
        return None
    torch = Version(locked["torch"])
    if torch.local is not None:
        # A +cpu or +rocm build carries no CUDA.
        tag = _LOCAL_CUDA.match(torch.local)
        source = f"torch local version +{tag.group(1)}" if tag else ""
        return CudaDelivered(cuda_of_tag(tag.group(1)), cudnn, source) if tag else None
    pypi = tables().pypi.get(torch.public)
    if pypi is None:
        return None
    source = f"PyPI default for torch {torch.public}"
    return CudaDelivered(pypi.cuda, cudnn or pypi.cudnn_major, source)


def check_cuda_matches(requested: str | None, delivered: CudaDelivered) -> None:
    """Raise `InputError` when `build.cuda` and the delivered CUDA differ in major.minor."""
    if requested is None or minor(requested) == delivered.version:
        return
    msg = f"build.cuda is {requested}, but the locked wheels carry CUDA {delivered.version} "
    msg += f"({delivered.source})"
    hint = f"set cuda to {delivered.version}, or pin torch built for CUDA {minor(requested)}"
    raise InputError(msg, hint)


def _from_runtime(runtimes: list[tuple[str, str]], cudnn: str | None) -> CudaDelivered:
    name, version = max(runtimes, key=lambda pair: Version(pair[1]))
    source = f"{name} wheel {version}"
    others = [f"{other} {v}" for other, v in runtimes if other != name]
    source += f" (also {', '.join(others)})" if others else ""
    return CudaDelivered(minor(version), cudnn, source)


def _cpu_plan(wanted: dict[str, Wanted], torch_source: str, cuda: str | None) -> TorchPlan:
    family = [wanted[n] for n in ("torch", *COMPANIONS) if n in wanted and not wanted[n].direct]
    ignored = f"build.cuda {cuda} is ignored: build.gpu is false"
    warnings: tuple[str, ...] = (ignored,) if cuda else ()
    if not family:
        return TorchPlan("none", note="CPU build without torch", warnings=warnings)
    rewrites = tuple(rewrite for line in family if (rewrite := _without_local(line)))
    warnings += tuple(
        f"{rewrite.original} is a CUDA build; this CPU build uses {rewrite.replacement}"
        for rewrite in rewrites
        if "+cu" in rewrite.original
    )
    exact = wanted["torch"].exact() if "torch" in wanted else None
    torch = exact.public if exact else None
    entry = tables().torch.get(torch) if torch else None
    companions = entry.companions() if entry else ()
    plan = TorchPlan("pytorch", torch, rewrites=rewrites, companions=companions)
    if torch_source == "pypi":
        note = "CPU build: torch from PyPI, whose Linux wheel also carries CUDA libraries, "
        note += 'as cognix.toml torch-source = "pypi" asks'
        return replace(plan, source="pypi", note=note, warnings=warnings)
    url = tables().index_url(None)
    note = f"CPU build: torch from PyTorch's CPU index {url}, without CUDA libraries"
    return replace(plan, extra_index_urls=(url,), note=note, warnings=warnings)


def _without_local(line: Wanted) -> Rewrite | None:
    exact = line.exact()
    if exact is None or exact.local is None:
        return None
    return Rewrite(line.name, line.text, line.pinned(exact.public))


def _gpu_plan(
    wanted: dict[str, Wanted], want: Want | None, tf: Tensorflow | None, python: str
) -> TorchPlan:
    torch = wanted.get("torch")
    family = [wanted[name] for name in COMPANIONS if name in wanted and not wanted[name].direct]
    if (torch is None and not family) or (torch is not None and torch.direct):
        return _without_torch(torch, want, tf)
    choice = choose_torch(torch, family, want, None if want else tf, python)
    return _torch_plan(choice, torch, family)


def _torch_plan(choice: Choice, torch: Wanted | None, family: list[Wanted]) -> TorchPlan:
    entry, pypi = tables().torch.get(choice.version), tables().pypi.get(choice.version)
    rewrites = [_rewrite(torch, choice.version)] if torch else []
    added = () if torch else (f"torch=={choice.version}",)
    companions = entry.companions() if entry else ()
    by_name = {line.name: line for line in family}
    for name, version in companions:
        if name in by_name:
            _check_companion(by_name[name], version, choice.version)
            rewrites.append(_rewrite(by_name[name], version))
    urls = (tables().index_url(choice.cuda),) if choice.source == "pytorch" else ()
    where = urls[0] if urls else "PyPI"
    note = f"torch {choice.version} from {where}: {choice.why}"
    note = f"{choice.picked}. {note}" if choice.picked else note
    cudnn = pypi.cudnn_major if pypi and choice.source == "pypi" else None
    kept = tuple(rewrite for rewrite in rewrites if rewrite is not None)
    return TorchPlan(
        choice.source, choice.version, choice.cuda, cudnn, urls, kept, added, companions, note
    )


def _rewrite(line: Wanted, version: str) -> Rewrite | None:
    change = line.rewrite_to(version)
    return Rewrite(line.name, *change) if change else None


def _check_companion(line: Wanted, version: str, torch: str) -> None:
    exact = line.exact()
    if exact.public == version if exact else line.specifier.contains(version):
        return
    msg = f"{line.text} does not go with torch {torch}, which pairs with {line.name}=={version}"
    raise InputError(msg, f"pin {line.name}=={version}, or leave its version out")


def _without_torch(torch: Wanted | None, want: Want | None, tf: Tensorflow | None) -> TorchPlan:
    if torch is not None:
        note = f"torch comes from {torch.text}; its CUDA is read from the locked wheel"
    elif tf is not None:
        note = f"no torch: CUDA {want.cuda if want else tf.cuda} for {tf.text}"
    else:
        note = "no torch or TensorFlow: the CUDA is what the locked wheels carry"
        note += f", checked against {want.named()}" if want else ""
    cuda = want.cuda if want else (tf.cuda if tf and torch is None else None)
    # Without TensorFlow's word, the cuDNN is the one Cog's base image for that CUDA has.
    cudnn = tf.cudnn if tf else tables().cudnn.get(cuda or "")
    return TorchPlan("none", cuda=cuda, cudnn=cudnn, note=note)


def _with_tensorflow(plan: TorchPlan, tf: Tensorflow, want: Want | None) -> TorchPlan:
    if plan.cuda is None:
        return plan
    given = "build.cuda" if want else f"torch {plan.torch}"
    if major(plan.cuda) != major(tf.cuda):
        msg = f"{tf.text} needs CUDA {major(tf.cuda)}.x (Cog's table: {tf.cuda}), but this "
        msg += f"build gets CUDA {plan.cuda} from {given}"
        raise InputError(msg, f"use a CUDA {major(tf.cuda)} release, or another TensorFlow")
    notes = []
    if plan.cuda != tf.cuda:
        note = f"{tf.text} was built for CUDA {tf.cuda}; this build gets CUDA {plan.cuda} "
        notes.append(note + f"from {given} (the same major version)")
    if plan.cudnn is not None and plan.cudnn != tf.cudnn:
        notes.append(f"{tf.text} expects cuDNN {tf.cudnn}; torch {plan.torch} brings {plan.cudnn}")
    cudnn = plan.cudnn or tf.cudnn
    return replace(plan, cudnn=cudnn, warnings=plan.warnings + tuple(notes))


def _with_cudnn(plan: TorchPlan, cudnn: str | None, tf: Tensorflow | None) -> TorchPlan:
    if cudnn is None:
        return plan
    pypi = tables().pypi.get(plan.torch or "")
    if plan.source == "pypi" and pypi and pypi.cudnn_major not in (None, cudnn):
        msg = f"build.cudnn {cudnn} does not match torch {plan.torch}, whose PyPI wheel "
        msg += f"brings cuDNN {pypi.cudnn_major} ({pypi.cudnn})"
        raise InputError(msg, f"set cudnn to {pypi.cudnn_major}, or remove it")
    if tf is not None and tf.cudnn != cudnn:
        msg = f"build.cudnn {cudnn} does not match {tf.text}, which Cog's table pairs with "
        msg += f"cuDNN {tf.cudnn}"
        raise InputError(msg, f"set cudnn to {tf.cudnn}, or remove it")
    return replace(plan, cudnn=cudnn)
