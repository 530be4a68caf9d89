"""Read and write `pylock.toml`, and tell whether it still matches the project's inputs.

The lock is uv's PEP 751 output plus a `[tool.cognix]` table holding everything that is not
a Python package: the input digest, the resolution date, the target, the nixpkgs pin and the
cog SDK. TOML date-times are left out because Nix's `builtins.fromTOML` rejects them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from cognix.config.files import OPTIONAL_INPUTS, UnreadableFile, read_project_file
from cognix.errors import ConfigError, JobFailed, Location, Problem

LOCK_FILE = "pylock.toml"
LOCK_VERSION = 1
# The resolution date, as cognix writes it: a UTC time to the second.
EXCLUDE_NEWER_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


@dataclass(frozen=True)
class LockInfo:
    """The `[tool.cognix]` table of a lock, as cognix reads it back."""

    inputs_digest: str
    exclude_newer: str
    python: str
    platform: str
    cog_sdk: str
    nixpkgs_rev: str
    inputs: tuple[str, ...] = ()


def inputs_digest(project_dir: Path, inputs: Sequence[tuple[Path, bytes]]) -> str:
    """Return an SRI sha256 over the names and bytes of `inputs`, in order."""
    digest = hashlib.sha256(f"cognix-lock-{LOCK_VERSION}\0".encode())
    for path, content in inputs:
        name = path.resolve().relative_to(project_dir.resolve()).as_posix()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return "sha256-" + base64.b64encode(digest.digest()).decode()


def unchanged_lock(project_dir: Path) -> LockInfo | None:
    """Return the lock's facts when its recorded inputs still hash to its digest, else None.

    This reads only the lock and the files it lists, so an up-to-date project is known
    without parsing anything; any doubt (no lock, a new optional input, an unreadable
    file) answers None and leaves the decision to a full load.
    """
    try:
        info = read_lock_info(project_dir / LOCK_FILE)
    except ConfigError:
        return None
    if info is None or not info.inputs:
        return None
    present = [name for name in OPTIONAL_INPUTS if (project_dir / name).exists()]
    if any(name not in info.inputs for name in present):
        return None
    try:
        inputs = [
            (project_dir / name, read_project_file(project_dir / name, project_dir))
            for name in info.inputs
        ]
    except UnreadableFile:
        return None
    return info if inputs_digest(project_dir, inputs) == info.inputs_digest else None


def build_lock(
    uv_lock_text: str, dependencies: dict[str, tuple[str, ...]], tool_table: dict[str, Any]
) -> str:
    """Return the final lock text: uv's packages without date-times, with their
    dependencies (PEP 751 `packages.dependencies`), plus `tool.cognix`."""
    document = tomllib.loads(uv_lock_text)
    for package in document.get("packages", []):
        for artifact in [*package.get("wheels", []), package.get("sdist") or {}]:
            artifact.pop("upload-time", None)
        needed = dependencies.get(package["name"], ())
        if needed:
            package["dependencies"] = [{"name": name} for name in needed]
    document["created-by"] = "cognix"
    document.setdefault("tool", {})["cognix"] = tool_table
    return tomli_w.dumps(document)


def read_lock_info(path: Path) -> LockInfo | None:
    """Return the `[tool.cognix]` facts of the lock at `path`; None when there is none.

    Raises `ConfigError` for a lock cognix cannot use: unreadable, not TOML, or without a
    complete, well-typed `[tool.cognix]` table.
    """
    if not path.exists() and not path.is_symlink():
        return None
    _, document = read_lock_document(path)
    info = _lock_info(document)
    if info is None:
        raise _unusable_lock(path, f"{LOCK_FILE} has no complete [tool.cognix] table")
    return info


def read_lock_document(path: Path) -> tuple[str, dict[str, Any]]:
    """Return the text of the lock at `path` and the TOML document it holds.

    Raises `ConfigError` when the file cannot be read or is not TOML.
    """
    try:
        text = read_project_file(path, path.parent).decode("utf-8")
        return text, tomllib.loads(text)
    except UnreadableFile as error:
        raise _unusable_lock(path, f"{LOCK_FILE} {error.reason}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise _unusable_lock(path, f"{LOCK_FILE} is not valid TOML ({error})") from None


def _lock_info(document: dict[str, Any]) -> LockInfo | None:
    """Read the `[tool.cognix]` fields cognix relies on, each with the type it must have."""
    tool = document.get("tool")
    table = tool.get("cognix") if isinstance(tool, dict) else None
    fields = {
        "inputs_digest": ("inputs-digest",),
        "exclude_newer": ("exclude-newer",),
        "python": ("target", "python"),
        "platform": ("target", "platform"),
        "cog_sdk": ("cog", "sdk"),
        "nixpkgs_rev": ("nixpkgs", "rev"),
    }
    values: dict[str, str] = {}
    for name, keys in fields.items():
        value: Any = table
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, str):
            return None
        values[name] = value
    if not re.fullmatch(EXCLUDE_NEWER_PATTERN, values["exclude_newer"]):
        return None
    inputs = table.get("inputs", []) if isinstance(table, dict) else []
    if not (isinstance(inputs, list) and all(isinstance(item, str) for item in inputs)):
        return None
    return LockInfo(**values, inputs=tuple(inputs))


def _unusable_lock(path: Path, message: str) -> ConfigError:
    hint = f"delete {LOCK_FILE} and run `cognix lock` to write it again"
    return ConfigError([Problem(Location(path, 1), message, hint)])


def locked_version(lock_text: str, name: str) -> str | None:
    """Return the version the lock pins for package `name`, if any."""
    for package in tomllib.loads(lock_text).get("packages", []):
        if package.get("name") == name:
            return str(package["version"])
    return None


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step: readers see the old file or the new one."""
    if path.is_dir():
        raise JobFailed(f"cannot write {path}: it is a directory", "remove it, then run again")
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as error:
        raise JobFailed(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as sink:
            sink.write(text)
            sink.flush()
            os.fsync(sink.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise JobFailed(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
