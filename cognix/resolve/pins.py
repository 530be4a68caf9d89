"""The nixpkgs revisions cognix pins, and the choice of one for a project.

The table is `cognix/data/nixpkgs-pins.toml`: confirmed revisions only (DESIGN.md section 3).
The newest revision that has the requested Python minor wins.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from cognix.errors import InputError


@dataclass(frozen=True)
class NixpkgsPin:
    """One nixpkgs revision, with what it offers."""

    branch: str
    rev: str
    nar_hash: str
    last_modified: int
    min_nix: str
    pythons: tuple[str, ...]
    cuda: tuple[str, ...]

    def python_attr(self, minor: str) -> str:
        """Return the nixpkgs attribute of a Python minor, e.g. `python311`."""
        return "python" + minor.replace(".", "")


@cache
def known_pins() -> tuple[NixpkgsPin, ...]:
    """Return every pin of the data table, oldest first."""
    text = resources.files("cognix.data").joinpath("nixpkgs-pins.toml").read_text("utf-8")
    table = tomllib.loads(text)
    pins = [
        NixpkgsPin(
            branch=entry["branch"],
            rev=entry["rev"],
            nar_hash=entry["nar-hash"],
            last_modified=entry["last-modified"],
            min_nix=entry["min-nix"],
            pythons=tuple(entry["pythons"]),
            cuda=tuple(entry["cuda"]),
        )
        for entry in table["pin"]
    ]
    return tuple(sorted(pins, key=lambda pin: pin.last_modified))


def supported_pythons() -> list[str]:
    """Return every Python minor some pin has, in version order."""
    minors = {minor for pin in known_pins() for minor in pin.pythons}
    return sorted(minors, key=lambda minor: tuple(int(part) for part in minor.split(".")))


def choose_pin(python_minor: str, rev: str | None = None) -> NixpkgsPin:
    """Return pin `rev` when given, else the newest pin that has `python_minor`.

    Raises `InputError` when `rev` is not a known pin, or no pin fits.
    """
    if rev is not None:
        return _pin_by_rev(rev, python_minor)
    for pin in reversed(known_pins()):
        if python_minor in pin.pythons:
            return pin
    available = ", ".join(supported_pythons())
    raise InputError(
        f"no pinned nixpkgs revision has Python {python_minor}",
        f"use one of {available}",
    )


def _pin_by_rev(rev: str, python_minor: str) -> NixpkgsPin:
    for pin in known_pins():
        if pin.rev == rev:
            if python_minor not in pin.pythons:
                have = ", ".join(pin.pythons)
                message = f"nixpkgs {rev[:12]} ({pin.branch}) has no Python {python_minor}"
                raise InputError(message, f"it has {have}; change [nixpkgs] rev in cognix.toml")
            return pin
    revisions = ", ".join(f"{pin.rev} ({pin.branch})" for pin in known_pins())
    raise InputError(
        f"cognix.toml asks for nixpkgs {rev}, which is not a pinned revision",
        f"use one of: {revisions}",
    )
