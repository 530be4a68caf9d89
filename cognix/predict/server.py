"""Start a Cog server, talk to it, and stop it on every way out: both runners' shared part.

A runner (a local virtual environment, or a container) only says how to start its server
(`ServerCommand`). From there the steps are the same: start the program in its own process
group, wait for `/health-check` to say READY, predict or serve, and stop the program, with
every process it started and any container it made, on success, error, Ctrl-C, and SIGTERM
or SIGHUP, which end cognix with exit code 128 + the signal.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import math
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cognix import external
from cognix.errors import (
    InputError,
    JobFailed,
)
from cognix.interrupts import signals_held, stopping_on_signals
from cognix.predict.client import CogServer
from cognix.predict.inputs import parse_inputs, schema_component
from cognix.predict.outputs import ShownOutput, show_output

log = logging.getLogger(__name__)

SETUP_TIMEOUT_SECONDS = 300.0
"""How long `cognix predict` waits for the predictor's setup, as `cog predict` does."""
LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class ServerCommand:
    """How to start one Cog server, where it answers, and what removes its leftovers.

    `cleanup` runs after the program stopped, whatever happened (a container's `rm`).
    """

    argv: list[str]
    url: str
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cleanup: list[str] | None = None


@dataclass(frozen=True)
class CheckedInputs:
    """A prediction's inputs, checked against the schema they were read with."""

    schema: dict[str, Any]
    inputs: dict[str, Any]


def check_inputs(pairs: list[str], schema: dict[str, Any]) -> CheckedInputs:
    """Check `-i` items against `schema`; raise `InputError` naming a wrong input.

    A schema not of the shape Cog writes raises `MalformedSchema` (exit 1), the output's
    part included, so that it fails before the prediction rather than after it.
    """
    inputs = parse_inputs(pairs, schema, Path.cwd())
    schema_component(schema, "Output")
    return CheckedInputs(schema, inputs)


def predict_with_server(
    command: ServerCommand, checked: CheckedInputs | None, pairs: list[str], output: Path | None
) -> ShownOutput:
    """Start the server, run one prediction, stop the server, then show the output.

    With `checked` None (an image without a schema label), the `-i` items are checked
    against the running server's `/openapi.json` instead.
    """
    scratch = tempfile.TemporaryDirectory(prefix="cognix-predict-")
    with scratch, started(command, Path(scratch.name) / "server.log") as running:
        running.wait_until_ready(SETUP_TIMEOUT_SECONDS)
        if checked is None:
            checked = check_inputs(pairs, running.openapi_schema())
        result = running.predict(checked.inputs)
    return show_output(result, checked.schema, output, Path.cwd())


def serve_until_stopped(command: ServerCommand, on_ready: Callable[[str], None]) -> None:
    """Run the server in the foreground, its output on stderr, until a signal stops it.

    `on_ready` hears the server's URL once its setup succeeded. Raises `JobFailed` when the
    server fails its setup or exits on its own; Ctrl-C raises `KeyboardInterrupt` and
    SIGTERM or SIGHUP `Interrupted`, after the server stopped.
    """
    with started(command, None) as running:
        # Setup may download weights for a long time: serving waits as long as it takes.
        running.wait_until_ready(math.inf)
        on_ready(command.url)
        code = running.process.wait()
    raise JobFailed(f"the Cog server exited with code {code}")


@dataclass(frozen=True)
class RunningServer:
    """A started server program, with its HTTP client and where its output goes."""

    client: CogServer
    process: external.Process
    log_file: Path | None

    def running(self) -> bool:
        """Tell whether the program still runs."""
        return self.process.poll() is None

    def wait_until_ready(self, timeout: float) -> None:
        """Wait for READY; raise `JobFailed` (with the program's last output if it died)."""
        with self._explained():
            self.client.wait_until_ready(timeout, self.running)

    def predict(self, inputs: dict[str, Any]) -> Any:
        """Run one prediction and return its output."""
        with self._explained():
            return self.client.predict(inputs)

    def openapi_schema(self) -> dict[str, Any]:
        """Return the schema the server serves at `/openapi.json`."""
        with self._explained():
            return self.client.openapi_schema()

    @contextlib.contextmanager
    def _explained(self) -> Iterator[None]:
        """Add the program's last output to a failure when the program is gone."""
        try:
            yield
        except JobFailed as error:
            if self.running():
                raise
            if self.log_file is None:
                message = f"{error.message} (exit code {self.process.returncode})"
                raise JobFailed(message, error.hint) from None
            tail = "\n".join(_read_log(self.log_file).splitlines()[-LOG_TAIL_LINES:])
            raise JobFailed(f"{error.message}; its last output:\n{tail}", error.hint) from None


@contextlib.contextmanager
def started(command: ServerCommand, log_file: Path | None) -> Iterator[RunningServer]:
    """Start the server program; stop it and run its cleanup when the block is left.

    Its output goes to `log_file`, or to cognix's stderr when None.
    """
    process: external.Process | None = None
    with stopping_on_signals(), contextlib.closing(CogServer(command.url)) as client:
        try:
            process = external.start(
                command.argv, cwd=command.cwd, env=command.env, log_file=log_file
            )
            yield RunningServer(client, process, log_file)
        finally:
            if process is not None:
                with signals_held():
                    _stop(process, command.cleanup)
            if process is not None and log_file is not None:
                log.debug("server log:\n%s", _read_log(log_file))


def _stop(process: external.Process, cleanup: list[str] | None) -> None:
    external.stop(process)
    if cleanup is not None:
        # The program may be gone before its container was made: then there is nothing to
        # remove, and the engine's complaint about it says nothing the user needs.
        external.run(cleanup, check=False)


def _read_log(log_file: Path) -> str:
    try:
        return log_file.read_text("utf-8", errors="replace")
    except OSError:
        return ""


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def check_port_free(host: str, port: int) -> None:
    """Raise `InputError` when `host:port` cannot be listened on, before a server tries.

    `host` must be an IP address: the Cog server and the engines' `--publish` take no names.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise InputError(
            f"--host {host!r} is not an IP address",
            "give an address such as 127.0.0.1 (this machine only), ::1 or 0.0.0.0 (every one)",
        ) from None
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            in_use = error.errno == errno.EADDRINUSE
            reason = "something else listens there" if in_use else error.strerror or str(error)
            message = f"cannot serve on {host} port {port}: {reason}"
            hint = "choose another port with --port N" if in_use else "choose another --host"
            raise InputError(message, hint) from None


def server_url(host: str, port: int) -> str:
    """Return the URL that reaches a server listening on `host:port` from this machine."""
    reachable = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    shown = f"[{reachable}]" if ":" in reachable else reachable
    return f"http://{shown}:{port}"
