"""The HTTP client for a running Cog server, local or in a container.

It waits for `/health-check` to say READY, then posts one prediction. Both runners use it,
so both see the same errors for a failed setup, a failed prediction, or a reply that is not
the JSON Cog's API promises.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from cognix.errors import JobFailed

POLL_SECONDS = 0.1
MAX_REQUEST_BYTES = 100 * 1024 * 1024
"""The largest request body the Cog server (coglet 0.23.1) accepts; larger gets HTTP 413."""
REPLY_EXCERPT_CHARS = 200


def request_body(inputs: dict[str, Any]) -> bytes:
    """Encode a prediction request exactly as `CogServer.predict` sends it."""
    document = {"input": inputs}
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


_FAILED_PREFIX = re.compile(r"^(?:prediction failed:\s*)+", re.IGNORECASE)


class CogServer:
    """A Cog HTTP server at `base_url`; `transport` replaces the network in tests."""

    def __init__(self, base_url: str, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url
        timeout = httpx.Timeout(10.0, read=None)
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def wait_until_ready(self, timeout: float, still_running: Callable[[], bool]) -> None:
        """Poll the health check until READY; raise `JobFailed` on setup failure or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not still_running():
                raise JobFailed("the Cog server exited before it was ready")
            health = self._health()
            status = health.get("status")
            if status == "READY":
                return
            if status in ("SETUP_FAILED", "DEFUNCT"):
                logs = (health.get("setup") or {}).get("logs", "").rstrip()
                raise JobFailed(f"the predictor's setup failed:\n{logs}")
            time.sleep(POLL_SECONDS)
        raise JobFailed(f"the Cog server was not ready after {timeout:.0f} seconds")

    def predict(self, inputs: dict[str, Any]) -> Any:
        """Run one prediction and return its output; raise `JobFailed` when it fails."""
        body = request_body(inputs)
        headers = {"Content-Type": "application/json"}
        try:
            response = self._http.post("/predictions", content=body, headers=headers)
        except httpx.TransportError as error:
            raise JobFailed(f"lost the connection to the Cog server: {error}") from None
        reply = _json_object(response)
        if response.status_code == 422:
            raise JobFailed(f"the server rejected the input: {_validation_detail(reply)}")
        if reply.get("status") != "succeeded":
            reason = str(reply.get("error") or f"status {reply.get('status')}")
            # coglet's own error text may start with the same words already.
            reason = _FAILED_PREFIX.sub("", reason, count=1) or reason
            raise JobFailed(f"the prediction failed: {reason}")
        return reply.get("output")

    def openapi_schema(self) -> dict[str, Any]:
        """Return the schema the server serves; raise `JobFailed` when it has none."""
        try:
            response = self._http.get("/openapi.json")
        except httpx.TransportError as error:
            raise JobFailed(f"lost the connection to the Cog server: {error}") from None
        reply = _json_object(response)
        if response.status_code != 200:
            reason = reply.get("error") or f"HTTP {response.status_code}"
            hint = "images built by cognix or Cog carry their schema; rebuild the image"
            raise JobFailed(f"the Cog server has no OpenAPI schema: {reason}", hint)
        return reply

    def _health(self) -> dict[str, Any]:
        try:
            response = self._http.get("/health-check")
        except httpx.TransportError:
            return {}
        if response.status_code != 200:
            return {}
        return _json_object(response)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """Return the JSON object a reply holds; any other reply becomes `JobFailed`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    request = f"{response.request.method} {response.request.url.path}"
    excerpt = response.text[:REPLY_EXCERPT_CHARS]
    message = f"the Cog server answered {request} with HTTP {response.status_code}"
    raise JobFailed(f"{message} and a body that is not a JSON object: {excerpt!r}")


def _validation_detail(body: dict[str, Any]) -> str:
    detail = body.get("detail")
    if isinstance(detail, list):
        return "; ".join(f"{item.get('loc', ['?'])[-1]}: {item.get('msg')}" for item in detail)
    return str(body.get("error") or body)
