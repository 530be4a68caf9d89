"""Local virtual environments built from a project's `pylock.toml`, with uv.

Each environment lives in cognix's cache under the sha256 of the lock it was built from,
so an unchanged lock reuses it and a changed lock builds a new one. A marker file written
last says the environment is complete; one without it is rebuilt.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

from cognix import external
from cognix.cache import cache_dir
from cognix.errors import ExternalCommandFailed, ToolMissing
from cognix.resolve.python import uv_binary

log = logging.getLogger(__name__)

COMPLETE_MARKER = ".cognix-complete"


def environment_for(lock_path: Path, python_minor: str) -> Path:
    """Return a complete virtual environment with exactly the lock's packages installed."""
    key = hashlib.sha256(lock_path.read_bytes()).hexdigest()[:32]
    venv = cache_dir() / "venvs" / f"py{python_minor}-{key}"
    if (venv / COMPLETE_MARKER).is_file():
        log.debug("reusing %s", venv)
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _building(venv):
        if (venv / COMPLETE_MARKER).is_file():
            log.debug("another cognix built %s meanwhile", venv)
            return venv
        _build(venv, lock_path, python_minor)
    return venv


@contextlib.contextmanager
def _building(venv: Path) -> Iterator[None]:
    """Hold the environment's build lock: two cognix runs never build one folder at once.

    The second waits, then finds the environment complete. The lock is a file beside the
    folder, released by the kernel when the process ends however it ends.
    """
    with open(venv.with_name(venv.name + ".lock"), "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("waiting for another cognix building %s", venv)
            fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def _build(venv: Path, lock_path: Path, python_minor: str) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    interpreter = find_interpreter(python_minor)
    external.run([uv_binary(), "venv", "--quiet", "--python", interpreter, str(venv)])
    external.run(
        [uv_binary(), "pip", "sync", "--quiet", "--python", str(venv / "bin" / "python"),
         str(lock_path)],
        env={"UV_NO_CONFIG": "1"},
    )  # fmt: skip
    (venv / COMPLETE_MARKER).write_text(str(lock_path) + "\n", "utf-8")


def find_interpreter(python_minor: str) -> str:
    """Return the path of an installed CPython `python_minor`, or raise `ToolMissing`."""
    try:
        found = external.run(
            [uv_binary(), "python", "find", "--no-project", python_minor],
            env={"UV_PYTHON_DOWNLOADS": "never"},
        )
    except ExternalCommandFailed:
        raise ToolMissing(
            f"no Python {python_minor} interpreter was found on this machine",
            f"install CPython {python_minor} so that python{python_minor} is on PATH",
        ) from None
    return found.stdout.strip()
