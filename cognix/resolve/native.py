"""Check at lock time that every ELF file of the locked wheels finds the libraries it needs.

DESIGN.md section 3, "Native libraries". A library a wheel's ELF file needs (DT_NEEDED) must
come from a locked wheel, the baseline every image has, a mapped system package, or the
NVIDIA driver at run time. What is left is reported with the Debian packages that ship it:

    report = check_native_libraries(wheels, system_sonames, cache_dir=cache_dir())
    if report.missing:
        log.warning("%s", report.message())

Wheels are read from cognix's cache or downloaded (below 100 MB unless `deep`), their bytes
checked against the lock. What each wheel links to is cached by its sha256, so a second run
reads nothing.
"""

from __future__ import annotations

import json
import logging
import tomllib
import zipfile
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import httpx
from packaging.utils import canonicalize_name

from cognix.errors import JobFailed
from cognix.lock import write_atomically
from cognix.resolve import _native_debian, _native_fetch
from cognix.resolve._native_debian import DEBIAN_CONTENTS_URL
from cognix.resolve._native_elf import ElfLinks, read_wheel_links
from cognix.resolve._native_report import MissingLibrary, NativeReport, sort_apt_packages

__all__ = [
    "BASELINE_SONAMES",
    "DEBIAN_CONTENTS_URL",
    "DOWNLOAD_LIMIT_BYTES",
    "MANYLINUX_2_28_LIBRARIES",
    "LockedWheel",
    "MissingLibrary",
    "NativeReport",
    "check_native_libraries",
    "libraries_left_out",
    "locked_wheels",
    "sonames_of_apt_packages",
]

log = logging.getLogger(__name__)

DOWNLOAD_LIMIT_BYTES = 100_000_000
LINKS_FORMAT = 1

# The libraries a manylinux_2_28 wheel may link without bundling them: `lib_whitelist` of
# "manylinux_2_28" in pypa/auditwheel's src/auditwheel/policy/manylinux-policy.json, the
# policy PEP 600 defers to, as shipped in auditwheel 6.8.2 (PyPI). The same list holds for
# manylinux_2_17 (+ libexpat) and every policy up to manylinux_2_41 (+ libmvec).
MANYLINUX_2_28_LIBRARIES = frozenset([
    "libGL.so.1", "libICE.so.6", "libSM.so.6", "libX11.so.6", "libXext.so.6",
    "libXrender.so.1", "libanl.so.1", "libatomic.so.1", "libc.so.6", "libdl.so.2",
    "libexpat.so.1", "libgcc_s.so.1", "libglib-2.0.so.0", "libgobject-2.0.so.0",
    "libgthread-2.0.so.0", "libm.so.6", "libmvec.so.1", "libnsl.so.1", "libpthread.so.0",
    "libresolv.so.2", "librt.so.1", "libstdc++.so.6", "libutil.so.1", "libz.so.1",
])  # fmt: skip
# The policy expects a desktop host to have X11, OpenGL, GLib and expat. A cognix image has
# them only through a system package (libgl1, libglib2.0-0, …), so they are not baseline.
_DESKTOP_LIBRARIES = frozenset([
    "libGL.so.1", "libICE.so.6", "libSM.so.6", "libX11.so.6", "libXext.so.6",
    "libXrender.so.1", "libexpat.so.1", "libglib-2.0.so.0", "libgobject-2.0.so.0",
    "libgthread-2.0.so.0",
])  # fmt: skip
# What every image has (glibc, libstdc++ and libatomic of gcc, libgcc_s, zlib), plus the
# dynamic loader and libcrypt, which wheels name but the policy file does not list.
BASELINE_SONAMES = (MANYLINUX_2_28_LIBRARIES - _DESKTOP_LIBRARIES) | {
    "ld-linux-x86-64.so.2",
    "libcrypt.so.1",
}


@cache
def libraries_left_out() -> frozenset[str]:
    """Return the sonames no image carries: the GPU driver's and NVIDIA's optional plugins'.

    They come from cognix/data/image-libraries.toml, which the image's build-time check
    reads too (through .cognix/project.json).
    """
    text = resources.files("cognix.data").joinpath("image-libraries.toml").read_text("utf-8")
    table = tomllib.loads(text)
    return frozenset(table["driver"]["sonames"]) | frozenset(table["optional"]["sonames"])


@dataclass(frozen=True)
class LockedWheel:
    """One wheel of the lock: where it comes from, what it hashes to, what it depends on.

    `size` is in bytes, as the lock records it; `dependencies` are package names.
    """

    name: str
    version: str
    url: str
    sha256: str
    size: int
    dependencies: tuple[str, ...] = ()

    @property
    def filename(self) -> str:
        """Return the wheel's file name, the last part of its URL."""
        return httpx.URL(self.url).path.rsplit("/", 1)[-1]


