"""Render a locked project's flake.nix, flake.lock and `.cognix/` (DESIGN.md section 4).

Every byte comes from the lock, cog.yaml, cognix.toml and the predictor's source: nothing
from the machine, the folder's path, the clock, the locale or the umask. Writing is
atomic per file, and `.cognix/` is replaced as a whole, so an interrupted `cognix
generate` leaves the previous files as they were.

    files = render_project(project, lock_text)
    written = write_generated(project.directory, files)
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from cognix.config.load import Project
from cognix.errors import ConfigError, Location, Problem
from cognix.nixgen.flake import render_flake_lock, render_flake_nix
from cognix.nixgen.library import library_files
from cognix.nixgen.project_json import project_document, render_project_json
from cognix.nixgen.write import LIBRARY_FOLDER, write_generated

__all__ = ["GENERATED_NAMES", "LIBRARY_FOLDER", "render_project", "write_generated"]

# What `cognix generate` writes beside cog.yaml; Nix in a git repository sees them only once
# they are tracked.
GENERATED_NAMES = ("flake.nix", "flake.lock", LIBRARY_FOLDER)


# What flake.lock and flake.nix take from `[tool.cognix.nixpkgs]`, verbatim: anything else
# could break out of the `inputs.nixpkgs.url` string of flake.nix, or make Nix fail later.
_PIN_FIELDS: dict[str, tuple[type, re.Pattern[str] | None, str]] = {
    "rev": (str, re.compile(r"[0-9a-f]{40}"), "a 40-hex-digit git commit"),
    "nar-hash": (str, re.compile(r"sha256-[A-Za-z0-9+/]{43}="), "an SRI sha256 hash"),
    "last-modified": (int, None, "an integer (seconds since 1970)"),
}
_LOCK_HINT = "delete pylock.toml and run `cognix lock` to write it again"


def render_project(project: Project, lock_text: str) -> dict[str, bytes]:
    """Return every generated file by its path relative to the project, in a fixed order.

    Raises `ConfigError` when the lock's nixpkgs pin or CUDA table is not as `cognix lock`
    writes it (a hand edit, say), pointing at the line of pylock.toml.
    """
    tool = _checked_tool(project.directory / "pylock.toml", lock_text)
    document = project_document(project, tool)

    files = {
        "flake.nix": render_flake_nix(document["name"], tool["nixpkgs"]["rev"]).encode(),
        "flake.lock": render_flake_lock(tool["nixpkgs"]).encode(),
    }
    for name, content in library_files().items():
        files[f"{LIBRARY_FOLDER}/{name}"] = content
    files[f"{LIBRARY_FOLDER}/project.json"] = render_project_json(document).encode()
    return files


def _checked_tool(path: Path, lock_text: str) -> dict[str, Any]:
    """Return the lock's `[tool.cognix]` table once the fields copied into Nix are checked."""
    tool: dict[str, Any] = tomllib.loads(lock_text)["tool"]["cognix"]
    pin = tool.get("nixpkgs")
    for key, (kind, pattern, what) in _PIN_FIELDS.items():
        value = pin.get(key) if isinstance(pin, dict) else None
        valid = isinstance(value, kind) and not isinstance(value, bool)
        if valid and pattern is not None and pattern.fullmatch(str(value)) is None:
            valid = False
        if not valid:
            shown = "missing" if value is None else repr(value)
            message = f"[tool.cognix.nixpkgs] {key} is {shown}, not {what}"
            where = Location(path, _line_of(lock_text, "tool.cognix.nixpkgs", key))
            raise ConfigError([Problem(where, message, _LOCK_HINT)])
    cuda = tool.get("cuda")
    if cuda is not None and not (isinstance(cuda, dict) and isinstance(cuda.get("version"), str)):
        where = Location(path, _line_of(lock_text, "tool.cognix.cuda", "version"))
        message = "[tool.cognix.cuda] has no version string"
        raise ConfigError([Problem(where, message, _LOCK_HINT)])
    return tool


def _line_of(text: str, table: str, key: str) -> int:
    """Return the line of `key` in `[table]`, else of the table's header, else 1."""
    header = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            if header is not None:
                break
            if stripped == f"[{table}]":
                header = number
        elif header is not None and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return header or 1
