"""The one place where cognix starts external programs (uv, nix, skopeo, docker, python).

Every program is started from an argv list, never through a shell, with a copy of the
environment plus explicit additions. Each command is logged as ``$ …`` at debug level, so
``cognix -v`` shows exactly what ran. A failure becomes `ExternalCommandFailed` carrying the
last lines of the program's stderr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

from cognix.errors import ExternalCommandFailed, ToolMissing, redact_credentials

log = logging.getLogger(__name__)

Process = Popen[bytes]
"""A program started with `start`."""

STDERR_TAIL_LINES = 20


@dataclass(frozen=True)
class Completed:
    """What a finished program left: its exit code and captured output."""

    returncode: int
    stdout: str
    stderr: str


def find_program(name: str, how_to_install: str) -> str:
    """Return the path of `name` on PATH, or raise `ToolMissing` saying how to get it."""
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} was not found on PATH", how_to_install)
    return found


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a copy of this process's environment with `extra` added."""
    environment = dict(os.environ)
    environment.update(extra or {})
    return environment


def run(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    hint: str | None = None,
) -> Completed:
    """Run a program to completion, capturing its output as text.

    `env` is added to the current environment. With `check`, a non-zero exit raises
    `ExternalCommandFailed` with `hint` attached.
    """
    log.debug("$ %s", redact_credentials(shlex.join(argv)))
    try:
        finished = subprocess.run(
            argv,
            cwd=cwd,
            env=child_environment(env),
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise ToolMissing(f"{argv[0]} could not be started: no such program") from None

    if finished.stderr:
        log.debug("%s", _indent(finished.stderr))
    if check and finished.returncode != 0:
        raise ExternalCommandFailed(argv, finished.returncode, _tail(finished.stderr), hint)
    return Completed(finished.returncode, finished.stdout, finished.stderr)


def start(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log_file: Path,
) -> Process:
    """Start a long-running program in its own process group, its output going to `log_file`.

    The caller owns the returned process and must stop it with `stop`.
    """
    log.debug("$ %s", redact_credentials(shlex.join(argv)))
    with log_file.open("wb") as sink:
        return Popen(
            argv,
            cwd=cwd,
            env=child_environment(env),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: Process, grace_seconds: float = 5.0) -> None:
    """Stop a program started with `start`, and every process it started, and reap it."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_seconds)
    # The group is killed even after the leader exited: servers leave workers behind.
    _signal_group(process, signal.SIGKILL)
    process.wait()


def _signal_group(process: Process, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal_number)


def _tail(text: str) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[-STDERR_TAIL_LINES:])


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())
