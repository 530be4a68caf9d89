"""Where `cognix build` puts the image: the `--output` forms, parsed and checked in one place.

The forms are `docker`, `podman`, `docker-archive:PATH`, `oci-archive:PATH` and `oci:DIR`.
Everything that can be known before the (long) Nix build is checked here: the form, the
destination folder, the `-t` reference, and the programs the export will need.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cognix import external
from cognix.errors import InputError, ToolMissing

log = logging.getLogger(__name__)

Kind = Literal["docker", "podman", "docker-archive", "oci-archive", "oci"]
ENGINES: tuple[Kind, ...] = ("docker", "podman")
FILES: tuple[Kind, ...] = ("docker-archive", "oci-archive", "oci")
ACCEPTED = "docker, podman, docker-archive:PATH, oci-archive:PATH or oci:DIR"

SKOPEO_HINT = (
    "install skopeo (Debian or Ubuntu: `apt-get install skopeo`; with Nix: "
    "`nix profile install nixpkgs#skopeo`), or pass --output docker-archive:PATH, "
    "which needs no other program"
)
DOCKER_HINT = (
    "install Docker (https://docs.docker.com/engine/install/), or pass --output podman "
    "or --output docker-archive:image.tar"
)
PODMAN_HINT = (
    "install podman (https://podman.io/docs/installation; Debian or Ubuntu: "
    "`apt-get install podman`), or pass --output docker or --output docker-archive:image.tar"
)
NO_ENGINE_HINT = (
    "start the docker daemon or install podman, or pass --output docker-archive:image.tar "
    "to write the image to a file"
)

# The grammar of docker's `reference` package, slightly simplified: [HOST[:PORT]/]NAME[:TAG].
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?/)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
# An image name without a tag, as cog.yaml's `image:` gives it.
IMAGE_NAME = re.compile(rf"{_HOST}{_COMPONENT}(?:/{_COMPONENT})*")
_REFERENCE = re.compile(rf"{IMAGE_NAME.pattern}(?::[A-Za-z0-9_][\w.-]{{0,127}})?")


@dataclass(frozen=True)
class Output:
    """One destination of the image: a container engine, or a file or folder."""

    kind: Kind
    path: Path | None = None

    def __str__(self) -> str:
        return self.kind if self.path is None else f"{self.kind}:{self.path}"


def parse_output(text: str) -> Output:
    """Read an `--output` value; raise `InputError` listing the accepted forms if it is wrong."""
    kind, colon, rest = text.partition(":")
    if not colon and kind in ENGINES:
        return Output(kind)
    if colon and kind in FILES and rest:
        return Output(kind, _destination(kind, rest, text))
    raise InputError(f"--output {text!r} is not a known destination", f"use {ACCEPTED}")


def choose_output(text: str | None) -> Output:
    """Return the output to use, checking now the programs its export will need.

    Without `text`: docker when its daemon answers, else podman when it is installed.
    Raises `InputError` for a bad value and `ToolMissing` (exit 3) for a missing program.
    """
    if text is None:
        return _default_output()
    output = parse_output(text)
    if output.kind == "docker":
        _check_docker_daemon(external.find_program("docker", DOCKER_HINT))
    elif output.kind == "podman":
        external.find_program("podman", PODMAN_HINT)
    elif output.kind in ("oci-archive", "oci"):
        external.find_program("skopeo", SKOPEO_HINT)
    return output


def check_reference(tag: str) -> str:
    """Return `tag` when it is an image reference (`NAME[:TAG]`), else raise `InputError`."""
    if _REFERENCE.fullmatch(tag) is None:
        raise InputError(
            f"-t {tag!r} is not an image reference",
            "use NAME or NAME:TAG with a lowercase name, e.g. r8.im/user/model:v1",
        )
    return tag


def _destination(kind: Kind, rest: str, text: str) -> Path:
    # skopeo splits `TRANSPORT:PATH:REFERENCE` at the first colon after the transport.
    if ":" in rest:
        raise InputError(f"--output {text!r}: the path must not contain ':'", f"use {ACCEPTED}")
    path = Path(rest).expanduser().absolute()
    if not path.parent.is_dir():
        raise InputError(
            f"--output {text!r}: the folder {path.parent} does not exist",
            "create it first, or write somewhere else",
        )
    if kind != "oci" and path.is_dir():
        raise InputError(f"--output {text!r}: {path} is a folder", f"{kind}: writes one file")
    if kind == "oci" and path.exists() and not path.is_dir():
        raise InputError(
            f"--output {text!r}: {path} is a file", "oci: writes an OCI layout folder"
        )
    return path


def answering_engine() -> tuple[Kind | None, str]:
    """Return the engine to use (docker when its daemon answers, else podman) and why not docker.

    The engine is None when neither is usable; the text then says why, e.g. `docker is not
    installed, podman is not installed`.
    """
    docker = external.find_program_or_none("docker")
    problem = "docker is not installed"
    if docker is not None:
        answer = external.run([docker, "info"], check=False)
        if answer.returncode == 0:
            return "docker", ""
        problem = "docker cannot reach its daemon"
    if external.find_program_or_none("podman") is not None:
        return "podman", problem
    return None, f"{problem}, podman is not installed"


def _default_output() -> Output:
    engine, problem = answering_engine()
    if engine is None:
        raise ToolMissing(f"no container engine to load the image into: {problem}", NO_ENGINE_HINT)
    if problem:
        log.info("%s: loading into %s", problem, engine)
    return Output(engine)


def _check_docker_daemon(docker: str) -> None:
    answer = external.run([docker, "info"], check=False)
    if answer.returncode != 0:
        reason = answer.stderr.strip().splitlines()[-1:] or ["no answer"]
        raise ToolMissing(
            f"docker cannot reach its daemon: {reason[0]}",
            "start the docker daemon (e.g. `systemctl start docker`), or pass "
            "--output podman or --output docker-archive:image.tar",
        )
