"""Run the locked Cog server in a local virtual environment: one prediction, or serving.

The server starts from the project folder, as Cog's /src, with the schema written to
`.cog/openapi_schema.json` and the environment Cog's image sets. Starting, waiting,
predicting and stopping are `cognix.predict.server`'s, shared with the container runner.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cognix.config.load import Project
from cognix.errors import ConfigError, JobFailed, Location, Problem
from cognix.lock import LOCK_FILE, read_lock_info
from cognix.predict.outputs import ShownOutput, check_destination
from cognix.predict.server import (
    CheckedInputs,
    ServerCommand,
    check_inputs,
    check_port_free,
    free_loopback_port,
    predict_with_server,
    serve_until_stopped,
    server_url,
)
from cognix.predict.venv import environment_for
from cognix.project_schema import project_openapi_schema

log = logging.getLogger(__name__)


def prepare_prediction(project: Project, pairs: list[str]) -> CheckedInputs:
    """Read the predictor's schema and check the `-i` inputs against it, before any start."""
    predictor_ref(project)
    return check_inputs(pairs, project_openapi_schema(project))


def predictor_ref(project: Project) -> str:
    """Return cog.yaml's predictor (`predict.py:Predictor`), or raise `ConfigError`."""
    ref = project.config.predictor_ref
    if ref is None:
        location = Location(project.cog_yaml, 1)
        hint = 'add predict: "predict.py:Predictor"'
        raise ConfigError([Problem(location, "cog.yaml names no predictor", hint)])
    return ref


def run_local_prediction(
    project: Project, checked: CheckedInputs, output: Path | None
) -> ShownOutput:
    """Build the environment from the lock, start the server, predict, stop the server.

    `output` (`-o`) is checked first; see `show_output` for how it names files.
    """
    check_destination(output)
    # The server's output goes to a log file, shown with -v: no colour codes in it.
    command = _prepared_command(project, "127.0.0.1", free_loopback_port(), colour=False)
    return predict_with_server(command, checked, [], output)


def serve_locally(project: Project, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve the predictor on `host:port` from the lock's environment until stopped."""
    predictor_ref(project)
    check_port_free(host, port)
    # The server's output goes to cognix's stderr: coloured only when that is a terminal.
    command = _prepared_command(project, host, port, colour=sys.stderr.isatty())
    serve_until_stopped(command, on_ready)


def _prepared_command(project: Project, host: str, port: int, *, colour: bool) -> ServerCommand:
    """Build the lock's environment and write the schema; return how to start the server.

    The schema is the image's: predictor and trainer, with the locked cog SDK's version.
    """
    lock_path = project.directory / LOCK_FILE
    info = read_lock_info(lock_path)
    if info is None:
        raise JobFailed(f"{LOCK_FILE} is missing", "run `cognix lock` first")
    venv = environment_for(lock_path, info.python)
    _write_schema(project, project_openapi_schema(project, cog_version=info.cog_sdk))
    return local_command(project, venv, host, port, colour=colour)


def local_command(
    project: Project, venv: Path, host: str, port: int, *, colour: bool = False
) -> ServerCommand:
    """Return how to start the Cog server of `venv` from the project folder on `host:port`.

    Without `colour`, the server's log lines carry no terminal colour codes (NO_COLOR).
    """
    # The Cog server reads `HOST:PORT` as one socket address: IPv6 needs its brackets.
    listen = f"[{host}]" if ":" in host else host
    argv = [str(venv / "bin" / "python"), "-m", "cog.server.http", "--host", listen]
    environment = _server_environment(project, venv, predictor_ref(project), port)
    if not colour:
        environment["NO_COLOR"] = "1"
    return ServerCommand(argv, server_url(host, port), project.directory, environment)


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


def _server_environment(project: Project, venv: Path, ref: str, port: int) -> dict[str, str]:
    """Return the variables the server runs with: cog.yaml's, then those Cog's image sets."""
    # cog.yaml's environment first: Cog's own variables below must win over it.
    environment = dict(item.split("=", 1) for item in project.config.environment)
    return environment | {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "PORT": str(port),
        "COG_PREDICT_TYPE_STUB": ref,
        # As in the image (nix/default.nix): the server knows the trainer too.
        **({"COG_TRAIN_TYPE_STUB": project.config.train} if project.config.train else {}),
        "PYTHONUNBUFFERED": "1",
        "LOG_FORMAT": "console",
    }
