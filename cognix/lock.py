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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from cognix.errors import ConfigError, Location, Problem

LOCK_FILE = "pylock.toml"
LOCK_VERSION = 1


@dataclass(frozen=True)
class LockInfo:
    """The `[tool.cognix]` table of a lock, as cognix reads it back."""

    inputs_digest: str
    exclude_newer: str
    python: str
    platform: str
    cog_sdk: str
    nixpkgs_rev: str


def inputs_digest(project_dir: Path, files: list[Path]) -> str:
    """Return an SRI sha256 over the names and bytes of `files`, in order."""
    digest = hashlib.sha256(f"cognix-lock-{LOCK_VERSION}\0".encode())
    for path in files:
        name = path.resolve().relative_to(project_dir.resolve()).as_posix()
        content = path.read_bytes()
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
    """Return the `[tool.cognix]` facts of the lock at `path`; None when there is none."""
    if not path.is_file():
        return None
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        message = f"{LOCK_FILE} is not valid TOML ({error})"
        hint = f"delete {LOCK_FILE} and run `cognix lock` again"
        raise ConfigError([Problem(Location(path, 1), message, hint)]) from None

    table = document.get("tool", {}).get("cognix", {})
    try:
        return LockInfo(
            inputs_digest=table["inputs-digest"],
            exclude_newer=table["exclude-newer"],
            python=table["target"]["python"],
            platform=table["target"]["platform"],
            cog_sdk=table["cog"]["sdk"],
            nixpkgs_rev=table["nixpkgs"]["rev"],
        )
    except (KeyError, TypeError):
        message = f"{LOCK_FILE} has no complete [tool.cognix] table"
        hint = f"it was not written by cognix; run `cognix lock` to replace {LOCK_FILE}"
        raise ConfigError([Problem(Location(path, 1), message, hint)]) from None


def locked_version(lock_text: str, name: str) -> str | None:
    """Return the version the lock pins for package `name`, if any."""
    for package in tomllib.loads(lock_text).get("packages", []):
        if package.get("name") == name:
            return str(package["version"])
    return None


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step: readers see the old file or the new one."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as sink:
            sink.write(text)
            sink.flush()
            os.fsync(sink.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
