"""Run a prediction with the locked Cog server in a local virtual environment.

The server starts from the project folder, as Cog's /src, with the schema written to
`.cog/openapi_schema.json` and the environment Cog's image sets. It listens on a free
loopback port and is stopped, with every process in its process group, on every way out:
an error, Ctrl-C, and SIGTERM or SIGHUP, which end cognix with exit code 128 + the signal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from cognix import external
from cognix.config.load import Project
from cognix.errors import CognixError, ConfigError, JobFailed, Location, Problem
from cognix.lock import LOCK_FILE, read_lock_info
from cognix.predict.client import CogServer
from cognix.predict.inputs import parse_inputs
from cognix.predict.outputs import ShownOutput, check_destination, show_output
from cognix.predict.venv import environment_for

log = logging.getLogger(__name__)

SETUP_TIMEOUT_SECONDS = 300.0
EXIT_SIGNAL_BASE = 128
"""A process ended by signal N exits with 128 + N, as shells report it."""
EXIT_TERMINATED = EXIT_SIGNAL_BASE + signal.SIGTERM
EXIT_HUNG_UP = EXIT_SIGNAL_BASE + signal.SIGHUP
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Interrupted(CognixError):
    """SIGTERM or SIGHUP arrived while the server ran (exit 128 + the signal's number)."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signal_number).name}")
        self.exit_code = EXIT_SIGNAL_BASE + signal_number


@dataclass(frozen=True)
class PreparedPrediction:
    """A prediction checked against the predictor's schema, ready to run."""

    ref: str
    schema: dict[str, Any]
    inputs: dict[str, Any]


def prepare_prediction(project: Project, pairs: list[str]) -> PreparedPrediction:
    """Read the predictor's schema and check the `-i` inputs against it, before any start."""
    ref = project.config.predictor_ref
    if ref is None:
        location = Location(project.cog_yaml, 1)
        hint = 'add predict: "predict.py:Predictor"'
        raise ConfigError([Problem(location, "cog.yaml names no predictor", hint)])
    schema = schema_of(project, ref)
    return PreparedPrediction(ref, schema, parse_inputs(pairs, schema, Path.cwd()))


def run_local_prediction(
    project: Project, prepared: PreparedPrediction, output: Path | None
) -> ShownOutput:
    """Build the environment from the lock, start the server, predict, stop the server.

    `output` (`-o`) is checked first; see `show_output` for how it names files.
    """
    check_destination(output)
    lock_path = project.directory / LOCK_FILE
    info = read_lock_info(lock_path)
    if info is None:
        raise JobFailed(f"{LOCK_FILE} is missing", "run `cognix lock` first")
    venv = environment_for(lock_path, info.python)
    _write_schema(project, prepared.schema)
    return _predict_with_server(project, venv, prepared, output)


def schema_of(project: Project, ref: str, *, cog_version: str = "") -> dict[str, Any]:
    """Return the predictor's OpenAPI schema; schema errors become located config errors.

    `cog_version` goes into the schema's info.version; empty keeps the schema module's own.
    """
    from cognix.schema import SchemaError, predictor_schema

    try:
        if cog_version:
            return predictor_schema(project.directory, ref, cog_version=cog_version)
        return predictor_schema(project.directory, ref)
    except SchemaError as error:
        location = Location(error.path, error.line, error.column)
        raise ConfigError([Problem(location, error.message, error.hint)]) from None


def _write_schema(project: Project, schema: dict[str, Any]) -> None:
    """Write the schema where the server reads it; a failure becomes `JobFailed`."""
    # cognix.schema runs in bare-Python Nix builds too, so it raises OSError, not ours.
    from cognix.schema import write_schema

    try:
        write_schema(project.directory, schema)
    except OSError as error:
        target = project.directory / ".cog" / "openapi_schema.json"
        hint = "the Cog server reads the schema there: .cog must be a folder cognix can write"
        raise JobFailed(f"cannot write {target}: {error.strerror or error}", hint) from None


@contextlib.contextmanager
def _stopping_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into `Interrupted`, so that `finally` blocks stop the server.

    Only the first signal raises. The previous handlers come back on the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # Python takes signals in the main thread only.
        return
    received: list[int] = []

    def interrupt(signal_number: int, frame: FrameType | None) -> None:
        if not received:
            received.append(signal_number)
            raise Interrupted(signal_number)

    previous = {number: signal.signal(number, interrupt) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP back while the server stops; they arrive after."""
    held = {signal.SIGINT, *STOP_SIGNALS}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _predict_with_server(
    project: Project, venv: Path, prepared: PreparedPrediction, output: Path | None
) -> ShownOutput:
    port = free_loopback_port()
    environment = _server_environment(project, venv, prepared.ref, port)
    argv = [str(venv / "bin" / "python"), "-m", "cog.server.http", "--host", "127.0.0.1"]
    scratch = tempfile.TemporaryDirectory(prefix="cognix-predict-")
    client = contextlib.closing(CogServer(f"http://127.0.0.1:{port}"))
    with _stopping_on_signals(), scratch, client as server:
        log_file = Path(scratch.name) / "server.log"
        process = external.start(argv, cwd=project.directory, env=environment, log_file=log_file)
        try:
            result = _run_prediction(server, process, log_file, prepared.inputs)
        finally:
            with _signals_held():
                external.stop(process)
            log.debug("server log:\n%s", log_file.read_text("utf-8", errors="replace"))
    return show_output(result, prepared.schema, output, Path.cwd())


def _server_environment(project: Project, venv: Path, ref: str, port: int) -> dict[str, str]:
    """Return the variables the server runs with: cog.yaml's, then those Cog's image sets."""
    # cog.yaml's environment first: Cog's own variables below must win over it.
    environment = dict(item.split("=", 1) for item in project.config.environment)
    return environment | {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "PORT": str(port),
        "COG_PREDICT_TYPE_STUB": ref,
        "PYTHONUNBUFFERED": "1",
        "LOG_FORMAT": "console",
    }


def _run_prediction(
    server: CogServer, process: external.Process, log_file: Path, inputs: dict[str, Any]
) -> Any:
    """Wait for the server and predict; when the server died, show its last output."""
    try:
        server.wait_until_ready(SETUP_TIMEOUT_SECONDS, lambda: process.poll() is None)
        return server.predict(inputs)
    except JobFailed as error:
        if process.poll() is None:
            raise
        tail = "\n".join(log_file.read_text("utf-8", errors="replace").splitlines()[-20:])
        raise JobFailed(f"{error.message}; its last output:\n{tail}") from None


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
