"""Read a YAML file into plain data that remembers where each value came from.

Cog parses cog.yaml with go-yaml (YAML 1.2) into typed Go structs, so a scalar going into a
string field keeps its raw text (`python_version: 3.10` is "3.10") and `gpu: yes` is not a
boolean. PyYAML resolves YAML 1.1 types instead, so cognix composes the node tree and keeps
every scalar as a `Scalar`: its raw text plus the YAML 1.2 core type it would resolve to.
Each mapping and sequence also records where its keys and items start, for error messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cognix.errors import ConfigError, Location, Problem

# YAML 1.2 core schema resolution for plain (unquoted) scalars.
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$"
)


class Scalar(str):
    """A scalar's raw text, with the YAML 1.2 type a plain scalar of that text has."""

    kind: str
    location: Location

    def __new__(cls, text: str, kind: str, location: Location) -> Scalar:
        scalar = super().__new__(cls, text)
        scalar.kind = kind
        scalar.location = location
        return scalar


@dataclass
class Mapping:
    """A YAML mapping: its values, and where it and each of its keys start."""

    location: Location
    values: dict[str, Any] = field(default_factory=dict)
    key_locations: dict[str, Location] = field(default_factory=dict)


@dataclass
class Sequence:
    """A YAML sequence: its items, and where it and each item start."""

    location: Location
    items: list[Any] = field(default_factory=list)
    item_locations: list[Location] = field(default_factory=list)


def read_yaml(path: Path) -> Mapping | Sequence | Scalar | None:
    """Parse `path` into `Mapping`, `Sequence` and `Scalar` values (None for nulls).

    Raises `ConfigError` for a file that cannot be read or is not valid YAML.
    """
    text = _read_text(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        raise ConfigError([_syntax_problem(path, error)]) from None
    except yaml.YAMLError as error:
        raise ConfigError([Problem(Location(path, 1), f"invalid YAML: {error}")]) from None

    if node is None:
        return None
    problems: list[Problem] = []
    data = _convert(node, path, problems)
    if problems:
        raise ConfigError(problems)
    return data


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(
            [Problem(Location(path, 1), f"cannot read the file: {error.strerror}")]
        ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        message = f"the file is not UTF-8 text (byte {raw[error.start]:#04x})"
        raise ConfigError([Problem(Location(path, line), message)]) from None


def _syntax_problem(path: Path, error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = error.problem or "invalid YAML"
    context = f" ({error.context})" if error.context else ""
    return Problem(
        Location(path, line, column),
        f"invalid YAML: {problem}{context}",
        "check the indentation and quote values that contain ': ' or start with a symbol",
    )


def _location(path: Path, node: yaml.Node) -> Location:
    return Location(path, node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(
    node: yaml.Node, path: Path, problems: list[Problem]
) -> Mapping | Sequence | Scalar | None:
    if isinstance(node, yaml.MappingNode):
        return _convert_mapping(node, path, problems)
    if isinstance(node, yaml.SequenceNode):
        sequence = Sequence(_location(path, node))
        for item in node.value:
            sequence.items.append(_convert(item, path, problems))
            sequence.item_locations.append(_location(path, item))
        return sequence
    return _convert_scalar(node, path)


def _convert_mapping(node: yaml.MappingNode, path: Path, problems: list[Problem]) -> Mapping:
    mapping = Mapping(_location(path, node))
    for key_node, value_node in node.value:
        key_location = _location(path, key_node)
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(Problem(key_location, "a key must be plain text"))
            continue
        key = str(key_node.value)
        if key in mapping.values:
            first = mapping.key_locations[key]
            message = f"duplicate key '{key}' (first defined at line {first.line})"
            problems.append(Problem(key_location, message, "keep one of the two"))
            continue
        mapping.values[key] = _convert(value_node, path, problems)
        mapping.key_locations[key] = key_location
    return mapping


def _convert_scalar(node: yaml.Node, path: Path) -> Scalar | None:
    text = str(node.value)
    location = _location(path, node)
    if isinstance(node, yaml.ScalarNode) and node.style is not None:
        # Quoted and block scalars are always strings.
        return Scalar(text, "str", location)
    return _resolve_plain(text, location)


def _resolve_plain(text: str, location: Location) -> Scalar | None:
    if _NULL.match(text):
        return None
    for kind, pattern in (("bool", _BOOL), ("int", _INT), ("float", _FLOAT)):
        if pattern.match(text):
            return Scalar(text, kind, location)
    return Scalar(text, "str", location)
