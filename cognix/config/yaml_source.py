"""Read a YAML file into plain data that remembers where each value came from.

Cog parses cog.yaml with go-yaml (YAML 1.2) into typed Go structs, so a scalar going into a
string field keeps its raw text (`python_version: 3.10` is "3.10") and `gpu: yes` is not a
boolean. PyYAML resolves YAML 1.1 types instead, so cognix composes the node tree and keeps
every scalar as a `Scalar`: its raw text plus the YAML 1.2 core type it would resolve to.
Each mapping and sequence also records where its keys and items start, for error messages.
Merge keys (`<<`) are expanded, as go-yaml does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cognix.config.files import UnreadableFile, read_project_file
from cognix.errors import ConfigError, Location, Problem

# YAML 1.2 core schema resolution for plain (unquoted) scalars.
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$"
)
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
# cog.yaml needs 6 levels; deeper data only risks Python's recursion limit.
_MAX_DEPTH = 64
# The number of leading pairs of a mapping node that came from `<<` merge keys.
_MERGED_COUNT = "cognix_merged_count"
# A real cog.yaml has a few hundred values; this bounds what aliases can expand to.
_MAX_VALUES = 100_000
_TOO_DEEP = f"values are nested more than {_MAX_DEPTH} levels deep"


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
    node = _compose(path, text)
    if node is None:
        return None
    if _expanded_size(node, {}, set()) > _MAX_VALUES:
        message = f"this file holds more than {_MAX_VALUES} values, aliases expanded"
        raise ConfigError([Problem(_location(path, node), message, "write the values out")])
    problems: list[Problem] = []
    data = _convert(node, path, problems, ())
    if problems:
        raise ConfigError(problems)
    return data


def _read_text(path: Path) -> str:
    try:
        raw = read_project_file(path, path.parent)
    except UnreadableFile as error:
        raise ConfigError([Problem(Location(path, 1), f"{path.name} {error.reason}")]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        message = f"the file is not UTF-8 text (byte {raw[error.start]:#04x})"
        raise ConfigError([Problem(Location(path, line), message)]) from None


def _compose(path: Path, text: str) -> yaml.Node | None:
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as error:
        # PyYAML refuses control characters before parsing, giving only their offset.
        where = _text_location(path, text, error.position)
        message = f"invalid YAML: the character U+{error.character:04X} is not allowed"
        raise ConfigError([Problem(where, message, "delete it")]) from None
    try:
        node = loader.get_single_node()
        _merge_keys(loader, node, set())
        return node
    except yaml.MarkedYAMLError as error:
        raise ConfigError([_syntax_problem(path, error)]) from None
    except yaml.YAMLError as error:
        raise ConfigError([Problem(Location(path, 1), f"invalid YAML: {error}")]) from None
    except RecursionError:
        # The parser keeps where each collection it is inside starts, outermost first.
        marks = loader.marks
        mark = marks[_MAX_DEPTH] if len(marks) > _MAX_DEPTH else loader.get_mark()
        where = Location(path, mark.line + 1, mark.column + 1)
        raise ConfigError([Problem(where, _TOO_DEEP)]) from None
    finally:
        loader.dispose()


def _merge_keys(loader: yaml.SafeLoader, node: yaml.Node | None, seen: set[int]) -> None:
    """Expand `<<` merge keys in place, as go-yaml does, with PyYAML's own merge rules."""
    if not isinstance(node, yaml.CollectionNode) or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        explicit = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
        loader.flatten_mapping(node)
        # Merged pairs come first; an explicit key may override them (not each other).
        setattr(node, _MERGED_COUNT, len(node.value) - explicit)
        children = [child for pair in node.value for child in pair]
    else:
        children = list(node.value)
    for child in children:
        _merge_keys(loader, child, seen)


def _expanded_size(node: yaml.Node, sizes: dict[int, int], visiting: set[int]) -> int:
    """Count the values `node` becomes once every alias is expanded (cycles count 0)."""
    if not isinstance(node, yaml.CollectionNode):
        return 1
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in visiting:
        return 0
    visiting.add(key)
    children = (
        node.value
        if isinstance(node, yaml.SequenceNode)
        else [child for pair in node.value for child in pair]
    )
    total = 1 + sum(_expanded_size(child, sizes, visiting) for child in children)
    visiting.discard(key)
    sizes[key] = total
    return total


def _text_location(path: Path, text: str, offset: int) -> Location:
    """Return where character `offset` is, counting line breaks as PyYAML's marks do."""
    line, start = 1, 0
    for match in _LINE_BREAK.finditer(text, 0, offset):
        line, start = line + 1, match.end()
    return Location(path, line, offset - start + 1)


def _syntax_problem(path: Path, error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    if error.context == "while scanning a simple key" and error.context_mark:
        # A key without its ':' is only noticed at the next token, maybe lines below.
        mark = error.context_mark
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
    node: yaml.Node, path: Path, problems: list[Problem], parents: tuple[yaml.Node, ...]
) -> Mapping | Sequence | Scalar | None:
    """Convert `node`, inside the collections `parents` (outermost first)."""
    if not isinstance(node, yaml.CollectionNode):
        return _convert_scalar(node, path)
    if node in parents:
        message = "this anchored value contains an alias to itself"
        problems.append(Problem(_location(path, node), message, "write the values out instead"))
        return None
    if len(parents) == _MAX_DEPTH:
        problems.append(Problem(_location(path, node), _TOO_DEEP))
        return None
    parents = (*parents, node)
    if isinstance(node, yaml.MappingNode):
        return _convert_mapping(node, path, problems, parents)
    sequence = Sequence(_location(path, node))
    for item in node.value:
        sequence.items.append(_convert(item, path, problems, parents))
        sequence.item_locations.append(_location(path, item))
    return sequence


def _convert_mapping(
    node: yaml.MappingNode, path: Path, problems: list[Problem], parents: tuple[yaml.Node, ...]
) -> Mapping:
    mapping = Mapping(_location(path, node))
    merged = getattr(node, _MERGED_COUNT, 0)
    from_merge: set[str] = set()
    for position, (key_node, value_node) in enumerate(node.value):
        key_location = _location(path, key_node)
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(Problem(key_location, "a key must be plain text"))
            continue
        key = str(key_node.value)
        # Only two keys written in this mapping itself clash; merged ones give way.
        if key in mapping.values and position >= merged and key not in from_merge:
            first = mapping.key_locations[key]
            message = f"duplicate key '{key}' (first defined at line {first.line})"
            problems.append(Problem(key_location, message, "keep one of the two"))
            continue
        if position < merged:
            from_merge.add(key)
        else:
            from_merge.discard(key)
        mapping.values[key] = _convert(value_node, path, problems, parents)
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
