"""Hashing run-command downloads at lock time, against a local HTTP server."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cognix.errors import JobFailed
from cognix.resolve import downloads
from cognix.resolve.downloads import hash_url

BODY = bytes(range(256)) * 4096  # 1 MiB


class _Handler(BaseHTTPRequestHandler):
    failures_left: dict[str, int] = {}  # noqa: RUF012 - shared with the test on purpose

    def do_GET(self) -> None:
        if self.path == "/flaky" and self.failures_left.get("flaky", 0) > 0:
            self.failures_left["flaky"] -= 1
            self.send_response(503)
            self.end_headers()
            return
        if self.path == "/missing":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_hash_matches_the_body(server: str) -> None:
    hashed = hash_url(f"{server}/weights.bin")

    assert hashed.sha256 == hashlib.sha256(BODY).hexdigest()
    assert hashed.size == len(BODY)


def test_transient_failures_are_retried(server: str, monkeypatch) -> None:
    monkeypatch.setattr(downloads, "FIRST_BACKOFF_SECONDS", 0.0)
    _Handler.failures_left["flaky"] = 2

    assert hash_url(f"{server}/flaky").size == len(BODY)


def test_persistent_failure_names_the_url(server: str, monkeypatch) -> None:
    monkeypatch.setattr(downloads, "FIRST_BACKOFF_SECONDS", 0.0)
    _Handler.failures_left["flaky"] = 5

    with pytest.raises(JobFailed) as raised:
        hash_url(f"{server}/flaky")

    assert raised.value.message == f"could not download {server}/flaky: HTTP 503 (tried 3 times)"


def test_missing_file_is_not_retried(server: str) -> None:
    with pytest.raises(JobFailed) as raised:
        hash_url(f"{server}/missing")

    assert raised.value.message == f"could not download {server}/missing: HTTP 404"
