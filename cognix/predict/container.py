"""Run a Cog image with docker or podman: one prediction, or serving.

The schema comes from the image's `run.cog.openapi_schema` label, read with `image inspect`
before anything starts, so that wrong inputs stop cognix before a container exists. The
container gets a random name, publishes port 5000 on a loopback port, and is removed with
`rm --force` on every way out (`cognix.predict.server` does the starting and stopping).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cognix import external
from cognix.errors import ExternalCommandFailed, InputError, JobFailed, ToolMissing
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

SCHEMA_LABELS = ("run.cog.openapi_schema", "org.cogmodel.openapi_schema")
"""Where Cog puts the schema; the second is what Cog before 0.3 wrote, and Cog still reads."""
CONTAINER_PORT = 5000
# `cog predict` runs containers with a 6 GB /dev/shm (pkg/cli/predict.go): PyTorch's data
# loaders need more than the engines' 64 MB default.
SHM_SIZE = "6g"
RUN_ENVIRONMENT = {"LOG_FORMAT": "console"}
ENGINE_HINT = (
    "install Docker (https://docs.docker.com/engine/install/) and start its daemon, or "
    "podman (https://podman.io/docs/installation; Debian or Ubuntu: `apt-get install "
    "podman`); or run the project itself with --local"
)
# docker: `No such image: x`, `No such object: x`; podman: `x: image not known`.
_NOT_FOUND = re.compile(r"no such (?:image|object)|image not known", re.IGNORECASE)
# docker and podman: `invalid reference format` (podman adds `: repository name must be
# lowercase` and the like).
_BAD_REFERENCE = re.compile(
    r"invalid reference format|must be lowercase|must not be more than", re.IGNORECASE
)
_REFERENCE_HINT = "name an image as NAME[:TAG], NAME@sha256:DIGEST or an image ID"


@dataclass(frozen=True)
class Engine:
    """A container engine: which one, and the program that drives it."""

    name: Literal["docker", "podman"]
    program: str


def find_engine() -> Engine:
    """Return docker when its daemon answers, else podman; raise `ToolMissing` (exit 3)."""
    from cognix.image.destination import answering_engine

    name, problem = answering_engine()
    if name not in ("docker", "podman"):
        raise ToolMissing(f"no container engine to run the image: {problem}", ENGINE_HINT)
    return Engine(name, external.find_program(name, ENGINE_HINT))


def image_schema(engine: Engine, image: str) -> dict[str, Any] | None:
    """Return the OpenAPI schema in the image's labels; None when it carries none.

    Raises `InputError` when the engine has no image of that name, or the name is none.
    """
    check_image_name(image)
    inspected = external.run([engine.program, "image", "inspect", image], check=False)
    if inspected.returncode != 0:
        if _BAD_REFERENCE.search(inspected.stderr):
            reason = inspected.stderr.strip().splitlines()[-1] if inspected.stderr.strip() else ""
            raise InputError(f"{image!r} is not an image name: {reason}", _REFERENCE_HINT)
        if _NOT_FOUND.search(inspected.stderr):
            raise InputError(
                f"{engine.name} has no image {image!r}",
                f"build it with `cognix build`, or fetch it with `{engine.name} pull {image}`",
            )
        argv = [engine.program, "image", "inspect", image]
        raise ExternalCommandFailed(argv, inspected.returncode, inspected.stderr.strip())
    labels = _labels(inspected.stdout)
    text = next((labels[name] for name in SCHEMA_LABELS if labels.get(name)), None)
    if text is None:
        return None
    try:
        schema = json.loads(text)
    except ValueError:
        schema = None
    if not isinstance(schema, dict):
        raise JobFailed(f"the image's {SCHEMA_LABELS[0]} label is not a JSON object")
    return schema


def check_image_name(image: str) -> None:
    """Raise `InputError` for an IMAGE the engine would read as a flag, or that is empty.

    The name goes on the engine's command line: `--help` there is an option, not an image.
    """
    if (
        not image
        or image.startswith("-")
        or any(c.isspace() or not c.isprintable() for c in image)
    ):
        raise InputError(f"{image!r} is not an image name", _REFERENCE_HINT)


def _labels(inspect_output: str) -> dict[str, str]:
    """Return the labels in `image inspect`'s JSON (docker's and podman's agree here)."""
    try:
        found = json.loads(inspect_output)[0]["Config"].get("Labels")
    except (ValueError, LookupError, AttributeError, TypeError):
        raise JobFailed("image inspect printed something other than an image's JSON") from None
    return found if isinstance(found, dict) else {}


def container_run_argv(
    engine: Engine,
    image: str,
    *,
    name: str,
    host: str,
    port: int,
    gpus: bool,
    env: Mapping[str, str],
) -> list[str]:
    """Return the `run` command: the image's own command, port 5000 on `host:port`.

    container_run_argv(Engine("podman", "podman"), "m:1", name="cognix-1a2b",
                       host="127.0.0.1", port=8393, gpus=False, env={})
    # ["podman", "run", "--rm", "--name", "cognix-1a2b",
    #  "--publish", "127.0.0.1:8393:5000", "--shm-size", "6g", "m:1"]
    """
    published = f"[{host}]" if ":" in host else host
    argv = [engine.program, "run", "--rm", "--name", name]
    argv += ["--publish", f"{published}:{port}:{CONTAINER_PORT}", "--shm-size", SHM_SIZE]
    if gpus:
        # podman reaches NVIDIA GPUs through CDI; it has no --gpus of docker's meaning.
        docker = engine.name == "docker"
        argv += ["--gpus", "all"] if docker else ["--device", "nvidia.com/gpu=all"]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    return [*argv, image]


def container_command(
    engine: Engine, image: str, *, host: str, port: int, gpus: bool
) -> ServerCommand:
    """Return how to run `image` as a server on `host:port`, and how to remove it after."""
    name = f"cognix-{secrets.token_hex(4)}"
    argv = container_run_argv(
        engine, image, name=name, host=host, port=port, gpus=gpus, env=RUN_ENVIRONMENT
    )
    cleanup = [engine.program, "rm", "--force", name]
    return ServerCommand(argv, server_url(host, port), cleanup=cleanup)


def predict_in_container(
    engine: Engine,
    image: str,
    pairs: list[str],
    output: Path | None,
    *,
    gpus: bool,
    checked: CheckedInputs | None = None,
) -> ShownOutput:
    """Run one prediction in a container of `image`, which `engine` already holds.

    The inputs are checked against `checked`'s schema when given (the project's, for an
    image just built from it), else against the image's label, before the container starts.
    """
    if checked is None:
        schema = image_schema(engine, image)
        checked = check_inputs(pairs, schema) if schema is not None else None
    check_destination(output)
    command = container_command(
        engine, image, host="127.0.0.1", port=free_loopback_port(), gpus=gpus
    )
    return predict_with_server(command, checked, pairs, output)


def serve_container(
    engine: Engine,
    image: str,
    *,
    host: str,
    port: int,
    gpus: bool,
    on_ready: Callable[[str], None],
) -> None:
    """Serve `image` with its port published on `host:port` until stopped."""
    image_schema(engine, image)  # an image that is not there fails before anything starts
    check_port_free(host, port)
    command = container_command(engine, image, host=host, port=port, gpus=gpus)
    serve_until_stopped(command, on_ready)
