"""Read and write `pylock.toml`, and tell whether it still matches the project's inputs.

The lock is uv's PEP 751 output plus a `[tool.cognix]` table holding everything that is not
a Python package: the input digest, the resolution date, the target, the nixpkgs pin and the
cog SDK. TOML date-times are left out because Nix's `builtins.fromTOML` rejects them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cognix.config.files import UnreadableFile, read_project_file
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


def inputs_digest(project_dir: Path, inputs: Sequence[tuple[Path, bytes]]) -> str:
    """Return an SRI sha256 over the names and bytes of `inputs`, in order."""
    digest = hashlib.sha256(f"cognix-lock-{LOCK_VERSION}\0".encode())
    for path, content in inputs:
        name = path.resolve().relative_to(project_dir.resolve()).as_posix()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return "sha256-" + base64.b64encode(digest.digest()).decode()


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
    try:
        document = tomllib.loads(read_project_file(path, path.parent).decode("utf-8"))
        table = _ToolTable.model_validate(document.get("tool", {}).get("cognix"))
    except UnreadableFile as error:
        raise _unusable_lock(path, f"{LOCK_FILE} {error.reason}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise _unusable_lock(path, f"{LOCK_FILE} is not valid TOML ({error})") from None
    except (ValidationError, AttributeError):
        raise _unusable_lock(path, f"{LOCK_FILE} has no complete [tool.cognix] table") from None
    return LockInfo(
        inputs_digest=table.inputs_digest,
        exclude_newer=table.exclude_newer,
        python=table.target.python,
        platform=table.target.platform,
        cog_sdk=table.cog.sdk,
        nixpkgs_rev=table.nixpkgs.rev,
    )


class _Target(BaseModel):
    python: str
    platform: str


class _Cog(BaseModel):
    sdk: str


class _Nixpkgs(BaseModel):
    rev: str


class _ToolTable(BaseModel):
    """The part of `[tool.cognix]` that cognix reads back, with the types it must have."""

    model_config = ConfigDict(strict=True)

    inputs_digest: str = Field(alias="inputs-digest")
    exclude_newer: str = Field(alias="exclude-newer", pattern=EXCLUDE_NEWER_PATTERN)
    target: _Target
    cog: _Cog
    nixpkgs: _Nixpkgs


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
