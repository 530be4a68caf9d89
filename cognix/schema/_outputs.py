"""Read a predictor's return annotation into the `Output` schema.

The rules follow Cog 0.23.1's `ResolveSchemaType` (`pkg/schema/schema_type.go`):
scalars and files, `list[T]`, `dict[str, T]`, opaque `dict`/`Any`, `Iterator[T]`,
`ConcatenateIterator[str]`, and `BaseModel` and `TypedDict` classes (Cog's
`collectModelClasses`, `pkg/schema/python/models.go`), found in the predictor's file or
imported from another project file. `Optional` and other unions are refused.

A model field is required unless it is Optional or has a default Cog's literal parser
reads (`parseDefaultValue`, `pkg/schema/python/literals.go`); a TypedDict key is
required unless the class says `total=False` or the key is `NotRequired[...]`.
"""

from __future__ import annotations

import ast
from typing import Any

from ._types import (
    PRIMITIVES,
    Scope,
    is_opaque,
    is_typed_dict,
    optional_inner,
    subscript_args,
)

_OUTPUT_EXPECTED = (
    "str, int, float, bool, Path, File, Secret, dict, list[T], dict[str, T], Iterator[T],"
    " ConcatenateIterator[str] or a BaseModel class"
)
_MAX_DEPTH = 32
_ITERATORS = ("Iterator", "AsyncIterator")
_CONCATENATE = ("ConcatenateIterator", "AsyncConcatenateIterator")


class Ordered(dict[str, Any]):
    """A mapping whose keys Cog writes in insertion order, not sorted."""


def title_case(name: str) -> str:
    """Turn `snake_case` into `Snake Case`, as Cog titles properties."""
    return " ".join(part[:1].upper() + part[1:] for part in name.split("_"))


def output_schema(scope: Scope, node: ast.expr) -> dict[str, Any]:
    """Return the `Output` component for a return annotation read in `scope`."""
    schema = _schema(scope, node, frozenset())
    schema["title"] = "Output"
    return schema


def is_iterator(schema: dict[str, Any]) -> bool:
    """Tell whether an output schema streams (Iterator or ConcatenateIterator)."""
    return schema.get("x-cog-array-type") == "iterator"


def _schema(scope: Scope, node: ast.expr, seen: frozenset[tuple[str, str]]) -> dict[str, Any]:
    """Return the schema of one output type; `seen` holds the models being expanded."""
    node = scope.unquote(node)
    if union := _union_kind(scope, node):
        raise scope.error(node, f"{union} is not allowed as an output type")
    if isinstance(node, ast.Subscript):
        return _generic(scope, node, seen)
    model = _model(scope, node, seen)
    if model is not None:
        return model
    name = scope.name_of(node)
    if name in ("Any", "dict", "Dict"):
        return {"type": "object"}
    if name in ("list", "List"):
        return {"type": "array", "items": {"type": "object"}}
    if name in PRIMITIVES:
        return dict(PRIMITIVES[name or ""])
    raise scope.unsupported(node, "output", _OUTPUT_EXPECTED)


