"""Hash the files that run commands download, once, at lock time.

A `curl`/`wget`/`pget` run command becomes a fixed-output fetch in the image build: Nix needs
its sha256 before it downloads. cognix fetches each URL once while locking, streaming the
body through sha256 (memory stays flat for multi-GB weights), and records url, hash and size.
Transient network failures are retried; the last one ends in `JobFailed` naming the URL.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

import httpx

from cognix.errors import JobFailed

log = logging.getLogger(__name__)

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


def hash_url(url: str, client: httpx.Client | None = None) -> HashedDownload:
    """Download `url` once, streaming it through sha256; retry transient failures."""
    own_client = client is None
    http = client or httpx.Client(follow_redirects=True, timeout=httpx.Timeout(30.0))
    try:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return _hash_once(http, url)
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
    finally:
        if own_client:
            http.close()


class _Transient(Exception):
    """A failure worth another try: a dropped connection or a 5xx answer."""


def _hash_once(http: httpx.Client, url: str) -> HashedDownload:
    digest = hashlib.sha256()
    size = 0
    try:
        with http.stream("GET", url) as response:
            if response.status_code in _RETRIED_STATUS:
                raise _Transient(f"HTTP {response.status_code}")
            if response.status_code != 200:
                raise JobFailed(
                    f"could not download {url}: HTTP {response.status_code}",
                    "fix the URL in cog.yaml, or replace the item in cognix.toml [run.N]",
                )
            for chunk in response.iter_bytes(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
    except httpx.TransportError as error:
        raise _Transient(str(error) or type(error).__name__) from None
    return HashedDownload(url, digest.hexdigest(), size)
