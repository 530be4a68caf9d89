"""The errors cognix reports to its users, and the exit code each one ends with.

Every failure a user can cause or meet is a `CognixError`: a message, an optional hint, and
an exit code (DESIGN.md section 6). The command line prints them in one place
(`cognix.cli`); library code only raises them.
"""

from __future__ import annotations

import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_TOOL_MISSING = 3
EXIT_INTERRUPTED = 130
# A program stopped by a signal exits with 128 + its number, as a shell reports it.
EXIT_SIGNAL_BASE = 128

# `scheme://user:password@host`: the part between `//` and `@` is a credential.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
# Control characters other than tab and newline could move the cursor or retitle a terminal;
# Unicode's bidirectional overrides and isolates could make shown text read otherwise.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file the user wrote: 1-based line and column."""

    path: Path
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{display_path(self.path)}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) at one place in the user's files."""

    location: Location
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        # One problem, one line: a value quoted in the message may hold line breaks.
        message = self.message.replace("\r", "\\r").replace("\n", "\\n")
        return f"{self.location}: {message}"


def display_path(path: Path) -> str:
    """Show a path relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path(os.getcwd()).resolve()))
    except ValueError:
        return str(path)


class CognixError(Exception):
    """A failure that ends a command with a message for the user and an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class JobFailed(CognixError):
    """The job itself failed: a build, a prediction, a resolution (exit 1)."""


class InputError(CognixError):
    """The input is wrong: a flag, a value, a file the user wrote (exit 2)."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(InputError):
    """One or more problems in the project's files, each with its file, line and column."""

    def __init__(self, problems: list[Problem]) -> None:
        ordered = sorted(problems, key=lambda problem: problem.location)
        first = ordered[0]
        super().__init__(str(first), first.hint)
        self.problems = ordered


class Unsupported(InputError):
    """The project asks for something cognix does not support yet (exit 2)."""


class ToolMissing(CognixError):
    """A program cognix needs is missing or too old (exit 3)."""

    exit_code = EXIT_TOOL_MISSING


class Interrupted(CognixError):
    """SIGTERM or SIGHUP arrived: exit 128 + the signal's number, after cleaning up."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signal_number).name}")
        self.exit_code = EXIT_SIGNAL_BASE + signal_number


class ExternalCommandFailed(JobFailed):
    """An external program exited with an error; carries its command and stderr tail."""

    def __init__(
        self, argv: list[str], returncode: int, stderr_tail: str, hint: str | None = None
    ) -> None:
        command = redact_credentials(" ".join(argv))
        message = f"{command} exited with code {returncode}"
        if stderr_tail:
            message += ":\n" + stderr_tail
        super().__init__(message, hint)
        self.argv = argv
        self.returncode = returncode
        self.stderr_tail = stderr_tail


def redact_credentials(text: str) -> str:
    """Replace the user and password of every URL in `text` with `***`."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def for_terminal(text: str) -> str:
    """Return `text` safe to show: credentials redacted, control characters escaped."""
    escaped = _CONTROL.sub(_escaped, text)
    return redact_credentials(escaped)
