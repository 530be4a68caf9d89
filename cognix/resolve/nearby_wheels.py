"""Find the releases of a package nearest a wanted version that do have a wheel for the target.

Used only to explain a failed resolution: cognix installs wheels, so a pinned version with
only an sdist fails, and the useful answer is which nearby versions would work. It reads the
package index's JSON listing (PEP 691); any failure here just means no suggestion.
"""

from __future__ import annotations

import logging
import re

import httpx
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

log = logging.getLogger(__name__)

PYPI_SIMPLE = "https://pypi.org/simple"
_NO_WHEEL = re.compile(
    r"Because (?:all versions of (?P<any>[A-Za-z0-9._-]+)|(?P<name>[A-Za-z0-9._-]+)"
    r"==(?P<version>\S+)) (?:has|have) no usable wheels"
)


def wheel_suggestion(uv_reason: str, python: str, manylinux: str) -> str | None:
    """Return "X V has no wheel …; nearest with one: …" for uv's no-wheel failure, or None."""
    match = _NO_WHEEL.search(uv_reason)
    if match is None:
        return None
    name = match.group("name") or match.group("any")
    wanted = match.group("version")
    try:
        versions = versions_with_wheels(name, python, manylinux)
    except (httpx.HTTPError, ValueError, KeyError) as error:
        log.debug("no wheel suggestion for %s: %s", name, error)
        return None
    target = f"CPython {python} on manylinux_{manylinux} x86_64"
    if not versions:
        return f"no release of {name} has a wheel for {target}"
    nearest = _nearest(versions, wanted)
    shown = ", ".join(str(version) for version in nearest)
    subject = f"{name} {wanted}" if wanted else name
    return f"{subject} has no wheel for {target}; nearest releases with one: {shown}"


def versions_with_wheels(name: str, python: str, manylinux: str) -> list[Version]:
    """Return the versions of `name` on PyPI that have a wheel installable on the target."""
    response = httpx.get(
        f"{PYPI_SIMPLE}/{name}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        follow_redirects=True,
        timeout=30.0,
    )
    response.raise_for_status()
    fits = _fitting_tags(python, manylinux)
    found: set[Version] = set()
    for file in response.json()["files"]:
        if file.get("yanked") or not file["filename"].endswith(".whl"):
            continue
        try:
            _, version, _, tags = parse_wheel_filename(file["filename"])
        except (InvalidWheelFilename, InvalidVersion):
            continue
        if not version.is_prerelease and any(_fits(tag, fits) for tag in tags):
            found.add(version)
    return sorted(found)


def _fitting_tags(python: str, manylinux: str) -> tuple[set[str], set[str], int]:
    """Return the interpreter tags, ABI tags and newest glibc minor the target accepts."""
    major, minor = python.split(".")[:2]
    interpreters = {f"cp{major}{minor}", f"py{major}", f"py{major}{minor}"}
    interpreters |= {f"cp{major}{older}" for older in range(2, int(minor) + 1)}
    abis = {f"cp{major}{minor}", "abi3", "none"}
    return interpreters, abis, int(manylinux.split("_")[1])


def _fits(tag: Tag, fits: tuple[set[str], set[str], int]) -> bool:
    interpreters, abis, glibc_minor = fits
    if tag.interpreter not in interpreters or tag.abi not in abis:
        return False
    if tag.abi == "abi3" and not tag.interpreter.startswith("cp"):
        return False
    if tag.platform == "any":
        return True
    legacy = {"manylinux1_x86_64": 5, "manylinux2010_x86_64": 12, "manylinux2014_x86_64": 17}
    if tag.platform in legacy:
        return legacy[tag.platform] <= glibc_minor
    policy = re.fullmatch(r"manylinux_2_(\d+)_x86_64", tag.platform)
    return policy is not None and int(policy.group(1)) <= glibc_minor


def _nearest(versions: list[Version], wanted: str | None) -> list[Version]:
    """Return up to two versions below and two above `wanted`, or the newest three."""
    try:
        pivot = Version(wanted) if wanted else None
    except InvalidVersion:
        pivot = None
    if pivot is None:
        return versions[-3:]
    below = [version for version in versions if version < pivot][-2:]
    above = [version for version in versions if version > pivot][:2]
    return below + above
