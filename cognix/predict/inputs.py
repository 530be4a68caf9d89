"""Turn `-i name=value` items into a prediction's input, checked before anything starts.

The parsing follows `cog predict` (Cog 0.23.1 `pkg/cli/predict.go` and
`pkg/predict/input.go`): `name=value`, surrounding double quotes dropped, `@path` sent
as a data URL, a repeated name making a list, and each value coerced by the type the
predictor's OpenAPI schema gives it. Then the schema's constraints are checked, and the
request's size against the server's limit, so a typo or a huge file fails at once instead
of after a container or server has started.
"""

from __future__ import annotations

import base64
import difflib
import functools
import json
import math
import mimetypes
import os
import re
import stat
from pathlib import Path
from typing import Any

from cognix.errors import InputError, JobFailed
from cognix.predict.client import MAX_REQUEST_BYTES, request_body

_INTEGER = re.compile(r"[+-]?\d+")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_TRUE, _FALSE = ("true", "1"), ("false", "0")
# Python 3.11's built-in table lacks a few types models often take.
_EXTRA_TYPES = {".webp": "image/webp", ".flac": "audio/flac", ".ogg": "audio/ogg"}
# The order a union's members are tried in: the most particular first, string last.
_UNION_ORDER = ("integer", "number", "boolean", "object", "array", "string")
_KIND_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a JSON object",
    "array": "a list",
    "string": "a string",
}
_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
# Values quoted in messages are cut here: a value can be a whole file or 5000 digits.
SHOWN_CHARS = 50


