"""Decide every version a project's image needs, and write it down as lock text.

This first resolution covers CPU projects whose only inputs are Python packages: the nixpkgs
pin (and with it the Python), the cog SDK, and every wheel with its hash. What needs later
stages (GPU, system packages, run commands, managed weights) is refused, not half-handled.
"""

from __future__ import annotations

from cognix.config.load import Project
from cognix.errors import Unsupported
from cognix.lock import LOCK_VERSION, build_lock, locked_version
from cognix.resolve.pins import choose_pin
from cognix.resolve.python import PythonTarget, ResolutionRequest, resolve_wheels
from cognix.resolve.sdk import cog_requirement


def unsupported_features(project: Project) -> list[str]:
    """Return what the project needs that this resolution cannot handle yet."""
    config = project.config
    plan = project.run_plan
    refusals = []
    if config.build.gpu:
        refusals.append("GPU builds (build.gpu: true)")
    if config.build.system_packages or plan.apt_packages:
        refusals.append("system packages")
    if plan.downloads or plan.shell_steps or plan.python_requirements:
        refusals.append("run commands")
    if config.weights is not None or config.model is not None:
        refusals.append("Cog managed weights (weights, model)")
    return refusals


def refuse_unsupported(project: Project) -> None:
    """Raise `Unsupported` for what the first lock cannot handle yet."""
    refusals = unsupported_features(project)
    if refusals:
        raise Unsupported(
            f"cognix cannot lock {', '.join(refusals)} yet",
            "this version locks CPU projects whose only inputs are Python packages",
        )


def resolve_lock(project: Project, digest: str, exclude_newer: str) -> str:
    """Resolve `project` into the text of its lock, dated `exclude_newer`."""
    minor = project.config.python_minor
    pin = choose_pin(minor, project.settings.nixpkgs.rev)
    sdk_line, prereleases = cog_requirement(project.config, minor)
    requirements = project.requirements
    target = PythonTarget(minor, project.settings.python.manylinux)
    request = ResolutionRequest(
        requirements=[line.text for line in requirements.requirements] + [sdk_line],
        constraints=[line.text for line in requirements.constraints],
        index_url=requirements.index_url,
        extra_index_urls=[
            *requirements.extra_index_urls,
            *project.settings.python.extra_index_urls,
        ],
        find_links=requirements.find_links,
        prereleases=prereleases or requirements.pre,
    )
    uv_text = resolve_wheels(request, target, exclude_newer)
    sdk = locked_version(uv_text, "cog") or ""
    tool_table = {
        "lock-version": LOCK_VERSION,
        "inputs-digest": digest,
        "exclude-newer": exclude_newer,
        "target": {"python": minor, "platform": target.platform},
        "cog": {"sdk": sdk},
        "nixpkgs": {
            "branch": pin.branch,
            "rev": pin.rev,
            "nar-hash": pin.nar_hash,
            "last-modified": pin.last_modified,
            "python-attr": pin.python_attr(minor),
        },
    }
    return build_lock(uv_text, tool_table)
