"""Decide every version a project's image needs, and write it down as lock text.

In order: the nixpkgs pin (and with it the Python), the system packages (apt names mapped
to nixpkgs), the torch source and CUDA, the Python packages with uv (user requirements,
`pip install` run commands and the cog SDK), the CUDA the locked wheels deliver, and the
hashes of run-command downloads. The result is `pylock.toml` with its `[tool.cognix]` table.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from typing import Any

from cognix.cache import cache_dir
from cognix.config.load import Project
from cognix.config.requirements import RequirementSet, read_requirement_lines
from cognix.errors import ConfigError, InputError, JobFailed, Location, Problem, Unsupported
from cognix.lock import LOCK_VERSION, build_lock
from cognix.resolve.cuda import (
    CudaDelivered,
    TorchPlan,
    check_cuda_matches,
    cuda_delivered,
    plan_torch,
)
from cognix.resolve.downloads import hash_url
from cognix.resolve.native import (
    NativeReport,
    check_native_libraries,
    locked_wheels,
    sonames_of_apt_packages,
)
from cognix.resolve.pins import NixpkgsPin, choose_pin
from cognix.resolve.python import PythonTarget, ResolutionRequest, resolve_wheels
from cognix.resolve.sdk import cog_requirement
from cognix.resolve.system import SystemPackage, attribute_at

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockOutcome:
    """The lock text, and what the user should hear about the decisions behind it."""

    text: str
    notes: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def unsupported_features(project: Project) -> list[str]:
    """Return what the project needs that cognix cannot lock yet."""
    config = project.config
    refusals = []
    if config.weights is not None or config.model is not None:
        refusals.append("Cog managed weights (weights, model)")
    if any(line.local_path for line in project.requirements.requirements):
        # uv would record a path relative to its scratch folder; a store path is the fix.
        refusals.append("local wheel or sdist files named in requirements")
    return refusals


def refuse_unsupported(project: Project) -> None:
    """Raise `Unsupported` for what cognix cannot lock yet."""
    refusals = unsupported_features(project)
    if refusals:
        raise Unsupported(
            f"cognix cannot lock {', '.join(refusals)} yet",
            "load weights in setup(); publish local packages to an index or use name @ URL",
        )


def resolve_lock(
    project: Project, digest: str, exclude_newer: str, *, deep: bool = False
) -> LockOutcome:
    """Resolve `project` into the text of its lock, dated `exclude_newer`.

    `deep` reads every wheel for the native-library check, however large.
    """
    config, settings = project.config, project.settings
    minor = config.python_minor
    pin = choose_pin(minor, settings.nixpkgs.rev)
    system = project.system_packages
    python = _python_requirements(project)
    try:
        torch = plan_torch(
            config.build.gpu,
            config.build.cuda,
            python.requirements,
            minor,
            cudnn=config.build.cudnn,
            torch_source=settings.python.torch_source,
        )
    except InputError as error:
        raise _located(error, project, python) from None

    target = PythonTarget(minor, settings.python.manylinux)
    try:
        resolution = resolve_wheels(_request(project, python, torch), target, exclude_newer)
    except JobFailed as error:
        raise _with_index_hint(error, torch) from None
    locked = _locked_versions(resolution.lock_text)
    delivered = _cuda(project, torch, locked)

    tool_table = {
        "lock-version": LOCK_VERSION,
        "inputs-digest": digest,
        "inputs": [
            path.resolve().relative_to(project.directory.resolve()).as_posix()
            for path, _ in project.inputs
        ],
        "exclude-newer": exclude_newer,
        "target": {"python": minor, "platform": target.platform},
        "cog": {"sdk": locked.get("cog", "")},
        "nixpkgs": _pin_table(pin, minor),
        **({"cuda": _cuda_table(delivered)} if delivered else {}),
        "system-packages": [_system_table(package, pin) for package in system],
        "run": _run_tables(project),
    }
    notes = _notes(torch, delivered, system)
    text = build_lock(resolution.lock_text, resolution.dependencies, tool_table)
    native = _native_report(text, system, project.settings.image.allow_missing, deep)
    # Missing libraries are a warning: the image build repeats the check and stops there.
    findings = native.message()
    hint = native.hint()
    warnings = (findings + (f"\n  hint: {hint}" if hint else ""),) if findings else ()
    return LockOutcome(text, notes, warnings)


def _python_requirements(project: Project) -> RequirementSet:
    """Return the user's requirements plus those `pip install` run commands add."""
    plan = project.run_plan
    from_run = read_requirement_lines([*plan.pip_options, *plan.python_requirements])
    user = project.requirements
    return RequirementSet(
        requirements=user.requirements + from_run.requirements,
        constraints=user.constraints,
        index_url=user.index_url or from_run.index_url,
        extra_index_urls=tuple(dict.fromkeys(user.extra_index_urls + from_run.extra_index_urls)),
        find_links=tuple(dict.fromkeys(user.find_links + from_run.find_links)),
        pre=user.pre or from_run.pre,
        files=user.files,
        warnings=user.warnings + from_run.warnings,
    )


def _request(project: Project, python: RequirementSet, torch: TorchPlan) -> ResolutionRequest:
    sdk_line, prereleases = cog_requirement(project.config, project.config.python_minor)
    texts = torch.apply([line.text for line in python.requirements])
    extra = [*python.extra_index_urls, *torch.extra_index_urls]
    extra += project.settings.python.extra_index_urls
    return ResolutionRequest(
        requirements=[*texts, sdk_line],
        constraints=[line.text for line in python.constraints],
        index_url=python.index_url,
        extra_index_urls=list(dict.fromkeys(extra)),
        find_links=python.find_links,
        prereleases=prereleases or python.pre,
    )


