"""Render the project's flake.nix and flake.lock from the lock's nixpkgs pin.

cognix writes flake.lock itself, from the pin's rev, narHash and lastModified, so
generating needs no network and `nix build` fetches exactly the pinned nixpkgs.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jinja2

from cognix import __version__

FLAKE_LOCK_VERSION = 7


def nix_string(text: str) -> str:
    """Return `text` as a double-quoted Nix string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


@cache
def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("cognix.nixgen", "templates"),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    environment.filters["nix_string"] = nix_string
    return environment


def render_flake_nix(image_name: str, rev: str) -> str:
    """Return flake.nix: one nixpkgs input at `rev`, outputs from the vendored library."""
    template = _templates().get_template("flake.nix.j2")
    description = f"{image_name}: a Cog model built by cognix"
    return template.render(version=__version__, description=description, rev=rev)


def render_flake_lock(pin: dict[str, Any]) -> str:
    """Return flake.lock for the lock's `[tool.cognix.nixpkgs]` table, as Nix writes it."""
    github = {"owner": "NixOS", "repo": "nixpkgs", "rev": pin["rev"], "type": "github"}
    locked = github | {"lastModified": pin["last-modified"], "narHash": pin["nar-hash"]}
    document = {
        "nodes": {
            "nixpkgs": {"locked": locked, "original": github},
            "root": {"inputs": {"nixpkgs": "nixpkgs"}},
        },
        "root": "root",
        "version": FLAKE_LOCK_VERSION,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
