"""Resolve Python requirements to exact, hashed wheels for the image's platform, with uv.

uv runs as a subprocess (through `cognix.external`); its binary comes from the `uv` Python
package cognix depends on, so the version is the one cognix was tested with, not whatever
is on PATH. The result is uv's PEP 751 `pylock.toml` text.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cognix import external
from cognix.errors import ExternalCommandFailed, JobFailed
from cognix.resolve.nearby_wheels import wheel_suggestion

log = logging.getLogger(__name__)

PLATFORM_ARCH = "x86_64"


@dataclass(frozen=True)
class PythonTarget:
    """The interpreter and platform wheels are chosen for."""

    python: str
    manylinux: str = "2_28"

    @property
    def platform(self) -> str:
        """Return uv's name of the target platform, e.g. `x86_64-manylinux_2_28`."""
        return f"{PLATFORM_ARCH}-manylinux_{self.manylinux}"


@dataclass(frozen=True)
class ResolutionRequest:
    """Everything uv needs to resolve: requirement lines, constraints and indexes."""

    requirements: Sequence[str]
    constraints: Sequence[str] = ()
    index_url: str | None = None
    extra_index_urls: Sequence[str] = ()
    find_links: Sequence[str] = ()
    prereleases: bool = False


def uv_binary() -> str:
    """Return the path of the uv binary shipped with the `uv` package."""
    import uv

    return str(uv.find_uv_bin())


@dataclass(frozen=True)
class Resolution:
    """uv's pylock.toml text, and each locked package's direct dependencies for the target."""

    lock_text: str
    dependencies: dict[str, tuple[str, ...]]


def resolve_wheels(
    request: ResolutionRequest, target: PythonTarget, exclude_newer: str
) -> Resolution:
    """Resolve `request` for `target` with uv: the lock, and who depends on whom."""
    with tempfile.TemporaryDirectory(prefix="cognix-resolve-") as scratch:
        folder = Path(scratch)
        requirements = folder / "requirements.in"
        requirements.write_text("\n".join(request.requirements) + "\n", "utf-8")
        common = [
            "--no-header", "--quiet", "--python-version", target.python,
            "--python-platform", target.platform, "--only-binary", ":all:",
            "--exclude-newer", exclude_newer, *_index_arguments(request, folder),
        ]  # fmt: skip
        lock = folder / "pylock.toml"
        # uv's pylock.toml leaves out dependencies; the `via` annotations of a second,
        # identical resolution give them. The two run side by side and share uv's cache.
        annotated = folder / "requirements.txt"
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = [
                pool.submit(_compile, requirements, lock,
                            ["--format", "pylock.toml", "--generate-hashes", *common]),
                pool.submit(_compile, requirements, annotated,
                            ["--annotation-style", "line", *common]),
            ]  # fmt: skip
            try:
                for finished in runs:
                    finished.result()
            except JobFailed as error:
                raise _with_wheel_suggestion(error, target) from None
        return Resolution(lock.read_text("utf-8"), _dependencies(annotated.read_text("utf-8")))


def _compile(requirements: Path, output: Path, options: list[str]) -> None:
    argv = [uv_binary(), "pip", "compile", str(requirements), "-o", str(output), *options]
    try:
        external.run(argv, env={"UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never"})
    except ExternalCommandFailed as error:
        raise _resolution_failed(error) from None


def _dependencies(annotated: str) -> dict[str, tuple[str, ...]]:
    """Invert `name==version  # via a, b` lines into each package's dependencies."""
    dependencies: dict[str, set[str]] = {}
    for line in annotated.splitlines():
        pin, _, comment = line.partition("#")
        name = pin.split("==")[0].strip()
        if not name or "==" not in pin:
            continue
        dependencies.setdefault(name, set())
        parents = comment.strip().removeprefix("via").split(",")
        for parent in (part.strip() for part in parents):
            if parent and not parent.startswith("-"):
                dependencies.setdefault(parent, set()).add(name)
    return {name: tuple(sorted(names)) for name, names in sorted(dependencies.items())}


def _index_arguments(request: ResolutionRequest, folder: Path) -> list[str]:
    argv: list[str] = []
    if request.constraints:
        constraints = folder / "constraints.txt"
        constraints.write_text("\n".join(request.constraints) + "\n", "utf-8")
        argv += ["--constraint", str(constraints)]
    if request.index_url:
        argv += ["--index-url", request.index_url]
    for url in request.extra_index_urls:
        argv += ["--extra-index-url", url]
    for url in request.find_links:
        argv += ["--find-links", url]
    if request.prereleases:
        argv += ["--prerelease", "allow"]
    return argv


def _with_wheel_suggestion(error: JobFailed, target: PythonTarget) -> JobFailed:
    """Add the nearest releases that have a wheel to a failure caused by a missing one."""
    suggestion = wheel_suggestion(error.message, target.python, target.manylinux)
    if suggestion is None:
        return error
    return JobFailed(error.message, f"{suggestion}; cognix installs wheels only")


def _resolution_failed(error: ExternalCommandFailed) -> JobFailed:
    reason = error.stderr_tail or "uv gave no reason"
    hint = None
    if "no usable wheels" in reason or "no wheels" in reason:
        hint = "cognix installs wheels only: pin a version that has a manylinux x86_64 wheel"
    elif "error sending request" in reason or "Failed to fetch" in reason:
        hint = "check the network and the package index; the previous lock is unchanged"
    return JobFailed(f"could not resolve the Python requirements:\n{reason}", hint)
