"""Turn pydantic's validation errors on cog.yaml into located, readable problems."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cognix.config import yaml_source
from cognix.errors import Location, Problem

DataPath = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

# Hints for the mistakes seen in real cog.yaml files, keyed by the dotted key.
_MISSING_HINTS = {
    "build": 'add a build section with the Python version: build: {python_version: "3.11"}',
    "build.python_version": 'add python_version: "3.11" (quoted) under build:',
    "concurrency.max": "write concurrency: {max: 8}",
}
_MAPPING_HINTS = {
    "concurrency": "write it as a mapping: concurrency: {max: %s}",
    "build": 'write build: as a mapping, e.g. build: {python_version: "3.11"}',
}


@dataclass
class PlainData:
    """cog.yaml as plain dicts and lists, with the location of every key and value."""

    data: Any
    value_locations: dict[DataPath, Location] = field(default_factory=dict)
    key_locations: dict[DataPath, Location] = field(default_factory=dict)

    def locate(self, path: DataPath) -> Location:
        """Return where the value at `path` starts, or its nearest located parent."""
        while path not in self.value_locations and path:
            path = path[:-1]
        return self.value_locations[path]


def to_plain(node: Any, root: Location) -> PlainData:
    """Convert `yaml_source` values to plain data, indexing each location by path."""
    plain = PlainData(data=None)
    plain.value_locations[()] = root
    plain.data = _flatten(node, (), plain)
    return plain


def _flatten(node: Any, path: DataPath, plain: PlainData) -> Any:
    if isinstance(node, yaml_source.Mapping):
        plain.value_locations[path] = node.location
        result = {}
        for key, value in node.values.items():
            plain.key_locations[(*path, key)] = node.key_locations[key]
            result[key] = _flatten(value, (*path, key), plain)
        return result
    if isinstance(node, yaml_source.Sequence):
        plain.value_locations[path] = node.location
        items = []
        pairs = zip(node.items, node.item_locations, strict=True)
        for index, (item, location) in enumerate(pairs):
            plain.value_locations[(*path, index)] = location
            items.append(_flatten(item, (*path, index), plain))
        return items
    if isinstance(node, yaml_source.Scalar):
        plain.value_locations[path] = node.location
    return node


def validate_model(model: type[M], plain: PlainData) -> tuple[M | None, list[Problem]]:
    """Validate `plain` as `model`; return the model or the located problems."""
    try:
        return model.model_validate(plain.data), []
    except ValidationError as error:
        # Unknown keys first: a misspelt key usually explains the missing one after it.
        errors = sorted(error.errors(), key=lambda item: item["type"] != "extra_forbidden")
        problems = [_problem(plain, model, item) for item in errors]
        return None, problems


def _problem(plain: PlainData, model: type[BaseModel], error: Any) -> Problem:
    loc = error["loc"]
    kind = error["type"]
    # An unknown key's loc ends with the key itself; report it at its parent.
    path = _data_path(plain.data, loc[:-1] if kind == "extra_forbidden" else loc)
    keys = [part for part in path if isinstance(part, str)]
    dotted = ".".join(keys)
    in_list = bool(path) and isinstance(path[-1], int)

    if kind == "extra_forbidden":
        return _unknown_key(plain, model, path, error["loc"][-1])
    if kind == "missing":
        full = ".".join([*keys, str(loc[-1])])
        hint = _MISSING_HINTS.get(full)
        # Without build, the key that is really missing is the Python version.
        shown = "build.python_version" if full == "build" else full
        return Problem(plain.locate(path), f"missing required key '{shown}'", hint)

    location = plain.locate(path)
    subject = f"an item of '{dotted}'" if in_list else f"'{dotted}'"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return Problem(location, f"{subject} must be a mapping", _mapping_hint(dotted, error))
    if kind == "list_type":
        hint = "write each item on its own line, starting with '- '"
        return Problem(location, f"{subject} must be a list", hint)
    if kind == "literal_error":
        expected = error["ctx"]["expected"]
        return Problem(location, f"{subject} must be {expected}, got '{error['input']}'")
    return Problem(location, f"{subject}: {error['msg']}")


def _data_path(data: Any, loc: tuple[Any, ...]) -> DataPath:
    """Keep the parts of a pydantic `loc` that step into the data (not union branches)."""
    path: list[str | int] = []
    for part in loc:
        steps_into_mapping = isinstance(data, dict) and part in data
        steps_into_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if steps_into_mapping or steps_into_list:
            data = data[part]
            path.append(part)
    return tuple(path)


def _unknown_key(plain: PlainData, model: type[BaseModel], path: DataPath, key: Any) -> Problem:
    known = _known_keys(model, path)
    parent = ".".join(str(part) for part in path if isinstance(part, str))
    where = f" in '{parent}'" if parent else ""
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(known)
    location = plain.key_locations.get((*path, key), plain.locate(path))
    return Problem(location, f"unknown key '{key}'{where}", hint)


def _known_keys(model: type[BaseModel], path: DataPath) -> list[str]:
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        annotation = current.model_fields[part].annotation
        current = _model_in(annotation)
        if current is None:
            return []
    return list(current.model_fields)


def _model_in(annotation: Any) -> Any:
    """Find the pydantic model inside an annotation such as `Build | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _mapping_hint(dotted: str, error: Any) -> str | None:
    template = _MAPPING_HINTS.get(dotted)
    if template is None:
        return None
    return template % error["input"] if "%s" in template else template
