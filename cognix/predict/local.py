"""Run a prediction with the locked Cog server in a local virtual environment.

The server starts from the project folder, as Cog's /src, with the schema written to
`.cog/openapi_schema.json` and the environment Cog's image sets. It listens on a free
loopback port and is stopped, with every process it started, on every way out.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cognix import external
from cognix.config.load import Project
from cognix.errors import ConfigError, JobFailed, Location, Problem
from cognix.lock import LOCK_FILE, read_lock_info
from cognix.predict.client import CogServer
from cognix.predict.inputs import parse_inputs
from cognix.predict.outputs import ShownOutput, show_output
from cognix.predict.venv import environment_for

log = logging.getLogger(__name__)

SETUP_TIMEOUT_SECONDS = 300.0


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
    """Build the environment from the lock, start the server, predict, stop the server."""
    lock_path = project.directory / LOCK_FILE
    info = read_lock_info(lock_path)
    if info is None:
        raise JobFailed(f"{LOCK_FILE} is missing", "run `cognix lock` first")
    venv = environment_for(lock_path, info.python)
    _write_schema(project, prepared.schema)
    return _predict_with_server(project, venv, prepared.ref, prepared.inputs, output)


def schema_of(project: Project, ref: str) -> dict[str, Any]:
    """Return the predictor's OpenAPI schema; schema errors become located config errors."""
    from cognix.schema import SchemaError, predictor_schema

    try:
        return predictor_schema(project.directory, ref)
    except SchemaError as error:
        location = Location(error.path, error.line, error.column)
        raise ConfigError([Problem(location, error.message, error.hint)]) from None


def _write_schema(project: Project, schema: dict[str, Any]) -> None:
    from cognix.schema import write_schema

    write_schema(project.directory, schema)


def _predict_with_server(
    project: Project, venv: Path, ref: str, inputs: dict[str, Any], output: Path | None
) -> ShownOutput:
    port = free_loopback_port()
    # cog.yaml's environment first: Cog's own variables below must win over it.
    environment = dict(item.split("=", 1) for item in project.config.environment)
    environment |= {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "PORT": str(port),
        "COG_PREDICT_TYPE_STUB": ref,
        "PYTHONUNBUFFERED": "1",
        "LOG_FORMAT": "console",
    }
    argv = [str(venv / "bin" / "python"), "-m", "cog.server.http", "--host", "127.0.0.1"]
    with tempfile.TemporaryDirectory(prefix="cognix-predict-") as scratch:
        log_file = Path(scratch) / "server.log"
        process = external.start(argv, cwd=project.directory, env=environment, log_file=log_file)
        server = CogServer(f"http://127.0.0.1:{port}")
        try:
            _wait_for_server(server, process, log_file)
            return show_output(server.predict(inputs), output, Path.cwd())
        finally:
            server.close()
            external.stop(process)
            log.debug("server log:\n%s", log_file.read_text("utf-8", errors="replace"))


def _wait_for_server(server: CogServer, process: external.Process, log_file: Path) -> None:
    try:
        server.wait_until_ready(SETUP_TIMEOUT_SECONDS, lambda: process.poll() is None)
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
