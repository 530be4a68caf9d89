"""Hash the files that run commands download, once, at lock time.

A `curl`/`wget`/`pget` run command becomes a fixed-output fetch in the image build: Nix needs
its sha256 before it downloads. cognix fetches each URL once while locking, streaming the
body through sha256 (memory stays flat for multi-GB weights), and records url, hash and size.
Transient network failures are retried; the last one ends in `JobFailed` naming the URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from cognix.errors import JobFailed

log = logging.getLogger(__name__)

T = TypeVar("T")

CHUNK_BYTES = 1 << 20
ATTEMPTS = 3
FIRST_BACKOFF_SECONDS = 1.0
_RETRIED_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class HashedDownload:
    """What a URL's body hashed to when the lock was made."""

    url: str
    sha256: str
    size: int


def http_client() -> httpx.Client:
    """Return the HTTP client downloads use: redirects followed, 30 s timeouts."""
    return httpx.Client(follow_redirects=True, timeout=httpx.Timeout(30.0))


def stream_url(
    http: httpx.Client,
    url: str,
    consume: Callable[[Iterable[bytes]], T],
    missing_hint: str = "check the URL; the previous lock is unchanged",
) -> T:
    """Pass the body of `url` to `consume` as chunks; start over after transient failures.

    `consume` is called anew on each attempt and must start from nothing each time. The
    last failure, or an answer other than 200, raises `JobFailed` naming the URL.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _stream_once(http, url, consume, missing_hint)
        except _Transient as error:
            if attempt == ATTEMPTS:
                raise JobFailed(
                    f"could not download {url}: {error} (tried {ATTEMPTS} times)",
                    "check the URL and the network; the previous lock is unchanged",
                ) from None
            delay = FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1)
            log.debug("retrying %s in %.0f s after: %s", url, delay, error)
            time.sleep(delay)
    raise AssertionError("unreachable")


def hash_url(url: str, client: httpx.Client | None = None) -> HashedDownload:
    """Download `url` once, streaming it through sha256; retry transient failures."""
    hint = "fix the URL in cog.yaml, or replace the item in cognix.toml [run.N]"
    with contextlib.nullcontext(client) if client else http_client() as http:
        return stream_url(http, url, lambda chunks: _hashed(url, chunks), hint)


class _Transient(Exception):
    """A failure worth another try: a dropped connection or a 5xx answer."""


def _stream_once(
    http: httpx.Client, url: str, consume: Callable[[Iterable[bytes]], T], missing_hint: str
) -> T:
    try:
        with http.stream("GET", url) as response:
            if response.status_code in _RETRIED_STATUS:
                raise _Transient(f"HTTP {response.status_code}")
            if response.status_code != 200:
                message = f"could not download {url}: HTTP {response.status_code}"
                raise JobFailed(message, missing_hint)
            return consume(response.iter_bytes(CHUNK_BYTES))
    except httpx.TransportError as error:
        raise _Transient(str(error) or type(error).__name__) from None


def _hashed(url: str, chunks: Iterable[bytes]) -> HashedDownload:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return HashedDownload(url, digest.hexdigest(), size)