def parse_inputs(pairs: list[str], schema: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """Parse `-i` items against a predictor's OpenAPI schema into the request's input.

    `@path` values are read relative to `base_dir` (after `~` expansion). Raises
    InputError, naming the input, for an unknown name, a value of the wrong type or out
    of its bounds or choices, a missing or unreadable file, a required input left out, or
    a request too big for the Cog server.

        parse_inputs(["n=3", "image=@cat.png"], schema, Path.cwd())
        # {"n": 3, "image": "data:image/png;base64,..."}
    """
    component = schema_component(schema, "Input")
    properties = _mapping(component.get("properties", {}), "Input.properties")
    required = component.get("required", [])
    if not isinstance(required, list) or not all(isinstance(item, str) for item in required):
        raise MalformedSchema("Input.required is not a list of names")
    grouped = _group(pairs, properties)
    try:
        inputs = {
            name: _input(name, values, _resolve(properties[name], schema), schema, base_dir)
            for name, values in grouped.items()
        }
    except (AttributeError, TypeError, KeyError) as error:
        # A property whose keywords have the wrong JSON types (an image's label says so).
        raise MalformedSchema(f"an input's definition is not valid ({error})") from None
    _check_required(required, inputs)
    _check_request_size(inputs)
    return inputs


class MalformedSchema(JobFailed):
    """The model's OpenAPI schema is not the shape Cog writes (exit 1: the model's fault)."""

    def __init__(self, detail: str) -> None:
        hint = "images built by cognix or Cog carry a valid schema; rebuild the image"
        super().__init__(f"the model's OpenAPI schema is malformed: {detail}", hint)


def schema_component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """Return `components.schemas.<name>`, {} when absent; `MalformedSchema` if no object."""
    components = _mapping(schema.get("components", {}), "components")
    schemas = _mapping(components.get("schemas", {}), "components.schemas")
    return _mapping(schemas.get(name, {}), name)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedSchema(f"{where} is not a JSON object")
    return value


def _group(pairs: list[str], properties: dict[str, Any]) -> dict[str, list[str]]:
    """Split each item at its first `=` and gather the values of each known name."""
    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError(f"expected name=value, got {_show(pair)}")
        name, value = pair.split("=", 1)
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        if name not in properties:
            raise InputError(f"unknown input '{name}'", _known_inputs_hint(name, properties))
        grouped.setdefault(name, []).append(value)
    return grouped


def _known_inputs_hint(name: str, properties: dict[str, Any]) -> str:
    """Say which inputs exist, and which one was probably meant."""
    if not properties:
        return "this model takes no inputs"
    known = f"the inputs are {', '.join(properties)}"
    close = difflib.get_close_matches(name, list(properties), n=1)
    return f"did you mean '{close[0]}'? {known}" if close else known


def _resolve(
    prop: dict[str, Any], schema: dict[str, Any], seen: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Merge the components a property refers to (`allOf`/`$ref`) into one schema.

    `seen` holds the components being resolved: one that refers back to itself is refused.
    """
    merged = {key: value for key, value in prop.items() if key not in ("allOf", "$ref")}
    parts = [*prop.get("allOf", []), *([{"$ref": prop["$ref"]}] if "$ref" in prop else [])]
    for part in parts:
        target, inside = part, seen
        if "$ref" in part:
            component = part["$ref"].rsplit("/", 1)[-1]
            if component in seen:
                raise MalformedSchema(f"{component} refers to itself")
            target, inside = schema_component(schema, component), seen | {component}
        for key, value in _resolve(target, schema, inside).items():
            merged.setdefault(key, value)
    return merged


def _input(
    name: str, values: list[str], prop: dict[str, Any], schema: dict[str, Any], base_dir: Path
) -> Any:
    """Coerce and check the values given for one input: one value, or a list."""
    if prop.get("type") != "array":
        if len(values) > 1:
            raise InputError(f"input '{name}' takes one value, got {len(values)}")
        value = _coerce(name, values[0], prop, schema, base_dir)
        _check(name, value, prop)
        return value
    items = _resolve(prop.get("items", {}), schema)
    if len(values) == 1 and isinstance(array := _json_array(values[0]), list):
        values = [item if isinstance(item, str) else json.dumps(item) for item in array]
    result = [_coerce(name, value, items, schema, base_dir) for value in values]
    for item in result:
        _check(name, item, items)
    return result


def _json_array(text: str) -> list[Any] | None:
    """Parse a value written as a JSON array, or return None."""
    value = _json_value(text)
    return value if isinstance(value, list) else None


def _coerce(
    name: str, value: str, prop: dict[str, Any], schema: dict[str, Any], base_dir: Path
) -> Any:
    """Turn one raw value into what its schema type asks for, or raise InputError."""
    try:
        return _convert(name, value, prop, schema, base_dir)
    except (ValueError, OverflowError) as error:
        # Python's own limits, such as the 4300 digits int() reads, refuse some values.
        kind = _KIND_NAMES.get(prop.get("type", ""), "a value of its type")
        message = f"input '{name}' must be {kind}, got {_show(value)}"
        raise InputError(message, str(error)) from None


def _convert(
    name: str, value: str, prop: dict[str, Any], schema: dict[str, Any], base_dir: Path
) -> Any:
    """Coerce one raw value by its schema type; Python's conversions may raise ValueError."""
    if "anyOf" in prop:
        return _coerce_union(name, value, prop, schema, base_dir)
    kind = prop.get("type")
    if value.startswith("@") and kind in (None, "string"):
        return _data_url(name, value[1:], base_dir)
    if kind == "integer" and _INTEGER.fullmatch(value.strip()):
        return int(value)
    if kind == "number" and (number := _number(value)) is not None:
        return number
    if kind == "boolean" and value.lower() in (*_TRUE, *_FALSE):
        return value.lower() in _TRUE
    if kind == "object" and isinstance(parsed := _json_value(value), dict):
        return parsed
    if kind == "string" and prop.get("format") == "uri" and not _URL.match(value):
        hint = f"to send a file, write {name}=@{value}"
        raise InputError(f"input '{name}' must be a URL or @file, got {_show(value)}", hint)
    if kind in (None, "string"):
        return value
    expected = _KIND_NAMES.get(kind, kind)
    raise InputError(f"input '{name}' must be {expected}, got {_show(value)}")


def _coerce_union(
    name: str, value: str, prop: dict[str, Any], schema: dict[str, Any], base_dir: Path
) -> Any:
    """Coerce a value to the first member of a union (`anyOf`) that accepts it."""
    members = [_resolve(member, schema) for member in prop["anyOf"]]
    members.sort(key=_union_rank)
    for member in members:
        try:
            return _coerce(name, value, member, schema, base_dir)
        except InputError:
            continue
    kinds = " or ".join(_KIND_NAMES.get(member.get("type", ""), "?") for member in members)
    raise InputError(f"input '{name}' must be {kinds}, got {_show(value)}")


def _union_rank(member: dict[str, Any]) -> int:
    """Rank a union member by how particular its type is; unknown types go last."""
    kind = member.get("type", "string")
    return _UNION_ORDER.index(kind) if kind in _UNION_ORDER else len(_UNION_ORDER)


def _number(text: str) -> int | float | None:
    """Parse an integer or a finite decimal number, or return None."""
    if _INTEGER.fullmatch(text.strip()):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _json_value(text: str) -> Any:
    """Parse standard JSON text (no NaN or Infinity), or return None."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError:
        return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _data_url(name: str, path_text: str, base_dir: Path) -> str:
    """Read a file into a `data:` URL whose MIME type follows the file's extension."""
    if not path_text:
        raise InputError(f"input '{name}': nothing after @", f"write {name}=@path/to/file")
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    prefix = f"data:{_mime_type(path)};base64,"
    # base64 makes 4 characters of every 3 bytes, and the URL must fit in one request.
    largest = (MAX_REQUEST_BYTES - len(prefix)) // 4 * 3
    data = _read_file(name, path_text, path, largest)
    return prefix + base64.b64encode(data).decode("ascii")


def _read_file(name: str, path_text: str, path: Path, limit: int) -> bytes:
    """Read a regular file of at most `limit` bytes, or raise InputError naming the input."""
    try:
        # Non-blocking, so that a FIFO is refused instead of waiting for a writer.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise _unreadable(name, path_text, path, error) from None
    try:
        size = _regular_file_size(name, path_text, descriptor)
        if size > limit:
            raise _too_big(name, path_text, size, limit)
        with open(descriptor, "rb", closefd=False) as stream:
            data = stream.read(limit + 1)
    except OSError as error:
        raise _unreadable(name, path_text, path, error) from None
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise _too_big(name, path_text, len(data), limit)
    return data


def _regular_file_size(name: str, path_text: str, descriptor: int) -> int:
    """Return the size of an open regular file; any other kind of file is an InputError."""
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        kind = next((kind for test, kind in _FILE_KINDS if test(info.st_mode)), "a special file")
        raise InputError(f"input '{name}': '{path_text}' is {kind}, not a regular file")
    return info.st_size


def _unreadable(name: str, path_text: str, path: Path, error: OSError) -> InputError:
    if isinstance(error, FileNotFoundError):
        return InputError(f"input '{name}': no such file '{path_text}'", f"looked for {path}")
    return InputError(f"input '{name}': cannot read '{path_text}': {error.strerror}")


def _too_big(name: str, path_text: str, size: int, limit: int) -> InputError:
    message = f"input '{name}': '{path_text}' is {_mib(size)}, more than the {_mib(limit)}"
    hint = (
        f"the Cog server takes requests of up to {_mib(MAX_REQUEST_BYTES)},"
        " and a file travels in one, base64-encoded"
    )
    return InputError(f"{message} a file can be", hint)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _mime_type(path: Path) -> str:
    """Guess a MIME type from the extension alone, the same on every machine."""
    suffix = path.suffix.lower()
    guessed = _builtin_mime_types().guess_type(path.name)[0]
    return guessed or _EXTRA_TYPES.get(suffix, "application/octet-stream")


@functools.cache
def _builtin_mime_types() -> mimetypes.MimeTypes:
    """Build a MIME table from Python's built-in defaults, not the system's files."""
    return mimetypes.MimeTypes()


def _check(name: str, value: Any, prop: dict[str, Any]) -> None:
    """Check a coerced value against its schema's choices, bounds, lengths and pattern."""
    choices = prop.get("enum")
    if choices is not None and not any(_same(value, choice) for choice in choices):
        listing = ", ".join(_show(choice) for choice in choices)
        raise InputError(f"input '{name}' must be one of [{listing}], got {_show(value)}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in prop and value < prop["minimum"]:
            raise InputError(f"input '{name}' must be >= {_show(prop['minimum'])}, got {value}")
        if "maximum" in prop and value > prop["maximum"]:
            raise InputError(f"input '{name}' must be <= {_show(prop['maximum'])}, got {value}")
    if isinstance(value, str) and not value.startswith("data:"):
        _check_text(name, value, prop)


def _check_text(name: str, value: str, prop: dict[str, Any]) -> None:
    """Check a string's length and pattern."""
    shortest, longest = prop.get("minLength"), prop.get("maxLength")
    if shortest is not None and len(value) < shortest:
        message = f"input '{name}' must be at least {shortest} characters long, got {len(value)}"
        raise InputError(message)
    if longest is not None and len(value) > longest:
        message = f"input '{name}' must be at most {longest} characters long, got {len(value)}"
        raise InputError(message)
    pattern = prop.get("pattern")
    if pattern is not None and _compiles(pattern) and not re.search(pattern, value):
        message = f"input '{name}' must match the pattern '{pattern}', got {_show(value)}"
        raise InputError(message)


def _compiles(pattern: str) -> bool:
    """Tell whether a schema pattern is also a valid Python regular expression."""
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _same(value: Any, choice: Any) -> bool:
    """Compare like JSON does: `True` is not `1`, and `2` equals `2.0`."""
    if isinstance(value, bool) or isinstance(choice, bool):
        return value is choice
    return bool(value == choice)


def _show(value: Any) -> str:
    """Show a value in a message: strings quoted, everything else as JSON, long ones cut."""
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) <= SHOWN_CHARS:
        return f"'{text}'" if isinstance(value, str) else text
    cut = f"{text[:SHOWN_CHARS]}…"
    shown = f"'{cut}'" if isinstance(value, str) else cut
    return f"{shown} ({len(text)} characters)"


def _check_required(required: list[str], inputs: dict[str, Any]) -> None:
    """Raise InputError naming the required inputs that were not given."""
    missing = [name for name in required if name not in inputs]
    if not missing:
        return
    names = ", ".join(f"'{name}'" for name in missing)
    plural = "s" if len(missing) > 1 else ""
    hint = f"give {'them' if plural else 'it'} with -i {missing[0]}=..."
    raise InputError(f"missing required input{plural} {names}", hint)


def _check_request_size(inputs: dict[str, Any]) -> None:
    """Raise InputError when the request would be bigger than the Cog server accepts."""
    size = len(request_body(inputs))
    if size > MAX_REQUEST_BYTES:
        message = f"the inputs make a request of {_mib(size)}"
        limit = f"the Cog server accepts at most {_mib(MAX_REQUEST_BYTES)}"
        raise InputError(f"{message}; {limit}", "send fewer or smaller files")