def _union_kind(scope: Scope, node: ast.expr) -> str | None:
    """Name the kind of union `node` is (Optional or a union), or None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return "Optional" if optional_inner(scope, node) is not None else "a union"
    if isinstance(node, ast.Subscript) and scope.name_of(node.value) in ("Optional", "Union"):
        return "Optional" if optional_inner(scope, node) is not None else "a union"
    return None


def _generic(
    scope: Scope, node: ast.Subscript, seen: frozenset[tuple[str, str]]
) -> dict[str, Any]:
    """Return the schema of `X[...]`: lists, dicts, iterators and Annotated."""
    outer = scope.name_of(node.value)
    args = subscript_args(node)
    if outer == "Annotated" and is_opaque(scope, args[1:]):
        return _opaque(scope, args[0])
    if outer == "Annotated":
        return _schema(scope, args[0], seen)
    if outer in ("dict", "Dict"):
        if len(args) != 2:
            raise scope.error(node, f"{outer} takes a key and a value type, as in dict[str, int]")
        return {"type": "object", "additionalProperties": _schema(scope, args[1], seen)}
    if outer in ("list", "List", *_ITERATORS, *_CONCATENATE) and len(args) != 1:
        raise scope.error(node, f"{outer} takes one item type, as in {outer}[str]")
    if outer in ("list", "List"):
        return {"type": "array", "items": _schema(scope, args[0], seen)}
    if outer in _ITERATORS:
        items = _schema(scope, args[0], seen)
        return {"type": "array", "items": items, "x-cog-array-type": "iterator"}
    if outer in _CONCATENATE:
        if scope.name_of(scope.unquote(args[0])) != "str":
            raise scope.error(args[0], f"{outer} can only yield str")
        schema = {"type": "array", "items": {"type": "string"}, "x-cog-array-type": "iterator"}
        return {**schema, "x-cog-array-display": "concatenate"}
    raise scope.unsupported(node, "output", _OUTPUT_EXPECTED)


def _opaque(scope: Scope, node: ast.expr) -> dict[str, Any]:
    """Return the schema of `Annotated[T, Opaque]`: any JSON value or a list of them."""
    if optional_inner(scope, node) is not None:
        raise scope.error(node, "Optional is not allowed as an output type")
    node = scope.unquote(node)
    outer = scope.name_of(node.value if isinstance(node, ast.Subscript) else node)
    if outer in ("list", "List"):
        return {"type": "array", "items": {"type": "object"}}
    return {"type": "object"}


def _model(
    scope: Scope, node: ast.expr, seen: frozenset[tuple[str, str]]
) -> dict[str, Any] | None:
    """Return the object schema of a BaseModel or TypedDict class, or None for no class."""
    if not isinstance(node, ast.Name | ast.Attribute):
        return None
    found = scope.project.lookup(scope.module, ast.unparse(node))
    if found is None or not isinstance(found[1], ast.ClassDef):
        return None
    owner, cls = Scope(scope.project, found[0]), found[1]
    typed_dict = is_typed_dict(owner, cls)
    # Cog takes a class for a model only when `BaseModel` is one of its own bases.
    if not typed_dict and not any(owner.name_of(base) == "BaseModel" for base in cls.bases):
        message = f"class '{cls.name}' cannot be an output: it is not a BaseModel subclass"
        raise scope.error(node, message, f"expected {_OUTPUT_EXPECTED}")
    key = (str(owner.module.rel), cls.name)
    if key in seen:
        return {"type": "object"}
    if typed_dict:
        fields = _typed_dict_fields(owner, cls, seen | {key}, 0)
    else:
        fields = _model_fields(owner, cls, seen | {key})
    properties = Ordered({name: prop for name, (prop, _) in fields.items()})
    required = [name for name, (_, is_required) in fields.items() if is_required]
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


Fields = dict[str, tuple[dict[str, Any], bool]]


def _model_fields(scope: Scope, cls: ast.ClassDef, seen: frozenset[tuple[str, str]]) -> Fields:
    """Read a BaseModel's annotated fields, in source order, each with whether required."""
    fields: Fields = {}
    for statement in cls.body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        prop, optional = _field(scope, statement.target.id, statement.annotation, seen)
        required = not optional and not _is_cog_literal(statement.value)
        fields[statement.target.id] = (prop, required)
    return fields


def _typed_dict_fields(
    scope: Scope, cls: ast.ClassDef, seen: frozenset[tuple[str, str]], depth: int
) -> Fields:
    """Read a TypedDict's keys, its bases' first; a key given again keeps its place."""
    fields: Fields = {}
    for base in cls.bases:
        found = scope.project.lookup(scope.module, ast.unparse(base))
        if depth > _MAX_DEPTH or found is None or not isinstance(found[1], ast.ClassDef):
            continue
        parent = Scope(scope.project, found[0])
        if is_typed_dict(parent, found[1]):
            fields.update(_typed_dict_fields(parent, found[1], seen, depth + 1))
    total = not any(
        keyword.arg == "total" and ast.unparse(keyword.value) == "False"
        for keyword in cls.keywords
    )
    for statement in cls.body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        annotation, required = scope.unquote(statement.annotation), total
        if isinstance(annotation, ast.Subscript):
            qualifier = scope.name_of(annotation.value)
            if qualifier in ("Required", "NotRequired"):
                annotation, required = annotation.slice, qualifier == "Required"
        prop, _ = _field(scope, statement.target.id, annotation, seen)
        fields[statement.target.id] = (prop, required)
    return fields


def _field(
    scope: Scope, name: str, annotation: ast.expr, seen: frozenset[tuple[str, str]]
) -> tuple[dict[str, Any], bool]:
    """Return a field's property schema, and whether its type is Optional."""
    inner = optional_inner(scope, annotation)
    prop = _schema(scope, annotation if inner is None else inner, seen)
    prop["title"] = title_case(name)
    if inner is not None:
        prop["nullable"] = True
    return prop, inner is not None


def _is_cog_literal(node: ast.expr | None) -> bool:
    """Tell whether Cog's literal parser reads `node` as a default (`parseDefaultValue`)."""
    if isinstance(node, ast.Constant):
        value = node.value
        return value is None or (isinstance(value, bool | int | float | str) and node.kind is None)
    if isinstance(node, ast.List | ast.Set):
        return all(_is_cog_literal(item) for item in node.elts)
    if isinstance(node, ast.Tuple | ast.Dict):
        # Cog keeps the items of these it can read and drops the rest.
        return True
    return (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) in (int, float)
    )
