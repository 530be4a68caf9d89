"""Read the files a user wrote: regular files inside the project, of a bounded size.

Cog's build context is the project folder, so a cog.yaml, requirements file or predictor
outside it could never reach Cog's image; cognix refuses them too (and so never echoes the
lines of a file such as /etc/passwd back in an error). Devices, FIFOs and directories are
refused before they are opened, and no file is read past `MAX_FILE_BYTES`.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from cognix.errors import InputError

MAX_FILE_BYTES = 16 * 1024 * 1024
COG_YAML = "cog.yaml"
SETTINGS_FILE = "cognix.toml"
DOCKERIGNORE = ".dockerignore"
# Inputs that count only when present; all others are named by cog.yaml.
OPTIONAL_INPUTS = (SETTINGS_FILE, DOCKERIGNORE)
_MAX_WALK_UP = 100

# While set, every file read is remembered, so a digest covers exactly the bytes parsed.
_remembered: ContextVar[dict[Path, bytes] | None] = ContextVar("remembered", default=None)


@contextlib.contextmanager
def remembering_reads() -> Iterator[dict[Path, bytes]]:
    """Remember the bytes of every project file read inside the `with` block, by path."""
    reads: dict[Path, bytes] = {}
    token = _remembered.set(reads)
    try:
        yield reads
    finally:
        _remembered.reset(token)


class UnreadableFile(Exception):
    """A project file that cannot be read; `reason` finishes the sentence "<path> …"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_project_file(path: Path, project_dir: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """Return the bytes of `path`, a regular file inside `project_dir`, or raise."""
    if not is_inside(path, project_dir):
        raise UnreadableFile("is outside the project folder, where Cog cannot see it")
    try:
        # Checked before opening: opening a FIFO would wait for a writer.
        kind = os.stat(path).st_mode
        if stat.S_ISDIR(kind):
            raise UnreadableFile("is a directory, not a file")
        if not stat.S_ISREG(kind):
            raise UnreadableFile("is not a regular file")
        with path.open("rb") as source:
            data = source.read(limit + 1)
    except FileNotFoundError:
        raise UnreadableFile("does not exist") from None
    except OSError as error:
        raise UnreadableFile(f"cannot be read: {error.strerror or error}") from None
    if len(data) > limit:
        raise UnreadableFile(f"is larger than {limit // (1024 * 1024)} MiB")
    reads = _remembered.get()
    if reads is not None:
        reads.setdefault(path.resolve(), data)
    return data


def is_inside(path: Path, directory: Path) -> bool:
    """Return whether `path` (symlinks followed) lies inside `directory`."""
    try:
        path.resolve().relative_to(directory.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def find_project_dir(start: Path) -> Path:
    """Return the nearest directory at or above `start` that holds a cog.yaml."""
    current = start.resolve()
    for _ in range(_MAX_WALK_UP):
        if (current / COG_YAML).is_file():
            return current
        if current.parent == current:
            break
        current = current.parent
    raise InputError(
        f"no {COG_YAML} found in {start} or any folder above it",
        "run cognix inside a Cog project, pass --project DIR, or create one with `cognix init`",
    )
