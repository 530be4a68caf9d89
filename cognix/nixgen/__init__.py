"""Render a locked project's flake.nix, flake.lock and `.cognix/` (DESIGN.md section 4).

Every byte comes from the lock, cog.yaml, cognix.toml and the predictor's source: nothing
from the machine, the folder's path, the clock, the locale or the umask. Writing is
atomic per file, and `.cognix/` is replaced as a whole, so an interrupted `cognix
generate` leaves the previous files as they were.

    files = render_project(project, lock_text)
    written = write_generated(project.directory, files)
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from cognix.config.load import Project
from cognix.nixgen.flake import render_flake_lock, render_flake_nix
from cognix.nixgen.library import library_files
from cognix.nixgen.project_json import project_document, render_project_json
from cognix.nixgen.write import LIBRARY_FOLDER, write_generated

__all__ = ["GENERATED_NAMES", "LIBRARY_FOLDER", "render_project", "write_generated"]

# What `cognix generate` writes beside cog.yaml; Nix in a git repository sees them only once
# they are tracked.
GENERATED_NAMES = ("flake.nix", "flake.lock", LIBRARY_FOLDER)


def render_project(project: Project, lock_text: str) -> dict[str, bytes]:
    """Return every generated file by its path relative to the project, in a fixed order."""
    tool = tomllib.loads(lock_text)["tool"]["cognix"]
    document = project_document(project, tool)

    files = {
        "flake.nix": render_flake_nix(document["name"], tool["nixpkgs"]["rev"]).encode(),
        "flake.lock": render_flake_lock(tool["nixpkgs"]).encode(),
    }
    for name, content in library_files().items():
        files[f"{LIBRARY_FOLDER}/{name}"] = content
    files[f"{LIBRARY_FOLDER}/project.json"] = render_project_json(document).encode()
    return files


def generated_paths(project_dir: Path) -> list[Path]:
    """Return the generated files' paths in `project_dir`, whether they exist or not."""
    return [project_dir / name for name in GENERATED_NAMES]