def _located(error: InputError, project: Project, python: RequirementSet) -> ConfigError:
    """Place a torch/CUDA decision error at the requirement line it is about."""
    family = ("torch", "torchvision", "torchaudio", "tensorflow", "tensorflow-gpu")
    lines = [line for line in python.requirements if line.name in family]
    location = lines[0].location if lines else Location(project.cog_yaml, 1)
    return ConfigError([Problem(location, error.message, error.hint)])


def _with_index_hint(error: JobFailed, torch: TorchPlan) -> JobFailed:
    """Name PyTorch's index when it was the one out of reach, and the way around it."""
    unreachable = [url for url in torch.extra_index_urls if url.rstrip("/") in error.message]
    if not unreachable or "Failed to fetch" not in error.message:
        return error
    hint = f"{unreachable[0]} (PyTorch's index) could not be reached"
    if torch.source == "pytorch" and torch.cuda is None:
        hint += '; for a CPU build, cognix.toml [python] torch-source = "pypi" takes PyPI\'s '
        hint += "larger torch wheel (with CUDA libraries) instead"
    return JobFailed(error.message, hint)


def _native_report(
    lock_text: str, system: tuple[SystemPackage, ...], allowed: list[str], deep: bool
) -> NativeReport:
    """Check the locked wheels' ELF files against what the image will hold."""
    cache = cache_dir() / "native"
    runtime = [package.apt for package in system if package.kind == "runtime"]
    sonames = sonames_of_apt_packages(runtime, cache_dir=cache) if runtime else set()
    return check_native_libraries(
        locked_wheels(lock_text), sonames, allowed_missing=set(allowed), deep=deep, cache_dir=cache
    )


def _locked_versions(lock_text: str) -> dict[str, str]:
    packages = tomllib.loads(lock_text).get("packages", [])
    return {str(package["name"]): str(package["version"]) for package in packages}


def _cuda(project: Project, torch: TorchPlan, locked: dict[str, str]) -> CudaDelivered | None:
    """Return the CUDA the image gets: what the wheels carry, else nixpkgs' for the plan."""
    if not project.config.build.gpu:
        return None
    delivered = cuda_delivered(sorted(locked.items()))
    if delivered is not None:
        check_cuda_matches(project.config.build.cuda, delivered)
        return delivered
    if torch.cuda is None:
        return None
    # No wheel brings CUDA: the nixpkgs cudaPackages set of the planned version does.
    return CudaDelivered(torch.cuda, torch.cudnn, f"nixpkgs cudaPackages_{torch.cuda}")


def _pin_table(pin: NixpkgsPin, minor: str) -> dict[str, Any]:
    return {
        "branch": pin.branch,
        "rev": pin.rev,
        "nar-hash": pin.nar_hash,
        "last-modified": pin.last_modified,
        "python-attr": pin.python_attr(minor),
    }


def _cuda_table(delivered: CudaDelivered) -> dict[str, str]:
    table = {"version": delivered.version, "source": delivered.source}
    if delivered.cudnn is not None:
        table["cudnn"] = delivered.cudnn
    return table


def _system_table(package: SystemPackage, pin: NixpkgsPin) -> dict[str, Any]:
    attributes = [attribute_at(attribute, pin.branch) for attribute in package.nixpkgs]
    return {"apt": package.apt, "nixpkgs": attributes, "kind": package.kind}


def _run_tables(project: Project) -> list[dict[str, Any]]:
    """Return the run steps in order; downloads are fetched once here and hashed."""
    plan = project.run_plan
    steps: list[tuple[int, int, dict[str, Any]]] = []
    for download in plan.downloads:
        table = {"line": download.location.line, "kind": "download", "url": download.url,
                 "dest": download.dest}  # fmt: skip
        if download.sha256 is not None:
            table["sha256"] = download.sha256
        else:
            hashed = hash_url(download.url)
            table |= {"sha256": hashed.sha256, "size": hashed.size}
        if download.mode is not None:
            table["mode"] = download.mode
        steps.append((download.location.line, download.location.column, table))
    for step in plan.shell_steps:
        table = {"line": step.location.line, "kind": "shell", "argv": list(step.argv)}
        table |= {key: value for key, value in (("cwd", step.cwd), ("stdout", step.stdout))
                  if value is not None}  # fmt: skip
        if step.append:
            table["append"] = True
        steps.append((step.location.line, step.location.column, table))
    for location, attribute in plan.nixpkgs:
        table = {"line": location.line, "kind": "nixpkgs", "attribute": attribute}
        steps.append((location.line, location.column, table))
    return [table for _, _, table in sorted(steps, key=lambda item: item[:2])]


def _notes(
    torch: TorchPlan, delivered: CudaDelivered | None, system: tuple[SystemPackage, ...]
) -> tuple[str, ...]:
    notes = [*torch.warnings]
    if torch.source != "none" and torch.note:
        notes.append(torch.note)
    if delivered is not None:
        notes.append(f"CUDA {delivered.version} from {delivered.source}")
    notes += [f"{p.apt}: {p.note}" for p in system if p.kind == "build-tool" and p.note]
    return tuple(notes)
