"""Fetch the bytes the native-library check reads: locked wheels, Debian's Contents index.

Bodies are streamed (memory stays flat), with the retry policy of `downloads`: transient
failures start the transfer over; the last one ends in `JobFailed` naming the URL. A wheel's
bytes must hash to the sha256 the lock recorded, whether they come from the network or from
cognix's cache (`<cache>/wheels/<sha256>.whl`); a download is kept only while it is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TypeVar

import httpx

from cognix.errors import JobFailed
from cognix.resolve import downloads

log = logging.getLogger(__name__)

T = TypeVar("T")

# The HTTP client and retry policy are the ones of run-command downloads.
http_client = downloads.http_client


def stream_url(http: httpx.Client, url: str, consume: Callable[[Iterable[bytes]], T]) -> T:
    """Pass the body of `url` to `consume`, retrying as `downloads.stream_url` does."""
    hint = "the index no longer serves it; run `cognix lock` again"
    return downloads.stream_url(http, url, consume, hint)


def cached_wheel(cache_dir: Path, sha256: str) -> Path:
    """Return where cognix's cache keeps the wheel whose bytes hash to `sha256`."""
    return cache_dir / "wheels" / f"{sha256}.whl"


@contextlib.contextmanager
def verified_wheel(
    http: httpx.Client, url: str, sha256: str, filename: str, cache_dir: Path
) -> Iterator[Path]:
    """Yield a file holding the wheel's bytes, checked against the locked `sha256`.

    The cached copy is used when it is intact (a damaged one is deleted); otherwise the wheel
    is downloaded into a temporary file that is removed afterwards.
    """
    cached = cached_wheel(cache_dir, sha256)
    if cached.is_file():
        if _file_sha256(cached) == sha256:
            yield cached
            return
        log.warning("deleting a damaged cached copy of %s: %s", filename, cached)
        cached.unlink()

    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cached.parent, prefix=".download-") as sink:
        log.info("reading %s", filename)
        got = stream_url(http, url, lambda chunks: _write_hashed(chunks, sink))
        if got != sha256:
            raise JobFailed(
                f"the bytes of {filename} no longer match pylock.toml "
                f"(expected sha256 {sha256}, got {got})",
                "the index replaced the file after locking; "
                "check why, then run `cognix lock` to lock the new bytes",
            )
        yield Path(sink.name)


def _write_hashed(chunks: Iterable[bytes], sink: IO[bytes]) -> str:
    sink.seek(0)
    sink.truncate()
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        sink.write(chunk)
    sink.flush()
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(downloads.CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
