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
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import IO, Any, BinaryIO

from cognix.errors import ExternalCommandFailed, JobFailed, ToolMissing, redact_credentials

log = logging.getLogger(__name__)

Process = Popen[bytes]
"""A program started with `start`."""

STDERR_TAIL_LINES = 20
_STDERR = 2
"""The file descriptor of this process's stderr, whatever `sys.stderr` is replaced with."""

# Nix 2.4+ has flakes and the `nix` command only behind these features; cognix turns them on
# itself, for each call, and only here.
NIX_FEATURES = ("--extra-experimental-features", "nix-command flakes")


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


def find_program_or_none(name: str) -> str | None:
    """Return the path of `name` on PATH, or None."""
    return shutil.which(name)


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
    log_file: Path | None,
) -> Process:
    """Start a long-running program in its own process group, its output going to `log_file`.

    Without `log_file`, its output goes to this process's stderr (file descriptor 2), so
    that this process's stdout stays its own. The caller owns the returned process and must
    stop it with `stop`.
    """
    log.debug("$ %s", redact_credentials(shlex.join(argv)))
    with contextlib.ExitStack() as files:
        sink = files.enter_context(log_file.open("wb")) if log_file is not None else _STDERR
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


def nix_command(nix: str, *arguments: str) -> list[str]:
    """Return the argv of `nix ARGUMENTS…` with the experimental features cognix needs."""
    return [nix, *NIX_FEATURES, *arguments]


def run_relaying(
    argv: list[str],
    on_line: Callable[[str], None],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    keep_lines: int = 200,
) -> Completed:
    """Run a program, passing each line of its stderr to `on_line` as it arrives.

    Stdout is captured as text. `Completed.stderr` holds the last `keep_lines` lines of
    stderr. A non-zero exit is not raised: the caller reads the stderr to explain it.
    """
    log.debug("$ %s", redact_credentials(shlex.join(argv)))
    process = _popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with _reaped(process):
        assert process.stdout is not None
        assert process.stderr is not None
        stdout = _Drain(process.stdout, keep_lines=None)
        stderr = _drain_lines(process.stderr, on_line, keep_lines)
        returncode = process.wait()
    return Completed(returncode, "\n".join(stdout.join()), "\n".join(stderr))


def run_to_file(argv: list[str], destination: BinaryIO, *, hint: str | None = None) -> None:
    """Run a program with its stdout written to `destination`, an open binary file.

    Its stderr is logged line by line at debug level. A non-zero exit raises
    `ExternalCommandFailed` with `hint` attached.
    """
    log.debug("$ %s > %s", redact_credentials(shlex.join(argv)), destination.name)
    process = _popen(argv, stdout=destination, stderr=subprocess.PIPE)
    with _reaped(process):
        assert process.stderr is not None
        stderr = _drain_lines(process.stderr, _log_line, STDERR_TAIL_LINES)
        returncode = process.wait()
    if returncode != 0:
        raise ExternalCommandFailed(argv, returncode, "\n".join(stderr), hint)


def pipe(producer: list[str], consumer: list[str], *, hint: str | None = None) -> Completed:
    """Run `producer | consumer` without a shell and return the consumer's output.

    The bytes flow from one program to the other through an OS pipe, never through this
    process, so a stream of many gigabytes costs no memory. The producer's stderr is logged
    at debug level. A failure of either raises `ExternalCommandFailed` with `hint`: the
    producer's when it failed first, else the consumer's.
    """
    log.debug(
        "$ %s | %s", *(redact_credentials(shlex.join(argv)) for argv in (producer, consumer))
    )
    first = _popen(producer, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with _reaped(first):
        assert first.stdout is not None
        assert first.stderr is not None
        first_errors = _Drain(first.stderr, keep_lines=STDERR_TAIL_LINES, on_line=_log_line)
        second = _popen(
            consumer, stdin=first.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        # Only the consumer may hold the read end: when it exits, the producer must see EPIPE.
        first.stdout.close()
        with _reaped(second):
            out, err = second.communicate()
        first.wait()
        first_tail = "\n".join(first_errors.join())

    output = Completed(second.returncode, _text(out), _text(err))
    if output.stderr:
        log.debug("%s", _indent(output.stderr))
    if first.returncode != 0 and not _broken_pipe(first.returncode, first_tail):
        raise ExternalCommandFailed(producer, first.returncode, first_tail, hint)
    if second.returncode != 0:
        raise ExternalCommandFailed(consumer, second.returncode, _tail(output.stderr), hint)
    return output


def _popen(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    **streams: Any,
) -> Process:
    try:
        return Popen(
            argv, cwd=cwd, env=child_environment(env), **{"stdin": subprocess.DEVNULL, **streams}
        )
    except FileNotFoundError:
        raise ToolMissing(f"{argv[0]} could not be started: no such program") from None
    except OSError as error:
        raise JobFailed(f"{argv[0]} could not be started: {error.strerror}") from None


@contextlib.contextmanager
def _reaped(process: Process) -> Iterator[Process]:
    """Kill and reap `process` when the block is left by an exception (Ctrl-C included)."""
    try:
        yield process
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()
        raise


def _drain_lines(
    stream: IO[bytes], on_line: Callable[[str], None], keep_lines: int | None
) -> deque[str]:
    """Read `stream` to its end, line by line; return the last `keep_lines` lines."""
    kept: deque[str] = deque(maxlen=keep_lines)
    for raw in iter(stream.readline, b""):
        line = _text(raw).rstrip("\r\n")
        on_line(line)
        kept.append(line)
    stream.close()
    return kept


class _Drain:
    """Read a stream to its end in a thread, so that two pipes never block each other."""

    def __init__(
        self,
        stream: IO[bytes],
        *,
        keep_lines: int | None,
        on_line: Callable[[str], None] = lambda line: None,
    ) -> None:
        self._lines: deque[str] = deque()
        self._thread = threading.Thread(
            target=self._read, args=(stream, on_line, keep_lines), daemon=True
        )
        self._thread.start()

    def _read(self, stream: IO[bytes], on_line: Callable[[str], None], keep: int | None) -> None:
        self._lines = _drain_lines(stream, on_line, keep)

    def join(self) -> deque[str]:
        """Wait for the end of the stream and return the lines kept."""
        self._thread.join()
        return self._lines


def _broken_pipe(returncode: int, stderr: str) -> bool:
    """Tell whether a producer died only because its consumer stopped reading."""
    return returncode == -signal.SIGPIPE or "BrokenPipeError" in stderr or "Broken pipe" in stderr


def _log_line(line: str) -> None:
    log.debug("    %s", line)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _signal_group(process: Process, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal_number)


def _tail(text: str) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[-STDERR_TAIL_LINES:])


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())
