"""Map apt package names to nixpkgs attributes (DESIGN.md section 3, "System packages").

The table is `cognix/data/apt-to-nixpkgs.toml`; a cognix.toml `[apt]` entry overrides it.
Every name the table does not know is reported at once, with a near name where there is one:

    packages = map_apt_packages([(Location(path, 4, 7), "libgl1")], overrides={})
    packages[0].nixpkgs  # ("libGL", "libx11", "libxext", "mesa")
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from cognix.errors import ConfigError, Location, Problem

TABLE_FILE = "apt-to-nixpkgs.toml"
# A package name, then the `:arch` and `=version` apt accepts; nixpkgs honours neither.
_REQUEST = re.compile(r"(?P<name>[^:=\s]+)(?::[^=\s]*)?(?:=\S*)?")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class SystemPackage:
    """One apt package of the project and the nixpkgs attributes that replace it."""

    apt: str
    nixpkgs: tuple[str, ...]
    kind: str
    location: Location | None
    note: str | None = None


@dataclass(frozen=True)
class AptEntry:
    """One name of the table: its attributes, kind, the file it was checked in, a note.

    `kind` is "runtime", "build-tool", "dropped" (no attributes; `note` says why) or
    "refused" (`note` says why, `hint` what to do instead).
    """

    nixpkgs: tuple[str, ...]
    kind: str
    checked_in: str | None = None
    note: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    entry: AptEntry


@dataclass(frozen=True)
class _Table:
    entries: Mapping[str, AptEntry]
    patterns: tuple[_Pattern, ...]
    renames: Mapping[str, tuple[str, str]]
    kinds: Mapping[str, str]


def load_apt_table() -> Mapping[str, AptEntry]:
    """Return every apt name of the table (mapped, dropped and refused), read once."""
    return _table().entries


def attribute_at(attribute: str, branch: str) -> str:
    """Spell `attribute` (as at the newest pin) the way nixpkgs `branch` names it.

    `attribute_at("libx11.dev", "nixos-25.11")` is `"xorg.libX11.dev"`.
    """
    head, dot, rest = attribute.partition(".")
    for name in (attribute, head):
        renamed = _table().renames.get(name)
        if renamed and _branch_key(branch) < _branch_key(renamed[1]):
            return renamed[0] + (dot + rest if name == head else "")
    return attribute


def map_apt_packages(
    requested: Sequence[tuple[Location, str]], overrides: Mapping[str, Sequence[str]]
) -> list[SystemPackage]:
    """Return the nixpkgs packages of apt names, or raise `ConfigError` naming every unknown.

    `requested` pairs each name with where the user wrote it; an `=version` or `:arch`
    suffix is dropped (the pin decides versions). A name asked for twice keeps its first
    location. `overrides` is cognix.toml's `[apt]` table and wins over the data table.
    """
    first: dict[str, Location] = {}
    for location, text in requested:
        first.setdefault(_bare_name(text), location)
    packages: list[SystemPackage] = []
    problems: list[Problem] = []
    for name, location in first.items():
        if name in overrides:
            packages.append(_overridden(name, overrides[name], location))
            continue
        entry = _lookup(name)
        if entry is None or entry.kind == "refused":
            problems.append(_problem(name, location, entry))
        else:
            packages.append(_package(name, entry, location))
    if problems:
        raise ConfigError(problems)
    return packages


def _bare_name(text: str) -> str:
    match = _REQUEST.fullmatch(text.strip())
    return match.group("name") if match else text.strip()


def _lookup(name: str) -> AptEntry | None:
    table = _table()
    if name in table.entries:
        return table.entries[name]
    for pattern in table.patterns:
        match = pattern.regex.fullmatch(name)
        if match:
            attributes = tuple(a.format(**match.groupdict()) for a in pattern.entry.nixpkgs)
            return AptEntry(attributes, pattern.entry.kind, None, pattern.entry.note)
    return None


def _package(name: str, entry: AptEntry, location: Location) -> SystemPackage:
    note = entry.note
    if entry.kind == "build-tool":
        note = "; ".join(filter(None, [_table().kinds.get(entry.kind), entry.note]))
    return SystemPackage(name, entry.nixpkgs, entry.kind, location, note)


def _overridden(name: str, attributes: Sequence[str], location: Location) -> SystemPackage:
    if not attributes:
        note = "cognix.toml [apt] maps it to no nixpkgs attribute"
        return SystemPackage(name, (), "dropped", location, note)
    return SystemPackage(name, tuple(attributes), "runtime", location, "from cognix.toml [apt]")


def _problem(name: str, location: Location, entry: AptEntry | None) -> Problem:
    mapping = f'map it in cognix.toml: [apt] {_toml_key(name)} = ["nixpkgs-attr"]'
    if entry is not None:
        message = f"apt package '{name}' cannot come from nixpkgs: {entry.note}"
        return Problem(location, message, f"{entry.hint}, or {mapping}")
    near = difflib.get_close_matches(name, list(_table().entries), n=1)
    hint = f"did you mean '{near[0]}'? or {mapping}" if near else mapping
    return Problem(location, f"unknown apt package '{name}'", hint)


def _toml_key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else f'"{name}"'


def _branch_key(branch: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"[0-9]+", branch))


@cache
def _table() -> _Table:
    text = resources.files("cognix.data").joinpath(TABLE_FILE).read_text("utf-8")
    data = tomllib.loads(text)
    entries = {name: _entry(raw) for name, raw in data["packages"].items()}
    for name, raw in data.get("dropped", {}).items():
        entries[name] = AptEntry((), "dropped", note=raw["reason"])
    for name, raw in data.get("refused", {}).items():
        entries[name] = AptEntry((), "refused", note=raw["reason"], hint=raw["hint"])
    patterns = tuple(_Pattern(re.compile(raw["apt"]), _entry(raw)) for raw in data["patterns"])
    renames = {new: (raw["old"], raw["since"]) for new, raw in data["renames"].items()}
    kinds = {kind: raw["description"] for kind, raw in data["kinds"].items()}
    return _Table(MappingProxyType(entries), patterns, MappingProxyType(renames), kinds)


def _entry(raw: Mapping[str, Any]) -> AptEntry:
    return AptEntry(
        nixpkgs=tuple(raw["nixpkgs"]),
        kind=raw.get("kind", "runtime"),
        checked_in=raw["checked-in"],
        note=raw.get("note"),
    )
