"""The HTTP client for a running Cog server, local or in a container.

It waits for `/health-check` to say READY, then posts one prediction. Both runners use it,
so both see the same errors for a failed setup or a failed prediction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from cognix.errors import JobFailed

POLL_SECONDS = 0.1


class CogServer:
    """A Cog HTTP server at `base_url`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0, read=None))

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
        response = self._http.post("/predictions", json={"input": inputs})
        body = response.json()
        if response.status_code == 422:
            raise JobFailed(f"the server rejected the input: {_validation_detail(body)}")
        if body.get("status") != "succeeded":
            error = body.get("error") or f"status {body.get('status')}"
            raise JobFailed(f"the prediction failed: {error}")
        return body.get("output")

    def _health(self) -> dict[str, Any]:
        try:
            response = self._http.get("/health-check")
        except httpx.TransportError:
            return {}
        if response.status_code != 200:
            return {}
        result: dict[str, Any] = response.json()
        return result


def _validation_detail(body: dict[str, Any]) -> str:
    detail = body.get("detail")
    if isinstance(detail, list):
        return "; ".join(f"{item.get('loc', ['?'])[-1]}: {item.get('msg')}" for item in detail)
    return str(body.get("error") or body)