def check_native_libraries(
    packages: Sequence[LockedWheel],
    system_sonames: Set[str],
    *,
    allowed_missing: Set[str] = frozenset(),
    deep: bool = False,
    cache_dir: Path,
    limit: int = DOWNLOAD_LIMIT_BYTES,
    contents_url: str = DEBIAN_CONTENTS_URL,
) -> NativeReport:
    """Return the libraries the wheels' ELF files need that nothing in the image provides.

    `system_sonames` are the sonames of the project's mapped system packages (see
    `sonames_of_apt_packages`); `allowed_missing` are those cognix.toml lets go missing.
    Wheels of `limit` bytes or more that are not in the cache are listed as unread unless
    `deep`. A wheel whose bytes no longer hash to its locked
    sha256 raises `JobFailed`. The caller decides whether missing libraries are an error.
    """
    with _native_fetch.http_client() as http:
        links, unread = _read_wheels(http, packages, cache_dir, None if deep else limit)
        provided = set(BASELINE_SONAMES | libraries_left_out() | system_sonames)
        provided |= allowed_missing
        provided.update(
            name for found in links.values() for elf in found for name in elf.provides()
        )
        needs = [
            (wheel, elf, soname)
            for wheel in packages
            for elf in sorted(links.get(wheel.name, []), key=lambda elf: elf.path)
            for soname in elf.needed
            if soname not in provided
        ]
        wanted = {soname for _, _, soname in needs}
        apt, index_error = _apt_owners(http, cache_dir, contents_url, wanted)

    missing = [
        MissingLibrary(wheel.name, wheel.version, elf.path, soname, apt.get(soname, ()))
        for wheel, elf, soname in needs
    ]
    maybe_unread = _depending_on(packages, {wheel.name for wheel in unread})
    return NativeReport(
        missing=tuple(item for item in missing if item.wheel not in maybe_unread),
        unread=tuple((wheel.name, wheel.size) for wheel in unread),
        unverified=tuple(item for item in missing if item.wheel in maybe_unread),
        apt_index_error=index_error,
    )


def sonames_of_apt_packages(
    names: Iterable[str], *, cache_dir: Path, contents_url: str = DEBIAN_CONTENTS_URL
) -> set[str]:
    """Return the sonames the apt packages `names` ship, from Debian's Contents index.

    Only the packages' own files count, not those of the packages they depend on.
    """
    return _native_debian.sonames_of(
        names, _native_debian.load_soname_map(cache_dir, contents_url)
    )


def locked_wheels(lock_text: str) -> list[LockedWheel]:
    """Return the wheel of each package of a pylock.toml (PEP 751) text.

    A cognix lock holds one wheel per package, the one for its target, with its size and
    sha256, and each package's `dependencies` by name.
    """
    wheels: list[LockedWheel] = []
    for package in tomllib.loads(lock_text).get("packages", []):
        for wheel in package.get("wheels", [])[:1]:
            dependencies = tuple(d["name"] for d in package.get("dependencies", []))
            wheels.append(
                LockedWheel(
                    name=package["name"],
                    version=str(package.get("version", "")),
                    url=wheel["url"],
                    sha256=wheel["hashes"]["sha256"],
                    size=int(wheel["size"]),
                    dependencies=dependencies,
                )
            )
    return wheels


def _read_wheels(
    http: httpx.Client, packages: Sequence[LockedWheel], cache_dir: Path, limit: int | None
) -> tuple[dict[str, list[ElfLinks]], list[LockedWheel]]:
    """Return the ELF links of each wheel read, and the wheels left unread for their size."""
    links: dict[str, list[ElfLinks]] = {}
    unread: list[LockedWheel] = []
    for wheel in packages:
        found = _wheel_links(http, wheel, cache_dir, limit)
        if found is None:
            unread.append(wheel)
        else:
            links[wheel.name] = found
    return links, unread


def _wheel_links(
    http: httpx.Client, wheel: LockedWheel, cache_dir: Path, limit: int | None
) -> list[ElfLinks] | None:
    """Return the links of the wheel's ELF files; None when it is too large to read now."""
    record = cache_dir / "native" / f"{wheel.sha256}.json"
    known = _read_record(record)
    if known is not None:
        return known
    cached = _native_fetch.cached_wheel(cache_dir, wheel.sha256).is_file()
    if not cached and limit is not None and wheel.size >= limit:
        return None

    with (
        _native_fetch.verified_wheel(
            http, wheel.url, wheel.sha256, wheel.filename, cache_dir
        ) as path,
        zipfile.ZipFile(path) as archive,
    ):
        found = read_wheel_links(archive)
    record.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": LINKS_FORMAT, "elf": [elf.to_json() for elf in found]}
    write_atomically(record, json.dumps(document, indent=1))
    return found


def _read_record(path: Path) -> list[ElfLinks] | None:
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    try:
        if document["format"] == LINKS_FORMAT:
            return [ElfLinks.from_json(item) for item in document["elf"]]
    except (KeyError, TypeError):
        pass
    return None


def _apt_owners(
    http: httpx.Client, cache_dir: Path, url: str, sonames: Set[str]
) -> tuple[Mapping[str, tuple[str, ...]], str | None]:
    """Return the apt packages of `sonames`, or none and why when the index is unreadable."""
    if not sonames:
        return {}, None
    try:
        owners = _native_debian.load_soname_map(cache_dir, url, http)
    except JobFailed as error:
        log.warning("%s", error.message)
        return {}, error.message
    return {soname: sort_apt_packages(owners.get(soname, ())) for soname in sonames}, None


def _depending_on(packages: Sequence[LockedWheel], unread: set[str]) -> set[str]:
    """Return the wheels that depend, directly or not, on one of the `unread` wheels."""
    edges = {
        canonicalize_name(wheel.name): [canonicalize_name(name) for name in wheel.dependencies]
        for wheel in packages
    }
    targets = {canonicalize_name(name) for name in unread}
    reaching: set[str] = set()
    for wheel in packages:
        seen: set[str] = set()
        todo = list(edges[canonicalize_name(wheel.name)])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(edges.get(name, []))
        if seen & targets:
            reaching.add(wheel.name)
    return reaching
