"""Tell which Debian packages ship each shared library, from Debian's Contents index.

The Contents index of bookworm's main archive (about 11 MB of gzip, 150 MB of text) lists
every file of every package. It is streamed once; the shared libraries in the dynamic
linker's default folders (or, for names found nowhere else, in their subfolders) are kept as
soname -> apt packages, and that map is cached as JSON in cognix's cache (about 1.5 MB),
which later runs read instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import httpx

from cognix.lock import write_atomically
from cognix.resolve._native_fetch import http_client, stream_url

log = logging.getLogger(__name__)

DEBIAN_CONTENTS_URL = "https://deb.debian.org/debian/dists/bookworm/main/Contents-amd64.gz"
MAP_FORMAT = 1
# The folders ld.so searches on Debian amd64 (bookworm still ships some files under /lib).
_LIBRARY_FOLDERS = (b"usr/lib/x86_64-linux-gnu/", b"lib/x86_64-linux-gnu/")
_LIBRARY_NAME = re.compile(r"[^/\s]+\.so(?:\.[^/\s]+)?")
_TEXT_BYTES = 4 << 20

SonameMap = Mapping[str, tuple[str, ...]]
_Owners = dict[str, set[str]]


def load_soname_map(
    cache_dir: Path, url: str = DEBIAN_CONTENTS_URL, http: httpx.Client | None = None
) -> SonameMap:
    """Return soname -> apt packages: from the cache, else from the index at `url`."""
    path = cache_dir / "debian" / f"sonames-{hashlib.sha256(url.encode()).hexdigest()[:16]}.json"
    cached = _read_cache(path, url)
    if cached is not None:
        return cached

    log.info("reading Debian's Contents index %s", url)
    if http is None:
        with http_client() as own:
            sonames = stream_url(own, url, parse_contents)
    else:
        sonames = stream_url(http, url, parse_contents)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": MAP_FORMAT, "url": url, "sonames": sonames}
    write_atomically(path, json.dumps(document, separators=(",", ":"), sort_keys=True))
    return sonames


def sonames_of(packages: Iterable[str], sonames: SonameMap) -> set[str]:
    """Return the sonames that any of the apt `packages` ships."""
    wanted = set(packages)
    return {soname for soname, owners in sonames.items() if wanted.intersection(owners)}


def parse_contents(chunks: Iterable[bytes]) -> dict[str, tuple[str, ...]]:
    """Return soname -> packages from the gzip-compressed Contents index in `chunks`.

    A library found only in a subfolder (`blas/libblas.so.3`, chosen by update-alternatives
    or a RUNPATH) counts when no package ships the name in the folder itself.
    """
    inflate = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    direct: dict[str, set[str]] = {}
    nested: dict[str, set[str]] = {}
    rest = b""
    for chunk in chunks:
        text = inflate.decompress(chunk, _TEXT_BYTES)
        while True:
            rest = _take_lines(rest + text, direct, nested)
            if not inflate.unconsumed_tail:
                break
            text = inflate.decompress(inflate.unconsumed_tail, _TEXT_BYTES)
    _take_lines(rest + inflate.flush() + b"\n", direct, nested)
    found = {**nested, **direct}
    return {soname: tuple(sorted(found[soname])) for soname in sorted(found)}


def _take_lines(text: bytes, direct: _Owners, nested: _Owners) -> bytes:
    """Add the library lines of `text` to the maps; return the unfinished last line."""
    lines = text.split(b"\n")
    rest = lines.pop()
    for line in lines:
        if line.startswith(_LIBRARY_FOLDERS):
            _add_line(line.decode("utf-8", "replace"), direct, nested)
    return rest


def _add_line(line: str, direct: _Owners, nested: _Owners) -> None:
    parts = line.rsplit(None, 1)
    if len(parts) != 2:
        return
    path, locations = parts
    folder, _, name = path.rpartition("/")
    if not _LIBRARY_NAME.fullmatch(name):
        return
    found = direct if f"{folder}/".encode() in _LIBRARY_FOLDERS else nested
    # A location is `section/package`, or `area/section/package` outside main.
    owners = found.setdefault(name, set())
    owners.update(location.rsplit("/", 1)[-1] for location in locations.split(","))


def _read_cache(path: Path, url: str) -> dict[str, tuple[str, ...]] | None:
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if document.get("format") != MAP_FORMAT or document.get("url") != url:
        return None
    return {soname: tuple(owners) for soname, owners in document["sonames"].items()}
